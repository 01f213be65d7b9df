"""Stages and history: a contact as it is now and as it was at any past moment."""

from __future__ import annotations

import json

import pytest
from tests.support import consent, contact, export_lines, purchase, write_jsonl

HISTORY = [
    contact("c", "2025-01-10T10:00:00+00:00", email="ann@example.com", phone="+447700900123",
            timezone="Europe/London"),
    purchase("p1", "2025-02-01T10:00:00+00:00"),
    consent("g1", "2025-02-01T10:05:00+00:00"),
    purchase("p2", "2025-06-01T10:00:00+00:00"),
    purchase("p3", "2025-09-01T10:00:00+00:00"),
    {"id": "l1", "type": "identity.linked", "at": "2025-03-01T10:00:00+00:00", "contact": "C1",
     "network": "mastodon", "handle": "@ann", "verified_by": "oauth"},
    {"id": "s1", "type": "sms.inbound", "at": "2025-10-01T10:00:00+00:00",
     "phone": "+447700900123", "body": "Stop"},
    consent("w1", "2025-11-01T10:00:00+00:00", granted=False),
    # recorded later than the others but earlier in business time: replay puts it in place
    purchase("p0", "2025-01-20T10:00:00+00:00"),
]


@pytest.fixture
def recorded(cli, store_url, tmp_path):
    result = cli("--store", store_url, "ingest", write_jsonl(tmp_path / "h.jsonl", *HISTORY))
    assert result.code == 0, result.err
    return store_url


def as_of(cli, url, moment):
    result = cli("--store", url, "audit", "contact", "C1", "--as-of", moment, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize(("moment", "stage"), [
    ("2025-01-15T00:00:00+00:00", "prospect"),
    ("2025-01-25T00:00:00+00:00", "light_buyer"),
    ("2025-06-02T00:00:00+00:00", "regular_buyer"),   # p0, p1, p2
    ("2026-01-21T00:00:00+00:00", "regular_buyer"),   # p0 left the window; p1-p3 remain
    ("2026-02-02T00:00:00+00:00", "light_buyer"),     # p1 left too
    ("2026-09-02T00:00:00+00:00", "prospect"),        # nothing within 365 days
])
def test_stage_follows_purchases_in_a_sliding_year(cli, recorded, moment, stage):
    view = as_of(cli, recorded, moment)

    assert view["stage"] == stage
    assert view["contact"] == "C1" and view["as_of"] == moment


def test_consents_suppressions_and_identities_as_they_were(cli, recorded):
    before = as_of(cli, recorded, "2025-02-15T00:00:00+00:00")
    middle = as_of(cli, recorded, "2025-10-15T00:00:00+00:00")
    after = as_of(cli, recorded, "2025-12-01T00:00:00+00:00")

    assert [(c["channel"], c["status"]) for c in before["consents"]] == [("email", "granted")]
    assert before["identities"] == [] and before["suppressions"] == []
    assert [i["handle"] for i in middle["identities"]] == ["@ann"]
    assert [(s["channel"], s["reason"]) for s in middle["suppressions"]] == [("sms", "sms_stop")]
    assert [(c["channel"], c["status"], c["touchpoint"]) for c in after["consents"]] == [
        ("email", "withdrawn", "w1")]
    assert set(after) >= {"contact", "as_of", "stage", "consents", "suppressions",
                          "identities", "journeys"}


def test_a_contact_without_history_is_a_usage_error(cli, recorded):
    result = cli("--store", recorded, "audit", "contact", "NOBODY", "--json")

    assert result.code == 2
    assert "no history for contact 'NOBODY'" in result.err


def test_stage_thresholds_are_configuration(cli, recorded, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_STAGE_THRESHOLDS", "light=1,regular=5,window=730d")

    assert as_of(cli, recorded, "2025-10-01T00:00:00+00:00")["stage"] == "light_buyer"


def test_a_handle_nobody_linked_is_unknown_and_a_readable_view_exists(cli, recorded):
    text = cli("--store", recorded, "audit", "contact", "C1", "--as-of",
               "2025-10-15T00:00:00+00:00")

    assert text.code == 0
    assert "stage regular_buyer" in text.out and "suppressed sms: sms_stop" in text.out


def test_export_is_the_whole_history_in_recording_order(cli, recorded):
    exported = export_lines(cli, recorded)

    assert [e["touchpoint_id"] for e in exported] == [t["id"] for t in HISTORY]
    assert all({"position", "stream", "version", "type", "recorded_at", "at"} <= set(e)
               for e in exported)
