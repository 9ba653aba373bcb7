import textwrap
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contractsync.domain.decision import DecisionAction, PolicyDecision
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConfigError
from contractsync.policies import load_default_policy
from contractsync.services.policy import (
    AMENDMENT_FACTS,
    DEFAULT_RULE_ID,
    GUARD_RULE_ID,
    Policy,
    decide,
    parse_policy,
)

QUIET: dict[str, Any] = {
    "operations": ["milestone_reschedule"],
    "currency": "EUR",
    "value_delta": 0.0,
    "value_delta_pct": 0.0,
    "max_rate_change_pct": 0.0,
    "touches_invoiced_milestone": False,
    "touches_closed_period": False,
    "has_manual_edit_conflict": False,
    "changes_legal_entity": False,
    "term_change_days": 0,
    "conflict_codes": [],
    "operation_count": 1,
}
"""The facts of a harmless plan: one milestone moved, no money at stake."""


def plan(**changes: Any) -> dict[str, Any]:
    return {**QUIET, **changes}


def policy(rules: str = "", default: str = "{action: auto_apply, reason: Fine}") -> Policy:
    text = f'policy: test\nversion: "1"\ndefault: {default}\nrules:\n' + textwrap.indent(
        textwrap.dedent(rules), "  "
    )
    return parse_policy(text if rules else text.replace("rules:\n", "rules: []\n"))


def config_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_policy(textwrap.dedent(text))
    return info.value


# --- the shipped policy ------------------------------------------------------------------


def test_the_shipped_policy_loads_with_its_name_version_and_rules_in_order():
    shipped = load_default_policy()
    assert (shipped.name, shipped.version) == ("amendments", "2026.11.1")
    assert shipped.rule_ids == (
        "never-auto-apply-invoiced",
        "manual-erp-edit-conflict",
        "legal-entity-change",
        "rate-change-above-10-pct",
        "value-change-outside-limits",
        "scope-line-added-or-removed",
    )


@pytest.mark.parametrize(
    ("facts", "rule_id", "owner"),
    [
        ({"touches_invoiced_milestone": True}, "never-auto-apply-invoiced", OwnerRole.FINANCE),
        ({"touches_closed_period": True}, "never-auto-apply-invoiced", OwnerRole.FINANCE),
        ({"has_manual_edit_conflict": True}, "manual-erp-edit-conflict", OwnerRole.FINANCE),
        ({"changes_legal_entity": True}, "legal-entity-change", OwnerRole.LEGAL),
        ({"operations": ["legal_entity_change"]}, "legal-entity-change", OwnerRole.LEGAL),
        ({"max_rate_change_pct": 10.5}, "rate-change-above-10-pct", OwnerRole.FINANCE),
        ({"max_rate_change_pct": -12.0}, "rate-change-above-10-pct", OwnerRole.FINANCE),
        ({"value_delta_pct": 20.01}, "value-change-outside-limits", OwnerRole.FINANCE),
        ({"value_delta_pct": -10.5}, "value-change-outside-limits", OwnerRole.FINANCE),
        ({"operations": ["scope_line_add"]}, "scope-line-added-or-removed", OwnerRole.DELIVERY),
        ({"operations": ["rate_change", "scope_line_remove"]}, "scope-line-added-or-removed", OwnerRole.DELIVERY),
    ],
)  # fmt: skip
def test_each_shipped_rule_routes_to_its_owner(facts, rule_id, owner):
    decision = decide(load_default_policy(), plan(**facts))
    assert decision.action is DecisionAction.ROUTE
    assert decision.rule_id == rule_id
    assert decision.owner is owner
    assert (decision.policy_name, decision.policy_version) == ("amendments", "2026.11.1")


@pytest.mark.parametrize(
    "facts",
    [
        {},
        {"max_rate_change_pct": 10.0},
        {"max_rate_change_pct": -10.0},
        {"value_delta_pct": 20.0},
        {"value_delta_pct": -10.0},
        {"operations": ["scope_line_change", "cap_change", "term_change"]},
    ],
    ids=["quiet plan", "+10 % rate", "-10 % rate", "+20 % value", "-10 % value", "line changes"],
)
def test_plans_within_the_limits_are_applied_automatically_under_the_default(facts):
    decision = decide(load_default_policy(), plan(**facts))
    assert decision.action is DecisionAction.AUTO_APPLY
    assert decision.owner is None
    assert decision.rule_id == DEFAULT_RULE_ID
    assert decision.reason == "Within policy limits"


def test_the_first_matching_rule_wins():
    decision = decide(
        load_default_policy(),
        plan(changes_legal_entity=True, max_rate_change_pct=50.0, operations=["scope_line_add"]),
    )
    assert (decision.rule_id, decision.owner) == ("legal-entity-change", OwnerRole.LEGAL)


