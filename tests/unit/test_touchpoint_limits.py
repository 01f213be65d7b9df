"""Limits on a touchpoint line (docs/ingest-limits.md): refused with the field named, never
raised, never echoed in full."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ingest_strategies import lines

from orchestrator.ingest.touchpoints import (
    EARLIEST_AT,
    LATEST_AT,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_KEY,
    MAX_LINE_BYTES,
    MAX_STRING,
    Problem,
    ValidTouchpoint,
    parse_line,
    validate,
)

AT = "2026-03-01T09:00:00+01:00"


def contact(**fields) -> dict:
    return {"id": "t1", "type": "contact.upserted", "at": AT, "contact": "C1",
            "kind": "customer", **fields}


def purchase(amount) -> dict:
    return {"id": "p1", "type": "purchase.recorded", "at": AT, "contact": "C1",
            "amount": amount, "currency": "EUR"}


def line(obj: dict) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def problem(checked, field: str) -> str:
    """The reason given for ``field``; fails the test when the line was accepted."""
    assert isinstance(checked, list), f"accepted: {checked}"
    reasons = [p.reason for p in checked if p.field == field]
    assert reasons, checked
    return reasons[0]


# --- business time ------------------------------------------------------------------------------

def test_business_times_must_lie_from_1900_up_to_2200_in_utc():
    kept = ["1900-01-01T00:00:00+00:00", "1900-01-01T01:00:00+01:00",
            "2199-12-31T23:59:59.999999+00:00", "2200-01-01T00:59:00+01:00"]
    refused = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
               "1899-12-31T23:59:59+00:00", "1900-01-01T00:30:00+01:00",
               "2200-01-01T00:00:00+00:00", "2199-12-31T23:30:00-01:00"]

    for at in kept:
        assert isinstance(validate(contact(at=at)), ValidTouchpoint), at
    for at in refused:
        reason = problem(validate(contact(at=at)), "at")
        assert "out of range" in reason and "1900-01-01T00:00Z" in reason, reason
    assert (EARLIEST_AT.isoformat(), LATEST_AT.isoformat()) == (
        "1900-01-01T00:00:00+00:00", "2200-01-01T00:00:00+00:00")


# --- amounts ----------------------------------------------------------------------------------

def test_amounts_have_at_most_15_digits_before_the_point_and_18_after():
    kept = ["999999999999999.999999999999999999", 0.30000000000000004, "12.50", 0, "1e3"]
    refused = ["1e999999999", "1E+15", 10**15, "0.0000000000000000001", 1e300,
               "1" * 5000]

    for amount in kept:
        assert isinstance(validate(purchase(amount)), ValidTouchpoint), amount
    for amount in refused:
        reason = problem(validate(purchase(amount)), "amount")
        assert "10^15" in reason or "18 digits after" in reason, (amount, reason)
        assert len(reason) < 200


# --- what the raw line may hold -------------------------------------------------------------------

def test_a_lone_surrogate_is_refused_whether_escaped_or_written_as_bytes():
    escaped = line({**contact(), "attributes": {"note": "ok \ud800"}})
    as_bytes = (b'{"id":"s","type":"social.mention","at":"2026-03-01T09:00:00+00:00",'
                b'"network":"m","handle":"h","text":"\xed\xa0\x80"}\n')
    paired = line({**contact(), "attributes": {"note": "\U0001F600"}})  # \ud83d\ude00

    assert "lone surrogate" in problem(parse_line(escaped), "attributes")
    assert "not UTF-8" in problem(parse_line(as_bytes), "line")
    assert parse_line(paired).fields["attributes"] == {"note": "\U0001F600"}


def test_nul_is_refused_in_values_and_keys_anywhere():
    for obj, field in ((contact(contact="C\u0000"), "contact"),
                       ({**contact(), "id": "t\u00001"}, "id"),
                       (contact(attributes={"a\u0000": 1}), "attributes"),
                       (contact(attributes={"a": ["x", "\u0000"]}), "attributes")):
        assert "U+0000" in problem(parse_line(line(obj)), field)


def test_nesting_is_refused_beyond_the_depth_limit_before_parsing():
    def nested(depth: int) -> bytes:  # the line's own object and attributes count
        inner = "[" * (depth - 2) + "]" * (depth - 2)
        return (json.dumps(contact())[:-1] + f', "attributes": {{"a": {inner}}}}}').encode()

    assert isinstance(parse_line(nested(MAX_DEPTH)), ValidTouchpoint)
    assert "nested more than 20" in problem(parse_line(nested(MAX_DEPTH + 1)), "line")
    assert "nested more than 20" in problem(parse_line(nested(100_000)), "line")
    brackets_in_text = contact(attributes={"a": "[" * 5_000})
    assert isinstance(parse_line(line(brackets_in_text)), ValidTouchpoint)


@pytest.mark.parametrize(("raw", "field", "fragment"), [
    pytest.param(b'"amount": ' + b"9" * 5000, "amount", "5000 digits", id="5000-digit-amount"),
    pytest.param(b'"amount": 1e999999999', "amount", "too large", id="overflowing-amount"),
    pytest.param(b'"amount": Infinity', "amount", "Infinity is not a JSON number",
                 id="infinite-amount"),
    pytest.param(b'"amount": NaN', "amount", "NaN is not a JSON number", id="nan-amount"),
    pytest.param(b'"amount": 1, "sku": -Infinity', "sku", "-Infinity is not a JSON number",
                 id="minus-infinity"),
])
def test_numbers_json_cannot_carry_are_refused_in_the_field_they_are_in(raw, field, fragment):
    head = b'{"id":"p","type":"purchase.recorded","at":"2026-03-01T09:00:00Z","contact":"C",'
    reason = problem(parse_line(head + raw + b', "currency": "EUR"}'), field)

    assert fragment in reason
    assert len(reason) < 200


def test_nan_infinity_and_huge_numbers_are_refused_inside_attributes():
    for raw, fragment in ((b"NaN", "NaN"), (b"[1, Infinity]", "Infinity"),
                          (b"1e400", "too large"), (b"1" + b"0" * MAX_INT_DIGITS, "digits")):
        text = json.dumps(contact())[:-1].encode() + b', "attributes": {"x": ' + raw + b"}}"
        assert fragment in problem(parse_line(text), "attributes"), raw
    biggest = contact(attributes={"x": 10**MAX_INT_DIGITS - 1, "y": -(10**MAX_INT_DIGITS - 1)})
    assert isinstance(parse_line(line(biggest)), ValidTouchpoint)


def test_strings_and_keys_are_bounded_everywhere():
    at_limit = contact(attributes={"k" * MAX_KEY: "v" * MAX_STRING, "list": ["w" * MAX_STRING]})
    assert isinstance(parse_line(line(at_limit)), ValidTouchpoint)

    long_value = problem(parse_line(line(contact(attributes={"bio": "v" * (MAX_STRING + 1)}))),
                         "attributes")
    long_key = problem(parse_line(line(contact(attributes={"k" * (MAX_KEY + 1): 1}))),
                       "attributes")
    deep_value = problem(parse_line(line(contact(attributes={"a": [{"b": "v" * 20_000}]}))),
                         "attributes")

    assert long_value == f"a string longer than {MAX_STRING} characters (10001) (at attributes.bio)"
    assert long_key == f"a key longer than {MAX_KEY} characters (201)"
    assert deep_value.endswith("(at attributes.a[0].b)")


def test_a_line_may_hold_up_to_the_byte_limit_not_counting_its_line_ending():
    def sized(total: int) -> bytes:
        """A valid line of exactly ``total`` bytes: strings of at most MAX_STRING characters
        in a list, each costing its length plus 2 bytes of quotes (and 2 of ", ")."""
        room = total - len(json.dumps(contact(attributes={"pad": []})))
        items: list[str] = []
        while room > 0:
            cost = 4 if items else 2
            size = min(MAX_STRING, room - cost)
            if 0 < room - cost - size < 4:  # too little left for one more item
                size -= 4
            items.append("x" * size)
            room -= cost + size
        text = json.dumps(contact(attributes={"pad": items}))
        assert len(text) == total
        return text.encode()

    assert isinstance(parse_line(sized(MAX_LINE_BYTES) + b"\r\n"), ValidTouchpoint)
    reason = problem(parse_line(sized(MAX_LINE_BYTES + 1) + b"\n"), "line")
    assert reason == f"{MAX_LINE_BYTES + 1} bytes long; at most {MAX_LINE_BYTES} bytes a line"


def test_time_zone_names_that_are_folders_or_too_long_are_refused_not_raised():
    for name in ("Europe", "America", "x" * 5000, "Europe/London/", "../../etc/passwd"):
        assert "is not an IANA time zone" in problem(validate(contact(timezone=name)),
                                                     "timezone"), name


# --- what a problem may echo ----------------------------------------------------------------------

def test_problems_show_at_most_a_short_escaped_prefix_of_what_they_refuse():
    huge = "x" * 9_000  # long, and still within MAX_STRING: the field checks see it
    checked = parse_line(line({"id": "t", "type": huge, "at": huge}))
    unknown = parse_line(line(contact(**{huge[:5000]: 1, "\x1b[2J": 2, "kind": huge})))

    for p in [*checked, *unknown]:
        assert len(p.field) <= 80 and len(p.reason) <= 400, p
        assert "\x1b" not in p.field + p.reason, p
    assert problem(checked, "type").startswith(f"unknown touchpoint type {'x' * 40!r}...")
    assert "(9000 characters)" in problem(checked, "at")
    assert any(p.field == repr("\x1b[2J") for p in unknown)


# --- properties -----------------------------------------------------------------------------------

def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _assert_storable(checked) -> None:
    if isinstance(checked, ValidTouchpoint):
        json.dumps(checked.fields, allow_nan=False)  # no NaN or Infinity anywhere
        for text in _strings([checked.id, checked.fields]):
            text.encode("utf-8")  # no lone surrogate
            assert "\x00" not in text and len(text) <= MAX_STRING
        assert EARLIEST_AT <= checked.at < LATEST_AT
    else:
        assert checked and all(isinstance(p, Problem) for p in checked)
        for p in checked:
            (p.field + p.reason).encode("utf-8")
            assert p.field and p.reason and len(p.reason) < 600, p


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | lines())
def test_any_bytes_become_a_storable_fact_or_named_problems(raw):
    _assert_storable(parse_line(raw))
