"""The keys of a loop's items, all computed before the first item: none may be empty, none shared by two items.

A key that is empty, or shared by two items, would make a resumed run skip or redo an item, so the loop does not
start (unless `key_duplicates: number` makes repeated keys distinct: `D1`, `D1#2`, `D1#3`).
"""

from __future__ import annotations

import hashlib
import json
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence, Sized
from typing import Any

from robots.kit import BusinessError, _
from runner.engine.state import StepFailure, render_in_step
from runner.language import ForEachStep, Scope, SpanIndex
from runner.language.templating import as_expression_template


def item_keys(
    step: ForEachStep,
    items: Iterable[Any],
    scope: Scope,
    item: str | None,
    *,
    sources: dict[str, Any],
    spans: SpanIndex | None,
) -> list[str]:
    """The key of every item, read in one pass that keeps only the keys; checked unique and not empty.

    `sources` are the names the items' templates see besides the loop's own (where the items were read from).
    """
    total = len(items) if isinstance(items, Sized) else None
    keys: list[str] = []
    empty: list[int] = []
    for index, value in enumerate(items):
        if step.key is None:
            keys.append(item_key_of(value))
            continue
        item_scope: Scope = ChainMap(item_names(step, value, index, total), sources, scope)
        try:
            rendered = render_in_step(step, as_expression_template(step.key), item_scope, item, "key", spans)
        except StepFailure as failure:
            failure.error.message += _(" (the key of item {number}: nothing was done)").format(
                number=index + 1
            )
            raise
        key = "" if rendered is None else str(rendered)
        if not key.strip():
            empty.append(index)
        keys.append(key)
    if empty:
        raise StepFailure(step, _empty_keys(empty), item)
    repeated = _repeats(keys)
    if repeated and step.key_duplicates == "number":
        for key, where in repeated.items():
            for occurrence, index in enumerate(where[1:], start=2):
                keys[index] = f"{key}#{occurrence}"
        repeated = _repeats(keys)  # a numbered key may be one that the data already holds
    if repeated:
        raise StepFailure(step, _duplicate_keys(repeated, keyed=step.key is not None), item)
    return keys


def item_key_of(item: Any) -> str:
    """A stable key for an item that declares none: a hash of its content."""
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]  # broken text has a key too


def item_names(step: ForEachStep, value: Any, index: int, total: int | None) -> dict[str, Any]:
    """What a loop's item adds to the names its templates see: the item itself, and `loop` (where it stands)."""
    return {
        step.as_: value,
        "loop": {
            "index": index,
            "number": index + 1,
            "total": total,
            "first": index == 0,
            "last": None if total is None else index == total - 1,
        },
    }


def _repeats(keys: Sequence[str]) -> dict[str, list[int]]:
    """The keys found more than once, with the positions of each (only those are kept: 100 000 keys are many)."""
    seen: set[str] = set()
    repeated: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if key in seen:
            repeated.setdefault(key, []).append(index)
        else:
            seen.add(key)
    if repeated:
        for index, key in enumerate(keys):
            where = repeated.get(key)
            if where is not None and index < where[0]:
                where.insert(0, index)  # the first occurrence, found on a second pass
    return repeated


def _positions(indexes: Sequence[int], limit: int = 10) -> str:
    """`items 1, 2 and 5` (counting from 1), cut after `limit`."""
    numbers = [str(index + 1) for index in indexes[:limit]]
    more = len(indexes) - limit
    if more > 0:
        return _("items {numbers} and {more} more").format(numbers=", ".join(numbers), more=more)
    if len(numbers) == 1:
        return _("item {number}").format(number=numbers[0])
    return _("items {numbers} and {last}").format(numbers=", ".join(numbers[:-1]), last=numbers[-1])


def _item_numbers() -> str:
    return _("items count from 1 in the order they are read (item 1 is the first row of data)")


def _empty_keys(indexes: Sequence[int]) -> BusinessError:
    return BusinessError(
        _("the loop's key is empty for {items}: nothing was done").format(items=_positions(indexes)),
        hint=_(
            "every item needs a key, so that a resumed run knows what it already did: fill in the "
            "missing values in the data, or choose another key; {numbering}"
        ).format(numbering=_item_numbers()),
    )


def _duplicate_keys(repeated: Mapping[str, Sequence[int]], *, keyed: bool) -> BusinessError:
    shown = list(repeated.items())[:5]
    if keyed:
        parts = [
            _("'{key}' is the key of {items}").format(key=key, items=_positions(where))
            for key, where in shown
        ]
        what = _("the loop's key is not unique")
        fix = _("make each item's key unique (correct the data, or choose a key that is, e.g. two fields)")
    else:
        parts = [_("{items} are identical").format(items=_positions(where)) for _key, where in shown]
        what = _("the loop has no key and some items are identical")
        fix = _("give the loop a `key` that tells the items apart")
    more = len(repeated) - len(shown)
    listed = "; ".join(parts)
    if more > 0:
        listed = _("{listed}; and {more} more keys").format(listed=listed, more=more)
    return BusinessError(
        _("{problem}: {listed}: nothing was done").format(problem=what, listed=listed),
        hint=_(
            "{fix}, or add `key_duplicates: number` to the for_each to do each of them under a numbered "
            "key (D1, D1#2, D1#3); {numbering}"
        ).format(fix=fix, numbering=_item_numbers()),
    )