def test_an_invoiced_milestone_outranks_every_later_rule():
    decision = decide(
        load_default_policy(), plan(touches_invoiced_milestone=True, changes_legal_entity=True)
    )
    assert decision.rule_id == "never-auto-apply-invoiced"


def test_rules_are_tried_in_file_order_not_by_specificity():
    ordered = policy(
        """
        - {id: broad, when: "operation_count > 0", action: route, owner: delivery, reason: Any change}
        - {id: narrow, when: "max_rate_change_pct > 50.0", action: route, owner: finance, reason: Big}
        """
    )
    assert decide(ordered, plan(max_rate_change_pct=90.0)).rule_id == "broad"


# --- the guard ---------------------------------------------------------------------------


def test_the_guard_routes_invoiced_changes_to_finance_even_when_the_policy_has_no_rules():
    permissive = policy()
    decision = decide(permissive, plan(touches_invoiced_milestone=True))
    assert decision.action is DecisionAction.ROUTE
    assert decision.owner is OwnerRole.FINANCE
    assert decision.rule_id == GUARD_RULE_ID
    assert decision.reason.startswith("Touches an invoiced milestone")
    assert (decision.policy_name, decision.policy_version) == ("test", "1")


def test_the_guard_overrides_a_rule_that_auto_applies_closed_period_changes():
    reckless = policy(
        '- {id: yolo, when: "touches_closed_period", action: auto_apply, reason: Ship it}\n'
    )
    decision = decide(reckless, plan(touches_closed_period=True))
    assert (decision.rule_id, decision.owner) == (GUARD_RULE_ID, OwnerRole.FINANCE)
    assert "a closed accounting period" in decision.reason


def test_the_guard_takes_invoiced_changes_away_from_a_non_finance_owner():
    to_delivery = policy(
        '- {id: pm, when: "true", action: route, owner: delivery, reason: PM decides}\n'
    )
    decision = decide(
        to_delivery, plan(touches_invoiced_milestone=True, touches_closed_period=True)
    )
    assert decision.rule_id == GUARD_RULE_ID
    assert decision.reason.startswith(
        "Touches an invoiced milestone and a closed accounting period"
    )


def test_a_rule_that_already_routes_to_finance_keeps_its_own_id_under_the_guard():
    to_finance = policy(
        '- {id: money, when: "value_delta > 0.0", action: route, owner: finance, reason: Money}\n'
    )
    decision = decide(to_finance, plan(touches_invoiced_milestone=True, value_delta=10.0))
    assert (decision.rule_id, decision.owner) == ("money", OwnerRole.FINANCE)


def test_the_guard_stays_out_of_plans_that_touch_nothing_invoiced():
    assert decide(policy(), plan()).rule_id == DEFAULT_RULE_ID


def test_a_routed_default_names_its_owner():
    cautious = policy(default="{action: route, owner: finance, reason: Review everything}")
    decision = decide(cautious, plan())
    assert (decision.rule_id, decision.owner) == (DEFAULT_RULE_ID, OwnerRole.FINANCE)


# --- loading fails loudly ----------------------------------------------------------------


def test_malformed_yaml_is_a_config_error():
    error = config_error("policy: [unclosed\nversion: '1'\n")
    assert error.code == "policy.invalid"
    assert "YAML is malformed" in error.message


def test_a_policy_that_is_not_a_mapping_is_a_config_error():
    assert "must be a mapping" in config_error("- just\n- a list\n").message


def test_an_unknown_action_is_refused_with_the_rule_named():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: odd, when: "true", action: escalate, owner: finance, reason: x}
        """
    )
    assert "rule 'odd'.action" in error.message
    assert "auto_apply" in error.message


def test_a_route_without_an_owner_is_refused():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: ownerless, when: "true", action: route, reason: x}
        """
    )
    assert "rule 'ownerless'" in error.message
    assert "a route needs an owner" in error.message


def test_a_default_route_without_an_owner_is_refused():
    error = config_error('policy: p\nversion: "1"\ndefault: {action: route, reason: Wait}\n')
    assert "default" in error.message
    assert "a route needs an owner" in error.message


def test_an_automatic_rule_with_an_owner_is_refused_as_ambiguous():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: both, when: "true", action: auto_apply, owner: legal, reason: x}
        """
    )
    assert "auto_apply takes no owner" in error.message


def test_an_unknown_owner_is_refused():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: boss, when: "true", action: route, owner: ceo, reason: x}
        """
    )
    assert "rule 'boss'.owner" in error.message


