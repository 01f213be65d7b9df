"""`audit export` for auditors: time and contact selections, and a self-checking bundle."""

from __future__ import annotations

import json

from tests.support import consent, contact, purchase, write_jsonl


def test_export_selects_by_business_time_and_by_contact(cli, store_url, tmp_path):
    lines = [contact("a1", "2026-01-01T10:00:00+00:00", contact="A", phone="+447700900001"),
             purchase("a2", "2026-02-01T10:00:00+00:00", contact="A"),
             {"id": "a3", "type": "sms.inbound", "at": "2026-02-15T10:00:00+00:00",
              "phone": "+447700900001", "body": "STOP"},
             consent("b1", "2026-02-10T10:00:00+00:00", contact="B"),
             purchase("b2", "2026-03-01T10:00:00+00:00", contact="B")]
    cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines))

    def ids(*args):
        result = cli("--store", store_url, "audit", "export", *args)
        assert result.code == 0, result.err
        return [json.loads(line)["touchpoint_id"] for line in result.out.splitlines()]

    assert ids("--from", "2026-02-01T10:00:00+00:00", "--to",
               "2026-02-28T00:00:00+00:00") == ["a2", "a3", "b1"]
    assert ids("--contact", "A") == ["a1", "a2", "a3"]  # its phone's STOP included
    assert ids("--contact", "B", "--from", "2026-02-20T00:00:00+00:00") == ["b2"]


def test_a_bundle_holds_events_checkpoint_and_a_verification_report(cli, store_url, tmp_path,
                                                                   monkeypatch):
    from orchestrator.persistence.checkpoints import new_key_pair
    private, public = new_key_pair()
    monkeypatch.setenv("ORCHESTRATOR_SIGNING_KEY", private)
    path = write_jsonl(tmp_path / "a.jsonl", contact("c", "2026-01-01T00:00:00Z"),
                       purchase("p", "2026-01-02T00:00:00Z"))
    cli("--store", store_url, "ingest", path)
    bundle = tmp_path / "bundle"

    result = cli("--store", store_url, "audit", "export", "--bundle", bundle)

    assert result.code == 0, result.err
    events = (bundle / "events.jsonl").read_text().splitlines()
    report = json.loads((bundle / "verification.json").read_text())
    assert len(events) == 2
    assert report["intact"] and report["events"] == 2 and report["events_in_bundle"] == 2
    kept = cli("--store", store_url, "audit", "verify", "--checkpoint",
               bundle / "checkpoint.json", "--public-key", public)
    assert kept.code == 0, kept.out
    assert json.loads((bundle / "checkpoint.json").read_text())["signature"]
