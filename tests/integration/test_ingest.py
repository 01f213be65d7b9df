"""`orchestrator ingest`: all or nothing, idempotent, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from tests.support import consent, contact, export_lines, purchase, write_jsonl

AT = "2026-03-01T09:00:00+00:00"

EVERY_TYPE = [
    contact("t1", AT, email="ann@example.com", phone="+447700900123",
            timezone="Europe/London", locale="en-GB",
            address={"line1": "1 High St", "city": "London", "postcode": "SW1A 1AA",
                     "country": "GB"}, attributes={"first_name": "Ann"}),
    {"id": "t2", "type": "identity.linked", "at": AT, "contact": "C1", "network": "mastodon",
     "handle": "@ann", "verified_by": "oauth"},
    consent("t3", AT),
    consent("t4", "2026-03-02T09:00:00+00:00", granted=False),
    purchase("t5", AT),
    {"id": "t6", "type": "social.mention", "at": AT, "network": "mastodon", "handle": "@ann",
     "text": "nice", "stance": "positive"},
    {"id": "t7", "type": "social.mention", "at": AT, "network": "mastodon", "handle": "@news",
     "text": "report", "author_kind": "press"},
    {"id": "t8", "type": "sms.inbound", "at": AT, "phone": "+447700900123", "body": "STOP"},
    *({"id": f"m{i}", "type": f"message.{name}", "at": AT, "message": "msg-1"}
      for i, name in enumerate(["delivered", "bounced", "opened", "clicked", "complained",
                                "unsubscribed"])),
    {"id": "m9", "type": "message.delivered", "at": AT, "provider_id": "SM123",
     "reason": "ok"},
]


def test_every_touchpoint_type_is_recorded_once_in_file_order(cli, store_url, tmp_path):
    path = write_jsonl(tmp_path / "all.jsonl", *EVERY_TYPE)

    first = cli("--store", store_url, "ingest", path)
    second = cli("ingest", path, "--store", store_url)

    assert first.code == 0, first.err
    assert f"{len(EVERY_TYPE)} recorded" in first.out
    assert second.code == 0 and "0 recorded" in second.out
    assert f"{len(EVERY_TYPE)} already recorded" in second.out
    exported = export_lines(cli, store_url)
    assert [e["touchpoint_id"] for e in exported] == [t["id"] for t in EVERY_TYPE]
    assert [e["position"] for e in exported] == sorted(e["position"] for e in exported)
    assert exported[0]["type"] == "ContactDetailsRecorded"
    assert exported[0]["email"] == "ann@example.com"
    assert exported[7]["keyword"] == "opt_out"


def test_the_same_line_twice_in_one_file_is_recorded_once(cli, store_url, tmp_path):
    line = purchase("p1", AT)
    reordered = json.dumps(dict(reversed(list(line.items()))))  # same content, other key order
    path = write_jsonl(tmp_path / "dup.jsonl", line, reordered)

    result = cli("--store", store_url, "ingest", path)

    assert result.code == 0, result.err
    assert "1 recorded, 1 already recorded" in result.out
    assert len(export_lines(cli, store_url)) == 1


BAD_LINES = [
    pytest.param('{"id": "x1", "type": ', "json: invalid JSON", id="invalid-json"),
    pytest.param({"id": "x1", "type": "purchase.recorded", "at": AT, "contact": "C1",
                  "currency": "EUR"}, "amount: missing", id="missing-field"),
    pytest.param({"id": "x1", "type": "purchase.recorded", "at": AT, "contact": "C1",
                  "amount": 5, "currency": 978}, "currency: expected an ISO 4217 code",
                 id="wrong-type"),
    pytest.param({"id": "x1", "type": "purchase.refunded", "at": AT},
                 "type: unknown touchpoint type 'purchase.refunded'", id="unknown-type"),
    pytest.param(contact("x1", AT, timezone="Europe/Londres"),
                 "timezone: 'Europe/Londres' is not an IANA time zone", id="bad-timezone"),
    pytest.param(contact("x1", AT, phone="07700 900123"),
                 "phone: expected an E.164 phone number", id="non-e164-phone"),
    pytest.param(purchase("x1", "2026-03-01T09:00:00"), "at: '2026-03-01T09:00:00' has no UTC "
                 "offset", id="timestamp-without-offset"),
    pytest.param({"id": "x1", "type": "consent.granted", "at": AT, "contact": "C1",
                  "channel": "email", "purpose": "marketing", "source": "web", "chanel": "sms"},
                 "chanel: unknown field for consent.granted", id="unknown-field"),
    pytest.param([1, 2], "line: expected a JSON object, got an array", id="not-an-object"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_one_bad_line_records_nothing_and_names_file_line_field(cli, store_url, tmp_path,
                                                                bad, message):
    path = write_jsonl(tmp_path / "in.jsonl", contact("ok1", AT), purchase("ok2", AT),
                       bad if isinstance(bad, str) else json.dumps(bad), purchase("ok3", AT))

    result = cli("--store", store_url, "ingest", path)

    assert result.code == 2
    assert f"{path}:3: {message}" in result.err
    assert "nothing was recorded" in result.err
    assert export_lines(cli, store_url) == []


def test_same_id_with_different_content_in_one_file_is_refused(cli, store_url, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", purchase("p1", AT, amount=5),
                       purchase("p1", AT, amount=6))

    result = cli("--store", store_url, "ingest", path)

    assert result.code == 2
    assert f"{path}:2: id: 'p1' was used on line 1 with different content" in result.err
    assert export_lines(cli, store_url) == []


def test_same_id_with_different_content_than_the_store_is_refused(cli, store_url, tmp_path):
    assert cli("--store", store_url, "ingest",
               write_jsonl(tmp_path / "a.jsonl", purchase("p1", AT, amount=5))).code == 0
    path = write_jsonl(tmp_path / "b.jsonl", purchase("p2", AT), purchase("p1", AT, amount=6))

    result = cli("--store", store_url, "ingest", path)

    assert result.code == 2
    assert f"{path}:2: id: 'p1' was used already recorded with different content" in result.err
    assert [e["touchpoint_id"] for e in export_lines(cli, store_url)] == ["p1"]


def test_every_bad_line_is_listed(cli, sqlite_url, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", purchase("a", "yesterday"), purchase("b", AT),
                       "not json", contact("c", AT, kind="friend"))

    result = cli("--store", sqlite_url, "ingest", path)

    assert result.code == 2
    assert f"{path}:1: at: 'yesterday' is not an ISO-8601 timestamp" in result.err
    assert f"{path}:3: json: invalid JSON" in result.err
    assert f"{path}:4: kind: 'friend' is not one of" in result.err


def test_an_empty_file_is_bad_input(cli, sqlite_url, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")

    result = cli("--store", sqlite_url, "ingest", path)

    assert result.code == 2
    assert f"{path}: empty: no touchpoints to record" in result.err


def test_a_missing_file_is_bad_input(cli, sqlite_url, tmp_path):
    result = cli("--store", sqlite_url, "ingest", tmp_path / "nope.jsonl")

    assert result.code == 2
    assert "nope.jsonl: cannot read: No such file or directory" in result.err


def test_skip_invalid_records_the_valid_lines_and_writes_the_rest(cli, store_url, tmp_path):
    bad = contact("x1", AT, phone="12345")
    path = write_jsonl(tmp_path / "batch.jsonl", contact("ok1", AT), bad, "{oops",
                       purchase("ok2", AT))

    result = cli("--store", store_url, "ingest", path, "--skip-invalid")

    assert result.code == 0, result.err
    assert "2 recorded" in result.out and "2 rejected" in result.out
    rejected = (tmp_path / "batch.rejected.jsonl").read_text().splitlines()
    assert json.loads(rejected[0]) == bad
    assert rejected[1] == "{oops"
    assert [e["touchpoint_id"] for e in export_lines(cli, store_url)] == ["ok1", "ok2"]


def test_ingest_reads_standard_input(sqlite_url, tmp_path):
    import subprocess
    import sys
    lines = "\n".join(json.dumps(t) for t in (contact("s1", AT), purchase("s2", AT)))

    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--store", sqlite_url,
                           "ingest", "-"], input=lines, capture_output=True, text=True,
                          check=False)

    assert done.returncode == 0, done.stderr
    assert "<stdin>: 2 line(s), 2 recorded" in done.stdout


def test_a_store_url_with_an_unknown_scheme_is_a_usage_error(cli, tmp_path):
    result = cli("--store", "mysql://root:secret@localhost/x", "ingest",
                 write_jsonl(tmp_path / "a.jsonl", purchase("p", AT)))

    assert result.code == 2
    assert "unknown scheme 'mysql'" in result.err
    assert "secret" not in result.err
