"""The live service's leader lock, on each store: one holder at a time, released with
its holder, lost (and noticed) when its file or its connection goes."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from tests.conftest import POSTGRES_BASE

from orchestrator.application.leading import grace_for, lock_for
from orchestrator.persistence.leader_lock import AdvisoryLeaderLock, advisory_key


def test_one_sqlite_scheduler_holds_the_lock_file_at_a_time(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first, second = lock_for(url), lock_for(url)
    assert first.try_acquire() and first.held()
    assert not second.try_acquire() and not second.held()
    assert (tmp_path / "store.db.leader").read_text().split()[1] == str(os.getpid())
    first.release()
    assert not first.held()
    assert second.try_acquire()  # released: the standby takes it
    assert not first.try_acquire()
    second.release()


def test_a_lock_file_removed_under_the_holder_counts_as_lost(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    holder, other = lock_for(url), lock_for(url)
    assert holder.try_acquire()
    (tmp_path / "store.db.leader").unlink()
    assert other.try_acquire()  # a new file: another process could lock it...
    assert not holder.held()  # ...so the holder no longer leads
    other.release()


def test_one_postgresql_scheduler_holds_the_advisory_lock_at_a_time(postgres_url):
    first, second = lock_for(postgres_url), lock_for(postgres_url)
    assert isinstance(first, AdvisoryLeaderLock)
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire() and second.held()
    finally:
        first.release()
        second.release()


def test_two_schemas_are_two_stores_with_two_locks(postgres_url):
    other_schema = postgres_url.replace("?schema=", "?schema=other_")
    assert advisory_key("a") != advisory_key("b")
    one, two = lock_for(postgres_url), lock_for(other_schema)
    try:
        assert one.try_acquire() and two.try_acquire()
    finally:
        one.release()
        two.release()


def test_a_terminated_lock_connection_loses_the_lead_and_frees_the_lock(postgres_url):
    holder, standby = lock_for(postgres_url), lock_for(postgres_url)
    try:
        assert holder.try_acquire()
        backend = holder._conn.info.backend_pid
        with psycopg.connect(POSTGRES_BASE.split("?")[0], autocommit=True) as admin:
            [done] = admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone()
        assert done
        assert not holder.held()  # noticed on the next check
        assert standby.try_acquire()
        assert not holder.try_acquire()  # and it cannot come back while the other leads
    finally:
        holder.release()
        standby.release()


def test_an_unreachable_server_raises_and_is_not_the_lead():
    lock = lock_for("postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(psycopg.OperationalError):
        lock.try_acquire()
    assert not lock.held()


def test_the_grace_is_half_the_interval_and_at_least_a_second():
    assert [grace_for(every) for every in (1, 2, 3, 30, 300)] == [1, 1, 1, 15, 150]


@pytest.mark.parametrize("every", ["0", "-5", "1.5", "86401"])
def test_a_bad_interval_is_refused_before_anything_runs(cli, sqlite_url, every):
    result = cli("--store", sqlite_url, "run", "--every", every)
    assert result.code == 2
    assert "--every" in result.err and "whole number of seconds from 1 to 86400" in result.err
