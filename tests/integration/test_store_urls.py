"""A store URL that is not a store: refused with exit 2 and one line saying why, quickly,
and nothing written to what is there (issue 14, item 7)."""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql
from tests.conftest import POSTGRES_BASE
from tests.support import contact, write_jsonl

AT = "2026-02-01T10:00:00+00:00"
READ_ONLY_COMMANDS = [("audit", "verify"), ("audit", "export", "--format", "jsonl"),
                      ("audit", "summary", "--json"), ("journeys", "list")]


def one_line_reason(result) -> str:
    """The command refused as bad input: exit 2, one line on stderr, no traceback."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}


@pytest.fixture
def touchpoints(tmp_path):
    return write_jsonl(tmp_path / "one.jsonl", contact("c1", AT))


# --- SQLite: files and folders that are not a store -------------------------------------

@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_a_text_file_is_not_a_store(cli, tmp_path, command):
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\nmilk\n")

    reason = one_line_reason(cli("--store", f"sqlite:///{text}", *command))

    assert "not an SQLite database" in reason and str(text) in reason
    assert text.read_text() == "shopping list\nmilk\n"


def test_ingest_into_a_text_file_leaves_it_as_it_was(cli, tmp_path, touchpoints):
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\n")

    reason = one_line_reason(cli("--store", f"sqlite:///{text}", "ingest", touchpoints))

    assert "not an SQLite database" in reason
    assert text.read_text() == "shopping list\n"
    assert not Path(f"{text}-wal").exists()


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_reading_an_empty_file_says_there_is_no_store(cli, tmp_path, command):
    empty = tmp_path / "empty.db"
    empty.touch()

    reason = one_line_reason(cli("--store", f"sqlite:///{empty}", *command))

    assert reason.startswith(f"orchestrator: no store at sqlite:///{empty}")
    assert empty.stat().st_size == 0


@pytest.mark.parametrize("command", [*READ_ONLY_COMMANDS, ("ingest", "TOUCHPOINTS")])
def test_a_folder_is_not_a_store(cli, tmp_path, touchpoints, command):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    command = tuple(str(touchpoints) if part == "TOUCHPOINTS" else part for part in command)

    reason = one_line_reason(cli("--store", f"sqlite:///{folder}", *command))

    assert "is a folder" in reason and str(folder) in reason
    assert list(folder.iterdir()) == []


def test_a_missing_file_is_no_store_for_a_reader(cli, tmp_path):
    missing = tmp_path / "nothing-here.db"

    reason = one_line_reason(cli("--store", f"sqlite:///{missing}", "audit", "verify"))

    assert reason.startswith(f"orchestrator: no store at sqlite:///{missing}")
    assert not missing.exists()


def test_a_store_cannot_be_made_in_a_folder_that_does_not_exist(cli, tmp_path, touchpoints):
    path = tmp_path / "no-such-folder" / "store.db"

    reason = one_line_reason(cli("--store", f"sqlite:///{path}", "ingest", touchpoints))

    assert "does not exist" in reason and str(path.parent) in reason
    assert not path.parent.exists()


def another_applications_database(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('alice')")
    return path


def another_eventsourcing_applications_database(path: Path) -> Path:
    """Another application built on the same library: its events table, none of ours."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version "
                   "INTEGER, topic TEXT, state BLOB)")
    return path


@pytest.mark.parametrize("make", [another_applications_database,
                                  another_eventsourcing_applications_database])
def test_ingest_into_another_applications_sqlite_file_writes_nothing(
        cli, tmp_path, touchpoints, make):
    database = make(tmp_path / "crm.db")
    tables, before = sqlite_tables(database), digest(database)

    reason = one_line_reason(cli("--store", f"sqlite:///{database}", "ingest", touchpoints))

    assert "not an orchestrator store" in reason and str(database) in reason
    assert sqlite_tables(database) == tables
    assert digest(database) == before


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_auditing_another_applications_sqlite_file_is_refused(cli, tmp_path, command):
    database = another_applications_database(tmp_path / "crm.db")

    reason = one_line_reason(cli("--store", f"sqlite:///{database}", *command))

    assert "not an orchestrator store" in reason


