"""`audit verify` finds every kind of tampering, at the right position, on both backends.

The tampering is done the way an attacker with database access would: straight SQL on the
tables, with PostgreSQL's append-only triggers disabled first (a superuser can).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import psycopg
import pytest
from tests.support import purchase, write_jsonl

EVENTS = 30


@pytest.fixture
def recorded(cli, store_url, tmp_path):
    lines = [purchase(f"p{i}", f"2026-01-{1 + i % 28:02d}T10:00:00+00:00", contact=f"C{i % 4}")
             for i in range(EVENTS)]
    result = cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines))
    assert result.code == 0, result.err
    return store_url


class Tamper:
    """Raw SQL on the store, bypassing the product."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.schema = url.split("schema=")[1]
            self.events = f'"{self.schema}".stored_events'
            self.chain = f'"{self.schema}".event_chain'
            self.position = "notification_id"
        else:
            self.events, self.chain, self.position = "stored_events", "event_chain", "rowid"

    def run(self, statement: str, params: tuple = ()) -> list[tuple]:
        if self.postgres:
            with psycopg.connect(self.url.split("?")[0], autocommit=True) as conn:
                for table in (self.events, self.chain):
                    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                rows = conn.execute(statement.replace("?", "%s"), params)
                result = rows.fetchall() if rows.description else []
                for table in (self.events, self.chain):
                    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                return result
        db = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            return db.execute(statement, params).fetchall()
        finally:
            db.close()

    def state_at(self, position: int) -> bytes:
        [(state,)] = self.run(f"SELECT state FROM {self.events} WHERE {self.position} = ?",
                              (position,))
        return bytes(state)

    def set_state(self, position: int, state: bytes) -> None:
        self.run(f"UPDATE {self.events} SET state = ? WHERE {self.position} = ?",
                 (state, position))


def flip_middle_byte(t: Tamper) -> int:
    position = EVENTS // 2
    state = bytearray(t.state_at(position))
    state[len(state) // 2] ^= 0x01
    t.set_state(position, bytes(state))
    return position


def delete_one(t: Tamper) -> int:
    t.run(f"DELETE FROM {t.events} WHERE {t.position} = ?", (12,))
    return 12


def delete_one_with_its_link(t: Tamper) -> int:
    t.run(f"DELETE FROM {t.events} WHERE {t.position} = ?", (12,))
    t.run(f"DELETE FROM {t.chain} WHERE position = ?", (12,))
    return 12


def insert_one(t: Tamper) -> int:
    columns = "originator_id, originator_version, topic, state"
    t.run(f"INSERT INTO {t.events} ({columns}) SELECT originator_id, originator_version + 100, "
          f"topic, state FROM {t.events} WHERE {t.position} = 3")
    return EVENTS + 1


def truncate_last_ten(t: Tamper) -> int:
    t.run(f"DELETE FROM {t.events} WHERE {t.position} > ?", (EVENTS - 10,))
    return EVENTS - 9


def truncate_last_ten_with_links(t: Tamper) -> int:
    t.run(f"DELETE FROM {t.events} WHERE {t.position} > ?", (EVENTS - 10,))
    t.run(f"DELETE FROM {t.chain} WHERE position > ?", (EVENTS - 10,))
    return EVENTS - 9  # found through the checkpoint recorded by the ingest


def swap_two(t: Tamper) -> int:
    a, b = t.state_at(7), t.state_at(21)
    t.set_state(7, b)
    t.set_state(21, a)
    return 7


@pytest.mark.parametrize("tamper", [flip_middle_byte, delete_one, delete_one_with_its_link,
                                    insert_one, truncate_last_ten,
                                    truncate_last_ten_with_links, swap_two])
def test_verify_finds_the_first_broken_position(cli, recorded, tamper: Callable[[Tamper], int]):
    assert cli("--store", recorded, "audit", "verify").code == 0

    expected = tamper(Tamper(recorded))
    result = cli("--store", recorded, "audit", "verify", "--json")

    assert result.code == 1, result.out
    report = json.loads(result.out)
    assert report["intact"] is False
    assert report["first_broken_position"] == expected, report["problem"]
    text = cli("--store", recorded, "audit", "verify")
    assert text.code == 1 and f"BROKEN at position {expected}" in text.out


def test_an_intact_store_verifies(cli, recorded):
    result = cli("--store", recorded, "audit", "verify", "--json")

    assert result.code == 0
    report = json.loads(result.out)
    assert report["intact"] and report["events"] == EVENTS and report["checkpoints_checked"] >= 1


def test_a_rewritten_history_is_caught_by_a_checkpoint_kept_outside(cli, recorded, tmp_path,
                                                                   monkeypatch):
    from orchestrator.persistence.checkpoints import new_key_pair
    private, public = new_key_pair()
    monkeypatch.setenv("ORCHESTRATOR_SIGNING_KEY", private)
    kept = tmp_path / "checkpoint.json"
    assert cli("--store", recorded, "audit", "checkpoint", "--out", kept).code == 0
    monkeypatch.delenv("ORCHESTRATOR_SIGNING_KEY")
    # An attacker who alters an event AND recomputes every link (and wipes the in-store
    # checkpoints) leaves a store whose chain is consistent with itself...
    tamper = Tamper(recorded)
    flip_middle_byte(tamper)
    _recompute_chain(tamper)
    tamper.run("DELETE FROM " + ('"' + tamper.schema + '".checkpoints' if tamper.postgres
                                 else "checkpoints"))
    assert cli("--store", recorded, "audit", "verify").code == 0

    # ...but not with the signed checkpoint the auditor kept.
    result = cli("--store", recorded, "audit", "verify", "--checkpoint", kept,
                 "--public-key", public, "--json")

    assert result.code == 1
    report = json.loads(result.out)
    assert report["first_broken_position"] == EVENTS
    assert "no longer matches its checkpoint" in report["problem"]


def test_a_checkpoint_signed_by_another_key_is_refused(cli, recorded, tmp_path, monkeypatch):
    from orchestrator.persistence.checkpoints import new_key_pair
    private, _ = new_key_pair()
    _, someone_else = new_key_pair()
    monkeypatch.setenv("ORCHESTRATOR_SIGNING_KEY", private)
    kept = tmp_path / "checkpoint.json"
    cli("--store", recorded, "audit", "checkpoint", "--out", kept)

    result = cli("--store", recorded, "audit", "verify", "--checkpoint", kept,
                 "--public-key", someone_else)

    assert result.code == 1
    assert "signature that does not verify with the given public key" in result.out


def _recompute_chain(t: Tamper) -> None:
    from uuid import UUID

    from orchestrator.persistence import chain
    rows = t.run(f"SELECT {t.position}, originator_id, originator_version, topic, state "
                 f"FROM {t.events} ORDER BY {t.position}")
    t.run(f"DELETE FROM {t.chain}")
    head, previous = chain.GENESIS, 0
    for position, stream, version, topic, state in rows:
        stream = stream if isinstance(stream, UUID) else UUID(stream)
        head = chain.link(head, position, stream, version, topic, bytes(state))
        t.run(f"INSERT INTO {t.chain} (position, previous, link) VALUES (?, ?, ?)",
              (position, previous, head))
        previous = position
