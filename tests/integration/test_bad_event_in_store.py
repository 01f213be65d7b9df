"""One recorded fact with a time the product cannot represent (written before ingest
refused such times) no longer bricks the store: every consumer skips it, reports it with
its position, and goes on; extreme --as-of / --until values are refused as bad input."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from tests.support import contact, purchase, write_jsonl

from orchestrator.domain import events as ev
from orchestrator.domain import subjects
from orchestrator.domain.new_fact import NewFact
from orchestrator.store import Store

AT = "2026-03-01T10:00:00+00:00"


def record_bad_contact(url: str, at: str) -> None:
    with Store.open(url) as store, store.write() as unit:
        unit.append_facts([NewFact(subjects.contact_stream("BAD"), ev.ContactDetailsRecorded, {
            "touchpoint_id": f"bad-{at}", "at": at, "contact": "BAD", "kind": "customer",
            "email": None, "phone": None, "address": None, "timezone": None, "locale": None,
            "attributes": None})], recorded_at=datetime.fromisoformat(AT))


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_every_command_goes_on_past_an_unrepresentable_time(cli, store_url, tmp_path, at):
    assert cli("--store", store_url, "ingest",
               write_jsonl(tmp_path / "a.jsonl", contact("c", AT))).code == 0
    record_bad_contact(store_url, at)

    later = write_jsonl(tmp_path / "b.jsonl", purchase("p", AT))
    for command in (("ingest", str(later)), ("run", "--until", "2026-03-02T00:00:00+00:00"),
                    ("contacts", "--json"), ("messages", "--json"),
                    ("projections", "rebuild"), ("audit", "verify"),
                    ("audit", "export"), ("audit", "contact", "C1")):
        result = cli("--store", store_url, *command)
        assert result.code == 0, (command, result.err)

    [row] = json.loads(cli("--store", store_url, "contacts", "--json").out)
    assert (row["contact"], row["purchases_in_window"]) == ("C1", 1)
    summary = json.loads(cli("--store", store_url, "audit", "summary", "--json").out)
    [failure] = summary["processing_failures"]
    assert failure["type"] == "ContactDetailsRecorded" and at in failure["reason"]
    exported = [json.loads(line) for line in
                cli("--store", store_url, "audit", "export").out.splitlines()]
    [noted] = [e for e in exported if e["type"] == "EventProcessingFailed"]
    assert (noted["consumer"], noted["position"]) == ("engine", failure["position"])


@pytest.mark.parametrize("flag", [("run", "--until"), ("contacts", "--as-of"),
                                  ("audit", "contact", "C1", "--as-of")])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                                    "1850-01-01T00:00:00+00:00"])
def test_extreme_moments_on_the_command_line_are_bad_input(cli, sqlite_url, flag, moment):
    result = cli("--store", sqlite_url, *flag, moment)

    assert result.code == 2
    assert "range" in result.err or "beyond" in result.err
