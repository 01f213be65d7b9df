"""Shared fixtures: real SQLite files and real PostgreSQL schemas, never mocks of them.

PostgreSQL tests need the server on 127.0.0.1:5432 (user postgres, database test; override
with ORCHESTRATOR_TEST_POSTGRES). Each test gets a schema of its own, dropped afterwards.
Under CI=true they must run: a missing server fails them instead of skipping.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The provider mocks (Prism behind a recording proxy): provider_mocks, sendgrid_mock,
# twilio_mock, mastodon_mock. Prism starts only when a test asks for one of them.
pytest_plugins = ("tests.providers.mocks",)


def pytest_report_header() -> str | None:
    days = os.environ.get("TEST_CLOCK_SHIFT_DAYS")
    return f"wall clock shifted by {days} days (tests/clock_shift)" if days else None


POSTGRES_BASE = os.environ.get("ORCHESTRATOR_TEST_POSTGRES",
                               "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin():
    import psycopg
    return psycopg.connect(POSTGRES_BASE.split("?")[0], autocommit=True, connect_timeout=3)


def postgres_available() -> bool:
    try:
        with _postgres_admin():
            return True
    except Exception:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_BASE} and CI=true")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_BASE}; start it (or set "
                    "ORCHESTRATOR_TEST_POSTGRES) to run these tests")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_BASE}?schema={schema}"
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


# "Now" for every in-process command of the suite: a fixed moment, never the wall clock,
# so no test depends on the day it runs (CI also runs the suite with the clock shifted).
TEST_NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def fixed_clock(moment: datetime = TEST_NOW):
    return lambda: moment


def run_cli(*args: str, clock=None, environ=None, channels=None) -> CliResult:
    """Run the command line in-process, as a user would type it, at ``TEST_NOW`` unless
    another clock is given."""
    from orchestrator.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args], clock=clock or fixed_clock(),
                        environ=environ, channels=channels)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli

