"""What travels to a fleet's workers keeps its types: dates stay dates, data never reads as a tag."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.record import NotSendable, from_payload, to_payload

PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.UTC))
    | st.times()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(PLAIN)
def test_every_plain_value_comes_back_as_it_was(value: Any) -> None:
    sent = json.loads(json.dumps(to_payload(value)))  # through a JSON column
    assert from_payload(sent) == value


def test_a_row_read_from_a_spreadsheet_keeps_its_types() -> None:
    row = {"Date": dt.date(2026, 12, 1), "Montant": decimal.Decimal("12.50"), "Heure": dt.time(9, 30), "N": 3}
    back = from_payload(json.loads(json.dumps(to_payload(row))))
    assert back == row and isinstance(back["Date"], dt.date) and isinstance(back["Montant"], decimal.Decimal)


@pytest.mark.parametrize(
    "data",
    [{"$date": "not a date"}, {"$map": 1}, {"$datetime": "2026-12-01"}, {"$bytes": "%%%"}],
)
def test_data_shaped_like_a_tag_is_not_read_as_one(data: dict[str, Any]) -> None:
    assert from_payload(json.loads(json.dumps(to_payload(data)))) == data


def test_infinite_numbers_and_paths_travel() -> None:
    assert from_payload(to_payload(float("inf"))) == float("inf")
    assert from_payload(to_payload(PurePosixPath("/srv/robo/a.pdf"))) == "/srv/robo/a.pdf"


def test_an_object_that_cannot_travel_is_named_with_its_place() -> None:
    with pytest.raises(NotSendable, match=r"demande\.pièce\[1\] \(object\)"):
        to_payload({"pièce": ["a", object()]}, "demande")