def test_duplicate_rule_ids_are_refused():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: twice, when: "true", action: route, owner: legal, reason: x}
          - {id: twice, when: "false", action: route, owner: finance, reason: y}
        """
    )
    assert "rule id 'twice' is used twice" in error.message


def test_the_default_rule_id_is_reserved():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: default, when: "true", action: route, owner: legal, reason: x}
        """
    )
    assert "'default' is reserved" in error.message


def test_a_guard_like_rule_id_cannot_be_forged():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: guard.never_auto_apply_invoiced_or_closed, when: "true", action: auto_apply, reason: x}
        """
    )
    assert "rule 'guard.never_auto_apply_invoiced_or_closed'.id" in error.message


def test_a_key_given_twice_is_refused_instead_of_silently_overriding():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - id: double
            when: "touches_invoiced_milestone"
            when: "false"
            action: route
            owner: finance
            reason: x
        """
    )
    assert "key 'when' is given twice" in error.message


def test_an_unknown_key_is_refused_rather_than_ignored():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: typo, when: "true", action: route, owner_role: legal, reason: x}
        """
    )
    assert "rule 'typo'.owner_role" in error.message


def test_an_unquoted_version_number_is_refused_so_2026_10_stays_2026_10():
    error = config_error("policy: p\nversion: 2026.10\ndefault: {action: auto_apply, reason: ok}\n")
    assert "version" in error.message


def test_a_missing_default_is_refused():
    assert "default: Field required" in config_error('policy: p\nversion: "1"\n').message


def test_a_cel_syntax_error_names_the_rule_and_the_position():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: broken, when: "value_delta_pct >", action: route, owner: finance, reason: x}
        """
    )
    assert error.code == "policy.invalid"
    assert "rule 'broken': CEL syntax error at line 1, column" in error.message


def test_a_misspelt_fact_is_refused_with_the_known_facts_listed():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: typo, when: "false && touches_invoiced", action: route, owner: finance, reason: x}
        """
    )
    assert "rule 'typo' refers to unknown fact touches_invoiced" in error.message
    assert "touches_invoiced_milestone" in error.message


def test_a_rule_that_is_not_a_condition_is_refused():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: number, when: "operation_count + 1", action: route, owner: finance, reason: x}
        """
    )
    assert "rule 'number' gives IntType" in error.message
    assert "not a bool" in error.message


def test_comparing_an_int_fact_with_a_double_is_caught_when_loading():
    error = config_error(
        """
        policy: p
        version: "1"
        default: {action: auto_apply, reason: ok}
        rules:
          - {id: mixed, when: "touches_closed_period && term_change_days > 1.5", action: route, owner: finance, reason: x}
        """
    )
    assert "rule 'mixed' failed at load" in error.message
    assert "no matching overload" in error.message


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("__import__('os').system('true') == 0", "calls unknown function __import__"),
        ("open('/etc/passwd') != ''", "calls unknown function open"),
        ("currency.__len__() > 0", "calls unknown function __len__"),
        ("operations.__class__ == null", "does not support field selection"),
        ("currency.__class__.__name__ == 'str'", "does not support field selection"),
        ("os.system == null", "unknown fact os"),
        ("__builtins__ == null", "unknown fact __builtins__"),
    ],
)
def test_an_expression_cannot_reach_python(expression, complaint):
    error = config_error(
        f"""
        policy: p
        version: "1"
        default: {{action: auto_apply, reason: ok}}
        rules:
          - id: escape
            when: "{expression}"
            action: route
            owner: finance
            reason: x
        """
    )
    assert "rule 'escape'" in error.message
    assert complaint in error.message


# --- deciding ----------------------------------------------------------------------------


def test_cel_macros_and_their_loop_variables_are_allowed():
    macros = policy(
        """
        - id: milestones
          when: "operations.exists(op, op.startsWith('milestone_')) && conflict_codes.all(c, c != 'x')"
          action: route
          owner: delivery
          reason: Milestones move
        """
    )
    assert decide(macros, plan()).rule_id == "milestones"
    assert decide(macros, plan(operations=["rate_change"])).rule_id == DEFAULT_RULE_ID


def test_a_missing_fact_at_decision_time_names_the_rule_and_the_fact():
    facts = plan()
    del facts["has_manual_edit_conflict"]
    with pytest.raises(ConfigError) as info:
        decide(load_default_policy(), facts)
    assert info.value.code == "policy.fact_missing"
    assert "rule 'manual-erp-edit-conflict' needs fact has_manual_edit_conflict" in str(info.value)


def test_the_guard_refuses_to_decide_without_its_facts():
    facts = plan()
    del facts["touches_closed_period"]
    with pytest.raises(ConfigError, match=GUARD_RULE_ID):
        decide(policy(), facts)


def test_a_run_time_cel_error_names_the_rule():
    fragile = policy(
        '- {id: ratio, when: "operation_count > 1 && 100 / (operation_count - 2) > 1", '
        "action: route, owner: finance, reason: x}\n"
    )
    assert decide(fragile, plan(operation_count=1)).rule_id == DEFAULT_RULE_ID
    with pytest.raises(ConfigError) as info:
        decide(fragile, plan(operation_count=2))
    assert info.value.code == "policy.rule_failed"
    assert "rule 'ratio' failed at decision: modulus or divide by zero" in info.value.message


@pytest.mark.parametrize(
    ("fact", "value"),
    [
        ("touches_invoiced_milestone", 1),
        ("operation_count", True),
        ("operation_count", 1.5),
        ("value_delta_pct", "12"),
        ("value_delta_pct", float("nan")),
        ("operations", "rate_change"),
        ("conflict_codes", [1, 2]),
    ],
)
def test_facts_of_the_wrong_type_are_refused(fact, value):
    with pytest.raises(ConfigError, match=f"fact '{fact}' must be") as info:
        decide(load_default_policy(), plan(**{fact: value}))
    assert info.value.code == "policy.fact_invalid"


def test_numbers_and_collections_are_taken_in_their_usual_python_forms():
    decision = decide(
        load_default_policy(),
        plan(value_delta_pct=Decimal("25.5"), max_rate_change_pct=3, operations=("cap_change",)),
    )
    assert decision.rule_id == "value-change-outside-limits"
    assert decide(load_default_policy(), plan(operations={"scope_line_add"})).owner is (
        OwnerRole.DELIVERY
    )


def test_facts_the_policy_does_not_know_are_ignored():
    assert decide(load_default_policy(), plan(customer_mood="grumpy")).rule_id == DEFAULT_RULE_ID


def test_a_routed_decision_must_name_its_owner():
    with pytest.raises(ValidationError, match="names no owner"):
        PolicyDecision(
            action=DecisionAction.ROUTE,
            reason="x",
            rule_id="r",
            policy_name="p",
            policy_version="1",
        )


def test_an_automatic_decision_names_no_owner():
    with pytest.raises(ValidationError, match="yet names an owner"):
        PolicyDecision(
            action=DecisionAction.AUTO_APPLY,
            owner=OwnerRole.LEGAL,
            reason="x",
            rule_id="r",
            policy_name="p",
            policy_version="1",
        )


OPERATIONS = [
    "rate_change",
    "milestone_add",
    "milestone_remove",
    "milestone_reschedule",
    "milestone_reprice",
    "term_change",
    "cap_change",
    "scope_line_add",
    "scope_line_remove",
    "scope_line_change",
    "rate_card_replace",
    "legal_entity_change",
]
percent = st.floats(min_value=-500, max_value=500, allow_nan=False)
plans = st.fixed_dictionaries(
    {
        "operations": st.lists(st.sampled_from(OPERATIONS), max_size=5),
        "currency": st.sampled_from(["EUR", "USD", "GBP"]),
        "value_delta": st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
        "value_delta_pct": percent,
        "max_rate_change_pct": percent,
        "touches_invoiced_milestone": st.booleans(),
        "touches_closed_period": st.booleans(),
        "has_manual_edit_conflict": st.booleans(),
        "changes_legal_entity": st.booleans(),
        "term_change_days": st.integers(-400, 400),
        "conflict_codes": st.lists(st.sampled_from(["erp.manual_edit", "psa.drift"]), max_size=2),
        "operation_count": st.integers(0, 20),
    }
)


@given(plans)
def test_decide_is_deterministic_and_always_cites_a_known_rule(facts):
    shipped = load_default_policy()
    decision = decide(shipped, facts)
    assert decide(shipped, dict(facts)) == decision
    assert decision.rule_id in {*shipped.rule_ids, DEFAULT_RULE_ID, GUARD_RULE_ID}
    assert (decision.owner is not None) == decision.is_routed


@given(plans)
def test_no_plan_touching_invoiced_or_closed_work_is_ever_applied_automatically(facts):
    permissive = policy()
    for subject in (permissive, load_default_policy()):
        decision = decide(subject, facts)
        if facts["touches_invoiced_milestone"] or facts["touches_closed_period"]:
            assert decision.owner is OwnerRole.FINANCE
        else:
            assert decision.rule_id != GUARD_RULE_ID


def test_the_amendment_facts_are_exactly_the_plan_interface():
    assert set(AMENDMENT_FACTS) == set(QUIET)