@pytest.mark.parametrize("url", [
    "sqlite:///:memory:",
    "sqlite:///%3Amemory%3A",
    "sqlite:///file::memory:",
    "sqlite:///file:store.db?mode=memory&cache=shared",
    "sqlite:///store.db?mode=memory",
])
def test_an_in_memory_database_is_refused_because_a_store_must_persist(
        cli, tmp_path, touchpoints, url, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = cli("--store", url, "ingest", touchpoints)

    reason = one_line_reason(result)
    assert "recorded" not in result.out
    assert "persist" in reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jsonl"]


def test_a_sqlite_url_takes_no_query(cli, tmp_path, touchpoints):
    url = f"sqlite:///{tmp_path / 'store.db'}?journal=off"

    reason = one_line_reason(cli("--store", url, "ingest", touchpoints))

    assert "query" in reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jsonl"]


def test_a_sqlite_path_with_uri_characters_is_the_file_it_names(cli, tmp_path, touchpoints):
    # The auditors' read-only connection opens the file by URI: '#', '?' and '%' in the
    # name must not cut the name short or open another file.
    path = tmp_path / "store #1 %41.db"
    url = "sqlite:///" + str(path).replace("%", "%25").replace("#", "%23")

    assert cli("--store", url, "ingest", touchpoints).code == 0
    verified = cli("--store", url, "audit", "verify")
    messages = cli("--store", url, "messages", "--json")  # the read models' engine too

    assert verified.code == 0, verified.err
    assert "intact: 1 events" in verified.out
    assert messages.code == 0, messages.err
    made = {p.name for p in tmp_path.iterdir()} - {touchpoints.name}
    assert path.name in made <= {path.name, f"{path.name}-wal", f"{path.name}-shm"}


def test_a_store_missing_a_later_table_is_completed_by_a_writer(cli, tmp_path, touchpoints):
    database = tmp_path / "older.db"
    url = f"sqlite:///{database}"
    assert cli("--store", url, "ingest", touchpoints).code == 0
    with sqlite3.connect(database) as db:  # as a store made before checkpoints existed
        db.execute("DROP TABLE checkpoints")

    reason = one_line_reason(cli("--store", url, "audit", "verify"))
    assert "incomplete store (no table checkpoints)" in reason
    assert cli("--store", url, "projections", "rebuild").code == 0
    verified = cli("--store", url, "audit", "verify")

    assert verified.code == 0 and verified.out.startswith("intact: 1 events"), verified.err


# --- Both backends -------------------------------------------------------------------------

def test_an_empty_store_of_ours_verifies(cli, store_url):
    assert cli("--store", store_url, "projections", "rebuild").code == 0  # a writer makes them

    result = cli("--store", store_url, "audit", "verify")

    assert result.code == 0, result.err
    assert result.out.startswith("intact: 0 events")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store_url(request, tmp_path):
    """A database with nothing in it: an empty SQLite file, an empty PostgreSQL schema."""
    if request.param == "sqlite":
        (tmp_path / "empty.db").touch()
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_reading_an_empty_database_says_there_is_no_store(cli, empty_store_url, command):
    reason = one_line_reason(cli("--store", empty_store_url, *command))

    assert reason.startswith("orchestrator: no store at ")
    where = urlsplit(empty_store_url)
    assert (where.query.removeprefix("schema=") or where.path) in reason


def test_ingest_into_an_empty_database_makes_a_store(cli, empty_store_url, touchpoints):
    assert cli("--store", empty_store_url, "ingest", touchpoints).code == 0

    result = cli("--store", empty_store_url, "audit", "verify")

    assert result.code == 0 and result.out.startswith("intact: 1 events"), result.err


# --- PostgreSQL --------------------------------------------------------------------------

def admin():
    return psycopg.connect(POSTGRES_BASE.split("?")[0], autocommit=True, connect_timeout=3)


@pytest.mark.parametrize("command", [("audit", "verify"), ("ingest", "TOUCHPOINTS"),
                                     ("messages",)])
def test_an_unreachable_postgres_fails_fast_and_says_where(cli, touchpoints, command):
    url = "postgresql://orchestrator:S3cr3t-Pa55@127.0.0.1:1/crm"  # nothing listens on port 1
    command = tuple(str(touchpoints) if part == "TOUCHPOINTS" else part for part in command)

    started = time.monotonic()
    result = cli("--store", url, *command)
    elapsed = time.monotonic() - started

    reason = one_line_reason(result)
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "127.0.0.1:1" in reason and "crm" in reason and "orchestrator" in reason
    assert "cannot connect" in reason
    assert "S3cr3t-Pa55" not in result.out + result.err


@pytest.mark.postgres
def test_a_missing_postgres_database_fails_fast_and_names_it(cli, postgres_url):
    url = urlsplit(postgres_url)._replace(path="/no_such_database_14", query="").geturl()

    started = time.monotonic()
    result = cli("--store", url, "audit", "verify")
    elapsed = time.monotonic() - started

    reason = one_line_reason(result)
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "no_such_database_14" in reason and "does not exist" in reason


@pytest.mark.parametrize("schema", ['bad"name', "a;DROP SCHEMA public", "1starts_with_digit",
                                    "x" * 64, "pg_catalog", "with space", "dash-ed", "",
                                    "Marketing"])
def test_a_schema_name_must_be_a_plain_identifier(cli, touchpoints, schema):
    # Refused before any connection: the port below has no server behind it.
    url = f"postgresql://postgres@127.0.0.1:1/test?schema={schema}"

    reason = one_line_reason(cli("--store", url, "ingest", touchpoints))

    assert "schema" in reason and "not a valid schema name" in reason
    assert "cannot connect" not in reason


@pytest.mark.parametrize(("query", "said"), [
    ("sslmode=disable", "'sslmode' is not an option of a store URL"),
    ("options=-c%20x", "'options' is not an option of a store URL"),
    ("schema=a&schema=b", "'schema' is given twice"),
    ("schema", "must be name=value"),
])
def test_a_postgres_url_takes_only_the_options_it_understands(cli, touchpoints, query, said):
    # Refused before any connection (nothing listens on port 1), rather than ignored.
    url = f"postgresql://postgres@127.0.0.1:1/test?{query}"

    reason = one_line_reason(cli("--store", url, "ingest", touchpoints))

    assert said in reason


@pytest.fixture
def fresh_schema(postgres_url):
    """A schema name nobody has made yet; dropped after."""
    name = f"store_{uuid.uuid4().hex[:8]}"
    yield name, urlsplit(postgres_url)._replace(query=f"schema={name}").geturl()
    with admin() as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.mark.postgres
def test_a_missing_schema_is_no_store_for_a_reader_and_made_by_a_writer(
        cli, fresh_schema, touchpoints):
    name, url = fresh_schema

    reason = one_line_reason(cli("--store", url, "audit", "verify"))
    assert reason.startswith("orchestrator: no store at ") and name in reason
    with admin() as db:
        assert db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                          (name,)).fetchone() is None

    assert cli("--store", url, "ingest", touchpoints).code == 0
    messages = cli("--store", url, "messages", "--json")
    verified = cli("--store", url, "audit", "verify")

    assert messages.code == 0, messages.err
    assert verified.code == 0 and verified.out.startswith("intact: 1 events"), verified.err
    with admin() as db:
        tables = {row[0] for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (name,))}
    assert {"stored_events", "event_chain", "subject_keys", "rm_contacts"} <= tables


