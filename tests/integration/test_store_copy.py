"""`orchestrator store copy --to URL`: a store moves from SQLite to PostgreSQL and back,
history, chain, keys and checkpoints as they were, verified before the copy commits."""

from __future__ import annotations

import json
import sqlite3

import pytest
from tests.conftest import run_cli
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, export_lines, purchase

from orchestrator.persistence.checkpoints import new_key_pair

AT = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-03T00:00:00+00:00"
LATER = "2026-03-04T00:00:00+00:00"
SIGNING, PUBLIC = new_key_pair()
SIGNED = {"ORCHESTRATOR_SIGNING_KEY": SIGNING}


def _signed_cli(*args, **kwargs):
    return run_cli(*args, environ=SIGNED, **kwargs)


@pytest.fixture
def source(sqlite_url, tmp_path):
    """A store that has lived: touchpoints, a journey, a run that sent, an erasure, and
    signed checkpoints."""
    world = JourneyWorld(_signed_cli, sqlite_url, tmp_path)
    world.ingest(*(contact(f"c{i}", AT, f"C{i}", email=f"p{i}@example.com",
                           attributes={"first_name": f"P{i}"}) for i in range(6)),
                 *(consent(f"k{i}", AT, f"C{i}") for i in range(6)),
                 *(purchase(f"p{i}", AT, f"C{i}") for i in range(6)))
    world.publish(THANKS_ON_PURCHASE)
    world.run(UNTIL)
    forgot = world.run_cli("forget", "C5", "--by", "dpo@example.com", "--reference", "R-1")
    assert forgot.code == 0, forgot.err
    return world


def _copy(world, target, *extra):
    return world.run_cli("store", "copy", "--to", target, *extra)


def _messages(world, url):
    result = world.cli("--store", url, "messages", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _verified(url):
    result = run_cli("--store", url, "audit", "verify", "--json",
                     environ={"ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY": PUBLIC})
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_keeps_everything(source, postgres_url, tmp_path):
    back = f"sqlite:///{tmp_path / 'back.db'}"
    to_pg = _copy(source, postgres_url, "--json")
    assert to_pg.code == 0, to_pg.err
    report = json.loads(to_pg.out)
    assert report["verified"]["intact"] and report["events"] > 0
    assert report["checkpoints"] >= 1 and report["verified"]["signatures_checked"] >= 1
    to_sqlite = source.cli("--store", postgres_url, "store", "copy", "--to", back)
    assert to_sqlite.code == 0, to_sqlite.err

    original = export_lines(source.cli, source.url)
    assert export_lines(source.cli, postgres_url) == original
    assert export_lines(source.cli, back) == original
    for url in (postgres_url, back):
        assert _messages(source, url) == _messages(source, source.url)
        verified = _verified(url)
        assert verified["events"] == report["events"]
        assert verified["signatures_checked"] >= 1  # the source's signed head, and the copy's
    # The erased contact stays erased in the copy: its key's tombstone came along.
    erased = source.cli("--store", back, "audit", "contact", "C5", "--as-of", LATER, "--json")
    assert erased.code == 0, erased.err
    assert "p5@example.com" not in erased.out
    kept = source.cli("--store", back, "audit", "contact", "C1", "--as-of", LATER, "--json")
    assert "p1@example.com" in kept.out


@pytest.mark.postgres
def test_the_copy_goes_on_where_the_source_stopped(source, postgres_url):
    assert _copy(source, postgres_url).code == 0
    positions_before = _verified(postgres_url)["last_position"]
    copy = JourneyWorld(_signed_cli, postgres_url, source.folder / "on-pg")
    late = "2026-03-03T09:00:00+00:00"
    copy.ingest(contact("c-late", late, "C9", email="p9@example.com"),
                consent("k-late", late, "C9"), purchase("p-late", late, "C9"))
    copy.run(LATER)
    verified = _verified(postgres_url)
    assert verified["last_position"] > positions_before  # numbered after the copied events
    new = [m for m in _messages(copy, postgres_url) if m["at"] >= "2026-03-03"]
    assert [(m["contact"], m["status"]) for m in new] == [("C9", "sent")]


def test_a_target_that_holds_a_store_is_refused_and_left_as_it_was(source, tmp_path):
    other = JourneyWorld(run_cli, f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other")
    other.ingest(contact("x1", AT, "X1", email="x@example.com"))
    before = export_lines(run_cli, other.url)
    refused = _copy(source, other.url)
    assert refused.code == 2
    assert "already holds a store" in refused.err and "nothing was written" in refused.err
    assert export_lines(run_cli, other.url) == before


def test_copying_a_store_onto_itself_is_refused(source):
    refused = _copy(source, source.url)
    assert refused.code == 2 and "is the store being copied" in refused.err


def test_a_source_that_does_not_verify_leaves_the_target_empty(source, tmp_path):
    path = source.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:  # tampering, below the store
        raw.execute("UPDATE stored_events SET state = CAST('{}' AS BLOB) WHERE rowid = 3")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    refused = _copy(source, target)
    assert refused.code == 1
    assert "does not verify" in refused.err and "rolled back" in refused.err
    empty = run_cli("--store", target, "audit", "verify", "--json")
    assert json.loads(empty.out)["events"] == 0
