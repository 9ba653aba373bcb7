"""Declarative decision policies: ordered CEL rules read from YAML, the first match wins."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import celpy
import lark
import yaml
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from contractsync.domain.decision import DecisionAction, PolicyDecision
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConfigError

GUARD_RULE_ID = "guard.never_auto_apply_invoiced_or_closed"
"""Rule id of the built-in guard: invoiced or closed-period changes always go to finance."""

DEFAULT_RULE_ID = "default"
"""Rule id recorded when no rule of the policy matched."""

_GUARD_FACTS = {
    "touches_invoiced_milestone": "an invoiced milestone",
    "touches_closed_period": "a closed accounting period",
}


class FactType(StrEnum):
    """The CEL type of one fact a policy may test."""

    BOOL = "bool"
    INT = "int"
    DOUBLE = "double"
    STRING = "string"
    STRING_LIST = "list(string)"


AMENDMENT_FACTS: Mapping[str, FactType] = {
    "operations": FactType.STRING_LIST,
    "currency": FactType.STRING,
    "value_delta": FactType.DOUBLE,
    "value_delta_pct": FactType.DOUBLE,
    "max_rate_change_pct": FactType.DOUBLE,
    "touches_invoiced_milestone": FactType.BOOL,
    "touches_closed_period": FactType.BOOL,
    "has_manual_edit_conflict": FactType.BOOL,
    "changes_legal_entity": FactType.BOOL,
    "term_change_days": FactType.INT,
    "conflict_codes": FactType.STRING_LIST,
    "operation_count": FactType.INT,
}
"""The facts of an amendment plan. Percentages are points (``12.5`` is 12.5 %), signed."""

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Standard CEL functions and type names; operators such as "_+_" are never written by name.
_FUNCTIONS = frozenset(name for name in base_functions if name.isidentifier()) | _MACROS | {"has"}


@dataclass(frozen=True)
class Rule:
    """One compiled rule: when ``when`` holds, take ``action`` (routing to ``owner``)."""

    id: str
    when: str
    action: DecisionAction
    owner: OwnerRole | None
    reason: str
    facts_used: frozenset[str] = field(repr=False)
    program: celpy.Runner = field(repr=False, compare=False)


@dataclass(frozen=True)
class Policy:
    """A named, versioned list of rules tried in order, and the outcome when none matches.

    Build one with :func:`parse_policy`; every rule is already compiled and type-checked.
    """

    name: str
    version: str
    default_action: DecisionAction
    default_owner: OwnerRole | None
    default_reason: str
    rules: tuple[Rule, ...]
    facts: Mapping[str, FactType] = field(repr=False)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The rule ids in evaluation order."""
        return tuple(rule.id for rule in self.rules)


class _Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: DecisionAction
    owner: OwnerRole | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _owner_iff_routed(self) -> _Outcome:
        if self.action is DecisionAction.ROUTE and self.owner is None:
            raise ValueError("a route needs an owner (legal, finance, delivery ...)")
        if self.action is DecisionAction.AUTO_APPLY and self.owner is not None:
            raise ValueError("auto_apply takes no owner")
        return self


class _RuleDocument(_Outcome):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    when: str = Field(min_length=1)


class _PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = Field(min_length=1)
    version: str = Field(min_length=1, description="Quoted, so 2026.10 stays 2026.10.")
    default: _Outcome
    rules: tuple[_RuleDocument, ...] = ()


def parse_policy(text: str, *, facts: Mapping[str, FactType] = AMENDMENT_FACTS) -> Policy:
    """Read a policy from YAML text and compile every rule, failing loudly on any flaw.

    Each ``when`` is CEL over ``facts``: it may name only those facts and the standard CEL
    functions, and it must give a bool. It is tried against sample facts now, so a type
    error such as ``term_change_days > 1.5`` (int against double) is caught here.

    Raises:
        ConfigError: ``policy.invalid`` for malformed YAML, a missing or unknown key, an
            unknown action or owner, a route without owner, a duplicate or reserved rule
            id, a CEL syntax error, an unknown fact or function, or a non-bool rule; the
            message names the rule id when one rule is at fault.
    """
    document = _read_document(text)
    label = f"{document.policy} {document.version}"
    seen: set[str] = set()
    rules = []
    for raw in document.rules:
        if raw.id in seen or raw.id == DEFAULT_RULE_ID:
            problem = "used twice" if raw.id in seen else "reserved"
            raise _invalid(f"rule id {raw.id!r} is {problem}", label)
        seen.add(raw.id)
        rules.append(_compile(raw, facts, label))
    policy = Policy(
        name=document.policy,
        version=document.version,
        default_action=document.default.action,
        default_owner=document.default.owner,
        default_reason=document.default.reason,
        rules=tuple(rules),
        facts=MappingProxyType(dict(facts)),
    )
    for rule in policy.rules:
        for sample in (False, True):
            _holds(policy, rule, _sample_facts(facts, truthy=sample), phase="load")
    return policy


