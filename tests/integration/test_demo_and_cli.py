"""The demo end to end, and the command line's conventions."""

from __future__ import annotations

import json

from tests.support import purchase, write_jsonl


def test_demo_runs_the_example_journeys_over_a_simulated_month(cli, sqlite_url, tmp_path):
    outbox = tmp_path / "outbox"
    result = cli("--store", sqlite_url, "demo", "--contacts", "400", "--outbox", outbox)

    assert result.code == 0, result.err
    assert "synthetic contacts" in result.out
    for heading in ("stage:", "light_buyer", "regular_buyer", "prospect", "consent granted:",
                    "mentions by stance:", "hostile", "messages by journey and step:",
                    "second-purchase", "monday-spotlight", "by channel:", "by intent:",
                    "not sent, by rule:", "relationship.requires_marketing_consent"):
        assert heading in result.out, heading
    assert "relationship.requires_marketing_consent" in next(
        line for line in result.out.splitlines()
        if "no consent to marketing on a private channel" in line)
    # Consent shares are of contacts: one contact's email and sms grants are not 100 %.
    consent_lines = result.out.split("consent granted:  (share of contacts)\n")[1]
    rows = [line.split() for line in consent_lines.split("\n\n")[0].splitlines()]
    contacts = int(next(line for line in result.out.splitlines()
                        if " contacts, " in line and " events, " in line
                        ).split()[0].replace(",", ""))
    assert len(rows) >= 2
    for _, count, share, *_ in rows:
        assert abs(float(share.rstrip("%")) - 100 * int(count.replace(",", "")) / contacts
                   ) <= 0.051
    assert (outbox / "social.jsonl").exists() and any((outbox / "email").iterdir())
    messages = json.loads(cli("--store", sqlite_url, "messages", "--json").out)
    assert {m["journey"] for m in messages} >= {"second-purchase", "monday-spotlight"}
    assert all(m["channel"] == "social" for m in messages if m["intent"] in (
        "reach", "activation", "showcase"))
    assert not any(m["channel"] == "social" and m["contact"] for m in messages)
    summary = json.loads(cli("--store", sqlite_url, "audit", "summary", "--as-of",
                             "2026-11-01T00:00:00+00:00", "--json").out)
    assert summary["contacts"] == 400
    stages = summary["stages"]
    assert stages["light_buyer"] > stages["regular_buyer"] > 0  # light buyers dominate


def test_demo_twice_records_nothing_new(cli, sqlite_url, tmp_path):
    cli("--store", sqlite_url, "demo", "--contacts", "50", "--outbox", tmp_path / "o")
    before = len(cli("--store", sqlite_url, "audit", "export").out.splitlines())

    again = cli("--store", sqlite_url, "demo", "--contacts", "50", "--outbox", tmp_path / "o")

    assert again.code == 0
    assert "ingested: 0 recorded" in again.out
    after = len(cli("--store", sqlite_url, "audit", "export").out.splitlines())
    assert after - before == 1  # only the second run's clock fact


def test_global_options_go_before_or_after_the_command(cli, sqlite_url, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", purchase("p1", "2026-01-01T00:00:00Z"))

    before = cli("--store", sqlite_url, "--json", "ingest", path)
    after = cli("ingest", path, "--json", "--store", sqlite_url)

    assert json.loads(before.out)["recorded"] == 1
    assert json.loads(after.out)["duplicates"] == 1


def test_the_store_comes_from_the_environment_when_not_given(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_STORE", f"sqlite:///{tmp_path / 'env.db'}")

    result = cli("ingest", write_jsonl(tmp_path / "a.jsonl", purchase("p1", "2026-01-01T00:00Z")))

    assert result.code == 0
    assert (tmp_path / "env.db").exists()


def test_the_default_store_is_orchestrator_db_in_the_working_directory(cli, tmp_path,
                                                                       monkeypatch):
    monkeypatch.delenv("ORCHESTRATOR_STORE", raising=False)
    monkeypatch.chdir(tmp_path)

    cli("ingest", write_jsonl(tmp_path / "a.jsonl", purchase("p1", "2026-01-01T00:00Z")))

    assert (tmp_path / "orchestrator.db").exists()


def test_unknown_commands_and_bad_options_exit_2(cli, sqlite_url):
    assert cli("--store", sqlite_url, "launch-rockets").code == 2
    assert cli("--store", sqlite_url, "audit", "contact", "C1", "--as-of", "noon").code == 2
