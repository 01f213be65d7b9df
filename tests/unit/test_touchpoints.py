"""The touchpoint validator: table-driven cases plus properties over random input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.ingest.touchpoints import TYPES, Problem, ValidTouchpoint, validate

AT = "2026-03-01T09:00:00+01:00"


def test_a_valid_contact_becomes_a_typed_fact_on_the_contacts_stream():
    checked = validate({"id": "t1", "type": "contact.upserted", "at": AT, "contact": "C1",
                        "kind": "customer", "phone": "+33612345678", "timezone": "Europe/Paris"})

    assert isinstance(checked, ValidTouchpoint)
    assert checked.event_class is ev.ContactDetailsRecorded
    assert checked.stream == subjects.contact_stream("C1")
    assert checked.at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert checked.fields["email"] is None


def test_mentions_go_to_the_handles_own_stream_case_insensitively():
    a = validate({"id": "m", "type": "social.mention", "at": AT, "network": "mastodon",
                  "handle": "@Ann", "text": "hi"})
    b = validate({"id": "n", "type": "social.mention", "at": AT, "network": "Mastodon",
                  "handle": "ann", "text": "hi"})

    assert a.stream == b.stream == subjects.handle_stream("mastodon", "ann")


@pytest.mark.parametrize(("body", "keyword"), [
    ("STOP", "opt_out"), (" stop ", "opt_out"), ("Unsubscribe", "opt_out"),
    ("STOPALL", "opt_out"), ("start", "opt_in"), ("UNSTOP", "opt_in"), ("help", "help"),
    ("stop sending me these", None), ("hello", None),
])
def test_inbound_sms_keywords(body, keyword):
    checked = validate({"id": "s", "type": "sms.inbound", "at": AT, "phone": "+15005550006",
                        "body": body})

    assert checked.fields["keyword"] == keyword


@pytest.mark.parametrize(("line", "field", "fragment"), [
    ({"type": "purchase.recorded", "at": AT, "contact": "C", "amount": 1, "currency": "EUR"},
     "id", "missing"),
    ({"id": "", "type": "purchase.recorded", "at": AT, "contact": "C", "amount": 1,
      "currency": "EUR"}, "id", "must not be empty"),
    ({"id": 7, "type": "purchase.recorded", "at": AT, "contact": "C", "amount": 1,
      "currency": "EUR"}, "id", "expected a string, got a number"),
    ({"id": "x", "at": AT}, "type", "missing"),
    ({"id": "x", "type": "purchase.recorded", "at": AT, "contact": "C", "amount": -1,
      "currency": "EUR"}, "amount", "zero or more"),
    ({"id": "x", "type": "purchase.recorded", "at": AT, "contact": "C", "amount": True,
      "currency": "EUR"}, "amount", "expected a number, got a boolean"),
    ({"id": "x", "type": "purchase.recorded", "at": AT, "contact": "C", "amount": "NaN",
      "currency": "EUR"}, "amount", "finite"),
    ({"id": "x", "type": "identity.linked", "at": AT, "contact": "C", "network": "m",
      "handle": "h", "verified_by": "guess"}, "verified_by", "'guess' is not one of agent"),
    ({"id": "x", "type": "consent.granted", "at": AT, "contact": "C", "channel": "fax",
      "purpose": "marketing", "source": "s"}, "channel", "'fax' is not one of email, mail, sms"),
    ({"id": "x", "type": "contact.upserted", "at": AT, "contact": "C", "kind": "customer",
      "email": "not-an-email"}, "email", "expected an email address"),
    ({"id": "x", "type": "contact.upserted", "at": AT, "contact": "C", "kind": "customer",
      "address": {"line1": "1 St", "city": "X"}}, "address", "missing 'postcode'"),
    ({"id": "x", "type": "contact.upserted", "at": AT, "contact": "C", "kind": "customer",
      "locale": 5}, "locale", "expected a locale tag"),
    ({"id": "x", "type": "message.clicked", "at": AT}, "message", "either 'message'"),
    ({"id": "x", "type": "social.mention", "at": AT, "network": "m", "handle": "h",
      "text": "t", "stance": "angry"}, "stance", "'angry' is not one of"),
    ({"id": "x", "type": "purchase.recorded", "at": "2026-13-01T00:00:00Z", "contact": "C",
      "amount": 1, "currency": "EUR"}, "at", "is not an ISO-8601 timestamp"),
])
def test_each_problem_names_its_field(line, field, fragment):
    problems = validate(line)

    assert isinstance(problems, list)
    assert any(p.field == field and fragment in p.reason for p in problems), problems


def test_all_problems_of_a_line_are_reported_together():
    problems = validate({"id": "x", "type": "contact.upserted", "at": "now", "contact": "C",
                         "kind": "alien", "phone": "123"})

    assert {p.field for p in problems} == {"at", "kind", "phone"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                        children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "type", "at", "contact", "kind", "amount",
                                        "currency", "phone", "channel", "purpose", "source",
                                        "network", "handle", "text", "body", "message"]),
                       json_values | st.sampled_from([*TYPES, AT, "C1", "+447700900123"]),
                       max_size=10))
def test_any_json_object_is_either_a_fact_or_a_list_of_named_problems(line):
    checked = validate(line)

    if isinstance(checked, ValidTouchpoint):
        assert checked.type in TYPES and checked.at.tzinfo is not None
    else:
        assert checked and all(isinstance(p, Problem) and p.field and p.reason for p in checked)


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=st.just(timezone(timedelta(hours=-5)))),
       amount=st.decimals(min_value=0, max_value=10**9, places=2),
       contact=st.text(min_size=1, max_size=40).filter(str.strip))
def test_valid_purchases_always_pass_and_keep_their_values(moment, amount, contact):
    line = json.loads(json.dumps({"id": "p", "type": "purchase.recorded",
                                  "at": moment.isoformat(), "contact": contact,
                                  "amount": str(amount), "currency": "USD"}))

    checked = validate(line)

    assert isinstance(checked, ValidTouchpoint), checked
    assert checked.at == moment
    assert checked.stream == subjects.contact_stream(contact)