def decide(policy: Policy, facts: Mapping[str, Any]) -> PolicyDecision:
    """Return what to do with a plan described by ``facts``: the first matching rule decides.

    Whatever the policy says, a plan that touches an invoiced milestone or a closed period
    is never applied automatically: unless a rule already routed it to finance, it is
    routed to finance under :data:`GUARD_RULE_ID`. Facts the policy does not know are
    ignored.

    Raises:
        ConfigError: ``policy.fact_invalid`` when a fact has the wrong type,
            ``policy.fact_missing`` when a rule (or the guard) needs a fact that is absent,
            ``policy.rule_failed`` when a rule fails at run time (division by zero ...).
    """
    values = _to_cel(policy, facts)
    guarded = _guard_applies(policy, values)
    decision = _decision(
        policy, DEFAULT_RULE_ID, policy.default_action, policy.default_owner, policy.default_reason
    )
    for rule in policy.rules:
        if _holds(policy, rule, values):
            decision = _decision(policy, rule.id, rule.action, rule.owner, rule.reason)
            break
    if guarded and not (decision.is_routed and decision.owner is OwnerRole.FINANCE):
        touched = [label for key, label in _GUARD_FACTS.items() if values[key]]
        reason = f"Touches {' and '.join(touched)}; never applied automatically"
        return _decision(policy, GUARD_RULE_ID, DecisionAction.ROUTE, OwnerRole.FINANCE, reason)
    return decision


def _decision(
    policy: Policy, rule_id: str, action: DecisionAction, owner: OwnerRole | None, reason: str
) -> PolicyDecision:
    return PolicyDecision(
        action=action,
        owner=owner,
        reason=reason,
        rule_id=rule_id,
        policy_name=policy.name,
        policy_version=policy.version,
    )


