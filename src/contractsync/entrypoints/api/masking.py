"""Pricing masking by field path: response models mark priced fields, one function nulls them.

A DTO field is *priced* when declared with :func:`priced` (the value becomes ``null``) or
*free-form* with :func:`free_form` (a JSON object whose money is found by shape and key name:
any ``{"amount", "currency"}`` object and any value under a :data:`PRICE_KEYS` key). The paths
of both are derived once per response model by :func:`pricing_paths`; :func:`mask` applies
them to the JSON body of every process API response for keys without ``pricing:read``.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, Field

PRICED_MARK = "x-contractsync-pricing"
"""OpenAPI extension set on priced fields (``value`` or ``free-form``)."""

PRICE_KEYS = frozenset(
    {
        "amount",
        "cap",
        "delta",
        "delta_pct",
        "fee",
        "hourly",
        "impact",
        "invoiced_amount_affected",
        "money_at_risk",
        "money_delta",
        "monthly_fee",
        "per_line",
        "price",
        "price_per_period",
        "rate",
        "rate_change_pct",
        "rates",
        "summary",
        "total",
        "value_after",
        "value_before",
    }
)
"""Keys whose values are masked wherever they appear inside free-form data."""

MaskPath = tuple[str, ...]
"""Field names, with ``[]`` for each list item and ``{}`` for each mapping value."""

_FREE_FORM = "**"


def priced(description: str, **kwargs: Any) -> Any:
    """A pydantic ``Field`` for a price: ``null`` for callers without ``pricing:read``."""
    return Field(
        default=None,
        description=f"{description} Null without the pricing:read scope.",
        json_schema_extra={PRICED_MARK: "value"},
        **kwargs,
    )


def free_form(description: str) -> Any:
    """A pydantic ``Field`` for a free-form object whose money is masked by shape and key."""
    return Field(
        default_factory=dict,
        description=f"{description} Money inside is null without the pricing:read scope.",
        json_schema_extra={PRICED_MARK: "free-form"},
    )


def pricing_paths(model: type[BaseModel]) -> tuple[MaskPath, ...]:
    """Every priced path of ``model``, found through nested models, lists and mappings.

    Raises:
        TypeError: if a priced field cannot hold ``null`` (masking would break its schema).
    """
    found: list[MaskPath] = []
    _walk(model, (), found, seen=())
    return tuple(found)


def _walk(
    model: type[BaseModel], prefix: MaskPath, found: list[MaskPath], *, seen: tuple[type, ...]
) -> None:
    if model in seen:
        return
    for name, field in model.model_fields.items():
        key = field.alias or name
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        mark = extra.get(PRICED_MARK)
        if mark == "value":
            if not _nullable(field.annotation):
                raise TypeError(f"{model.__name__}.{name} is priced but cannot be null")
            found.append((*prefix, key))
        elif mark == "free-form":
            found.append((*prefix, key, _FREE_FORM))
        else:
            for inner, steps in _models_in(field.annotation):
                _walk(inner, (*prefix, key, *steps), found, seen=(*seen, model))


def _nullable(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _models_in(annotation: Any, steps: MaskPath = ()) -> Iterator[tuple[type[BaseModel], MaskPath]]:
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, steps
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _models_in(arg, steps)
    elif origin in (list, tuple, set, frozenset, Sequence):
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                yield from _models_in(arg, (*steps, "[]"))
    elif origin is dict:
        args = get_args(annotation)
        if len(args) == 2:
            yield from _models_in(args[1], (*steps, "{}"))


def mask(body: Any, paths: Sequence[MaskPath]) -> list[str]:
    """Null every priced value of ``body`` (changed in place); return the masked paths.

    Returns:
        The sorted dotted paths (``items[].lines[].billing.amount``) where at least one
        non-null value was replaced; free-form paths end with ``.*``.
    """
    masked: set[str] = set()
    for path in paths:
        if _apply(body, path):
            masked.add(_dotted(path))
    return sorted(masked)


def _apply(node: Any, path: MaskPath) -> bool:
    head, rest = path[0], path[1:]
    if head in ("[]", "{}"):
        children = node if head == "[]" and isinstance(node, list) else None
        if head == "{}" and isinstance(node, dict):
            children = list(node.values())
        # Every child is masked: no short-circuit.
        results = [_apply(child, rest) for child in children or ()]
        return any(results)
    if not isinstance(node, dict) or head not in node:
        return False
    if rest == (_FREE_FORM,):
        scrubbed, changed = _scrub(node[head])
        node[head] = scrubbed
        return changed
    if not rest:
        changed = node[head] is not None
        node[head] = None
        return changed
    return _apply(node[head], rest)


def _scrub(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if {"amount", "currency"} <= value.keys():
            return None, True
        changed = False
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if key in PRICE_KEYS and inner is not None:
                out[key], changed = None, True
                continue
            out[key], inner_changed = _scrub(inner)
            changed = changed or inner_changed
        return out, changed
    if isinstance(value, list):
        pairs = [_scrub(item) for item in value]
        return [item for item, _ in pairs], any(changed for _, changed in pairs)
    return value, False


def _dotted(path: MaskPath) -> str:
    text = ""
    for step in path:
        if step in ("[]", "{}"):
            text += step
        elif step == _FREE_FORM:
            text += ".*"
        else:
            text += f".{step}" if text else step
    return text


__all__ = ["PRICED_MARK", "PRICE_KEYS", "MaskPath", "free_form", "mask", "priced", "pricing_paths"]
