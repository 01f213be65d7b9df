"""Read models are derived state: rebuilding them from the events gives the live ones."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from tests.support import consent, contact, purchase, write_jsonl

from orchestrator.projections.contact_directory import snapshot
from orchestrator.projections.runner import catch_up, open_directory, rebuild
from orchestrator.store import Store

FILES = [
    [contact("a1", "2026-01-01T10:00:00+00:00", contact="A", phone="+447700900001"),
     purchase("a2", "2026-01-02T10:00:00+00:00", contact="A"),
     consent("a3", "2026-01-02T10:00:00+00:00", contact="A")],
    [consent("b1", "2026-02-01T10:00:00+00:00", contact="A", granted=False),
     contact("b2", "2026-02-01T10:00:00+00:00", contact="B", kind="press"),
     {"id": "b3", "type": "sms.inbound", "at": "2026-02-02T10:00:00+00:00",
      "phone": "+447700900001", "body": "STOP"}],
    # a late file: an older consent must not undo the newer withdrawal
    [consent("c1", "2026-01-15T10:00:00+00:00", contact="A"),
     purchase("c2", "2025-12-01T10:00:00+00:00", contact="A"),
     {"id": "c3", "type": "identity.linked", "at": "2026-01-03T10:00:00+00:00",
      "contact": "B", "network": "mastodon", "handle": "@b", "verified_by": "agent"}],
]


def test_rebuilding_gives_the_live_read_models(cli, store_url, tmp_path):
    for n, lines in enumerate(FILES):
        assert cli("--store", store_url, "ingest", write_jsonl(tmp_path / f"{n}.jsonl",
                                                               *lines)).code == 0
    cli("--store", store_url, "forget", "B")
    with Store.open(store_url) as store:
        live = snapshot(open_directory(store).view)
        rebuilt = snapshot(rebuild(store).view)

    assert rebuilt == live
    assert len(live["rm_contacts"]) == 2 and len(live["rm_purchases"]) == 2
    [(_, _, _, granted, _, touchpoint)] = live["rm_consents"]
    assert (granted, touchpoint) == (False, "b1")


def test_contacts_command_shows_stage_consents_and_suppressions(cli, store_url, tmp_path):
    for n, lines in enumerate(FILES):
        cli("--store", store_url, "ingest", write_jsonl(tmp_path / f"{n}.jsonl", *lines))

    rows = json.loads(cli("--store", store_url, "contacts", "--as-of",
                          "2026-03-01T00:00:00+00:00", "--json").out)

    by_contact = {r["contact"]: r for r in rows}
    assert by_contact["A"]["stage"] == "light_buyer"
    assert by_contact["A"]["purchases_in_window"] == 2
    assert by_contact["A"]["marketing_consents"] == []
    assert by_contact["A"]["suppressed_channels"] == ["sms"]
    assert by_contact["B"]["stage"] == "press"
    only_press = json.loads(cli("--store", store_url, "contacts", "--stage", "press",
                                "--json").out)
    assert [r["contact"] for r in only_press] == ["B"]


def test_a_page_that_fails_leaves_the_view_at_the_previous_page(store_url, cli, tmp_path,
                                                                monkeypatch):
    lines = [purchase(f"p{i}", "2026-01-01T10:00:00+00:00", contact=f"C{i}")
             for i in range(50)]
    cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines))
    with Store.open(store_url) as store:
        rebuild(store).view.drop_tables()
        directory = open_directory(store)
        monkeypatch.setattr("orchestrator.projections.runner.PAGE", 20)
        original_track = directory.view.track
        calls = {"n": 0}

        def killed_while_tracking_page_two(conn, name, tracking):
            calls["n"] += 1
            if calls["n"] == 2:  # page 2's rows are written, its tracking is not
                raise RuntimeError("killed")
            original_track(conn, name, tracking)

        directory.view.track = killed_while_tracking_page_two
        with pytest.raises(RuntimeError):
            catch_up(store, directory)

        assert directory.view.max_tracking_id(store.ledger.name) == 20
        assert len(snapshot(directory.view)["rm_contacts"]) == 20  # page 2 rolled back whole
        directory.view.track = original_track
        catch_up(store, directory)
        assert snapshot(directory.view) == snapshot(rebuild(store).view)


def test_a_projection_killed_with_sigkill_resumes_exactly(sqlite_url, cli, tmp_path):
    lines = [purchase(f"p{i}", "2026-01-01T10:00:00+00:00", contact=f"C{i % 3000}")
             for i in range(30000)]
    assert cli("--store", sqlite_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines)).code == 0
    with Store.open(sqlite_url) as store:
        rebuild(store).view.drop_tables()  # start the directory from nothing
    code = ("from orchestrator.store import Store\n"
            "from orchestrator.projections.runner import catch_up, open_directory\n"
            f"store = Store.open({sqlite_url!r})\n"
            "print('started', flush=True)\n"
            "catch_up(store, open_directory(store))\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.4)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()

    with Store.open(sqlite_url) as store:
        resumed = open_directory(store)
        position = resumed.view.max_tracking_id(store.ledger.name) or 0
        catch_up(store, resumed)
        assert snapshot(resumed.view) == snapshot(rebuild(store).view)
    assert 0 <= position <= 30000