def _guard_applies(policy: Policy, values: Mapping[str, celtypes.Value]) -> bool:
    if not set(_GUARD_FACTS) <= set(policy.facts):
        return False  # not a policy over amendment plans: the guard has nothing to look at
    for key in _GUARD_FACTS:
        if key not in values:
            raise ConfigError(
                f"the guard {GUARD_RULE_ID} needs fact {key!r}, which the plan does not give",
                code="policy.fact_missing",
                remediation="Give every amendment plan the invoiced and closed-period facts.",
            )
    return any(values[key] for key in _GUARD_FACTS)


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping."""


def _unique_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    keys: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable) and key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def _read_document(text: str) -> _PolicyDocument:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        raise _invalid(f"the YAML is malformed: {exc}") from exc
    if not isinstance(data, dict):
        raise _invalid("the YAML must be a mapping with policy, version, default and rules")
    try:
        return _PolicyDocument.model_validate(data)
    except ValidationError as exc:
        raise _invalid("; ".join(_describe(error, data) for error in exc.errors())) from exc


def _describe(error: ErrorDetails, data: dict[str, Any]) -> str:
    location = list(error["loc"])
    if location[:1] == ["rules"] and len(location) > 1:
        index = location[1]
        rules = data.get("rules")
        rule = rules[index] if isinstance(rules, list) and isinstance(index, int) else None
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        label = f"rule #{index + 1}" if isinstance(index, int) else "rule"
        location[:2] = [f"rule {rule_id!r}" if rule_id else label]
    where = ".".join(str(part) for part in location) or "policy"
    return f"{where}: {error['msg']}"


def _compile(raw: _RuleDocument, facts: Mapping[str, FactType], label: str) -> Rule:
    environment = celpy.Environment()
    try:
        ast = environment.compile(raw.when)
    except CELParseError as exc:
        context = str(exc.args[0]).rstrip() if exc.args else ""
        raise _invalid(
            f"rule {raw.id!r}: CEL syntax error at line {exc.line}, column {exc.column}:\n{context}",
            label,
        ) from exc
    names, calls = _names(ast)
    unknown_calls = sorted(calls - _FUNCTIONS)
    if unknown_calls:
        raise _invalid(f"rule {raw.id!r} calls unknown function {', '.join(unknown_calls)}", label)
    unknown = sorted(names - set(facts) - _FUNCTIONS)
    if unknown:
        raise _invalid(
            f"rule {raw.id!r} refers to unknown fact {', '.join(unknown)}; "
            f"known facts: {', '.join(sorted(facts))}",
            label,
        )
    return Rule(
        id=raw.id,
        when=raw.when,
        action=raw.action,
        owner=raw.owner,
        reason=raw.reason,
        facts_used=frozenset(names & set(facts)),
        program=environment.program(ast),
    )


def _names(ast: lark.Tree[Any]) -> tuple[set[str], set[str]]:
    """Return the free identifiers and the called functions of a CEL syntax tree."""
    used: set[str] = set()
    bound: set[str] = set()
    calls: set[str] = set()
    for node in ast.iter_subtrees():
        tokens = [str(child) for child in node.children if isinstance(child, lark.Token)]
        if node.data in {"ident", "dot_ident"}:
            used.update(tokens)
        elif node.data in {"ident_arg", "dot_ident_arg", "member_dot_arg"}:
            calls.update(tokens)
            arguments = node.children[-1]
            if tokens and tokens[0] in _MACROS and isinstance(arguments, lark.Tree):
                # A macro's first argument names the loop variable, not a fact.
                first = arguments.children[0]
                if isinstance(first, lark.Tree):
                    bound.update(str(n.children[0]) for n in first.find_data("ident"))
    return used - bound, calls


def _holds(
    policy: Policy, rule: Rule, values: Mapping[str, celtypes.Value], *, phase: str = "decision"
) -> bool:
    missing = sorted(rule.facts_used - set(values))
    if missing:
        raise ConfigError(
            f"policy {policy.name} {policy.version}: rule {rule.id!r} needs fact "
            f"{', '.join(missing)}, which the plan does not give",
            code="policy.fact_missing",
            remediation="Give the facts the rule names, or change the rule.",
        )
    try:
        result = rule.program.evaluate(dict(values))
    except CELEvalError as exc:
        message = str(exc.args[0]).split(" (in activation", 1)[0] if exc.args else repr(exc)
        raise ConfigError(
            f"policy {policy.name} {policy.version}: rule {rule.id!r} failed at {phase}: {message}",
            code="policy.invalid" if phase == "load" else "policy.rule_failed",
            remediation="Correct the rule's CEL expression in the policy file.",
            detail={"rule": rule.id, "when": rule.when},
        ) from exc
    if not isinstance(result, celtypes.BoolType):
        raise ConfigError(
            f"policy {policy.name} {policy.version}: rule {rule.id!r} gives "
            f"{type(result).__name__} at {phase}, not a bool",
            code="policy.invalid",
            remediation="Make the rule's CEL expression a condition (true or false).",
            detail={"rule": rule.id, "when": rule.when},
        )
    return bool(result)


def _to_cel(policy: Policy, facts: Mapping[str, Any]) -> dict[str, celtypes.Value]:
    values: dict[str, celtypes.Value] = {}
    for name, kind in policy.facts.items():
        if name in facts:
            values[name] = _fact(name, kind, facts[name])
    return values


def _fact(name: str, kind: FactType, value: Any) -> celtypes.Value:
    # bool is an int in Python; a flag given for a number (or back) is a bug, not a value.
    is_number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    is_finite = is_number and (
        value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    )
    if kind is FactType.BOOL and isinstance(value, bool):
        return celtypes.BoolType(value)
    if kind is FactType.INT and is_number and isinstance(value, int):
        return celtypes.IntType(value)
    # NaN compares false with every threshold, so it would slip past every limit.
    if kind is FactType.DOUBLE and is_finite:
        return celtypes.DoubleType(float(value))
    if kind is FactType.STRING and isinstance(value, str):
        return celtypes.StringType(value)
    if (
        kind is FactType.STRING_LIST
        and isinstance(value, list | tuple | frozenset | set)
        and all(isinstance(item, str) for item in value)
    ):
        # A set has no order of its own; sorting it keeps decisions reproducible.
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return celtypes.ListType([celtypes.StringType(item) for item in items])
    raise ConfigError(
        f"fact {name!r} must be a {kind}, not {type(value).__name__} {value!r}",
        code="policy.fact_invalid",
        remediation="Fix the code that builds the plan's facts.",
    )


def _sample_facts(facts: Mapping[str, FactType], *, truthy: bool) -> dict[str, celtypes.Value]:
    samples: dict[FactType, Any] = {
        FactType.BOOL: truthy,
        FactType.INT: int(truthy),
        FactType.DOUBLE: float(truthy),
        FactType.STRING: "x" if truthy else "",
        FactType.STRING_LIST: ["x"] if truthy else [],
    }
    return {name: _fact(name, kind, samples[kind]) for name, kind in facts.items()}


def _invalid(message: str, policy: str = "") -> ConfigError:
    return ConfigError(
        f"policy {policy}: {message}" if policy else f"policy: {message}",
        code="policy.invalid",
        remediation="Correct the policy file and reload it.",
    )