def schema_tables(schema: str) -> set[str]:
    with admin() as db:
        return {row[0] for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))}


@pytest.fixture
def foreign_schema_url(postgres_url):
    """A schema of another application: one unrelated table (the fixture drops it after)."""
    schema = postgres_url.split("schema=")[1]
    with admin() as db:
        db.execute(sql.SQL("CREATE TABLE {}.invoices (id int PRIMARY KEY, total numeric)")
                   .format(sql.Identifier(schema)))
        db.execute(sql.SQL("INSERT INTO {}.invoices VALUES (1, 9.99)")
                   .format(sql.Identifier(schema)))
    return postgres_url


@pytest.mark.postgres
def test_ingest_into_another_applications_postgres_schema_writes_nothing(
        cli, foreign_schema_url, touchpoints):
    schema = foreign_schema_url.split("schema=")[1]

    reason = one_line_reason(cli("--store", foreign_schema_url, "ingest", touchpoints))

    assert "not an orchestrator store" in reason and schema in reason
    assert schema_tables(schema) == {"invoices"}


@pytest.mark.postgres
@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_auditing_another_applications_postgres_schema_is_refused(
        cli, foreign_schema_url, command):
    reason = one_line_reason(cli("--store", foreign_schema_url, *command))

    assert "not an orchestrator store" in reason


@pytest.fixture
def empty_database_url(postgres_url):
    """A PostgreSQL database of its own, with nothing in it; dropped after."""
    name = f"store_urls_{uuid.uuid4().hex[:8]}"
    with admin() as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlsplit(postgres_url)._replace(path=f"/{name}", query="").geturl()
    with admin() as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                   .format(sql.Identifier(name)))


@pytest.mark.postgres
def test_auditing_an_empty_postgres_database_says_there_is_no_store(cli, empty_database_url):
    result = cli("--store", empty_database_url, "audit", "verify")

    reason = one_line_reason(result)
    assert reason.startswith("orchestrator: no store at ")
    assert urlsplit(empty_database_url).path.lstrip("/") in reason
