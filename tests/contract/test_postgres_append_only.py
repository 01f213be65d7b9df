"""On PostgreSQL the database itself refuses to rewrite history."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from tests.contract.test_store import details

from orchestrator.store import Store

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("statement", [
    "UPDATE {schema}.stored_events SET topic = 'x'",
    "DELETE FROM {schema}.stored_events",
    "TRUNCATE {schema}.stored_events",
    "UPDATE {schema}.event_chain SET link = 'x'",
    "DELETE FROM {schema}.event_chain",
    "DELETE FROM {schema}.touchpoints",
])
def test_update_delete_and_truncate_are_refused(postgres_url, statement):
    with Store.open(postgres_url) as store, store.write() as unit:
        unit.append([details(uuid.uuid4(), 1)])
        unit.tables.record_touchpoints([("t1", b"d", 1)])
    schema = postgres_url.split("schema=")[1]

    with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as conn, \
            pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute(statement.format(schema=schema))
