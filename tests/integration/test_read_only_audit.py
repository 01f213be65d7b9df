"""Auditors read without any way to send or change anything."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
from tests.support import contact, purchase, write_jsonl

from orchestrator.store import Store

AT = "2026-02-01T10:00:00+00:00"
AUDIT_COMMANDS = [
    ("audit", "verify"), ("audit", "export", "--format", "jsonl"),
    ("audit", "contact", "C1", "--as-of", AT, "--json"), ("audit", "summary", "--json"),
]
# Read commands that are not audit commands: they read the read models as they are.
READ_COMMANDS = [*AUDIT_COMMANDS, ("messages", "--json"), ("contacts", "--json"),
                 ("review", "list", "--json"), ("journeys", "list", "--json")]


@pytest.fixture
def recorded(cli, store_url, tmp_path):
    lines = [contact("c1", AT, email="a@example.com"), purchase("p1", AT)]
    assert cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines)).code == 0
    return store_url


def test_audit_commands_leave_the_sqlite_files_untouched(cli, sqlite_url, tmp_path):
    cli("--store", sqlite_url, "ingest", write_jsonl(tmp_path / "a.jsonl", contact("c1", AT)))
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    before = hashlib.sha256(database.read_bytes()).hexdigest()

    for command in READ_COMMANDS:
        assert cli("--store", sqlite_url, *command).code == 0, command

    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_an_auditors_sqlite_connection_cannot_write(sqlite_url, tmp_path, cli):
    cli("--store", sqlite_url, "ingest", write_jsonl(tmp_path / "a.jsonl", contact("c1", AT)))

    with Store.open(sqlite_url, read_only=True) as store, \
            store.recorder.datastore.transaction(commit=True) as cursor, \
            pytest.raises(Exception, match=r"(?i)readonly|read-only|read only"):
        cursor.execute("DELETE FROM touchpoints")


def test_auditing_a_store_that_does_not_exist_creates_nothing(cli, tmp_path):
    missing = tmp_path / "nothing-here.db"

    result = cli("--store", f"sqlite:///{missing}", "audit", "verify")

    assert result.code == 2
    assert not missing.exists()


@pytest.mark.postgres
def test_a_select_only_postgres_role_can_audit_but_not_write(cli, postgres_url, tmp_path):
    lines = [contact("c1", AT, email="a@example.com"), purchase("p1", AT)]
    assert cli("--store", postgres_url, "ingest", write_jsonl(tmp_path / "a.jsonl",
                                                             *lines)).code == 0
    schema = postgres_url.split("schema=")[1]
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    admin_url = postgres_url.split("?")[0]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
        admin.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    auditor_url = postgres_url.replace("postgres@", f"{role}@")
    try:
        for command in READ_COMMANDS:
            result = cli("--store", auditor_url, *command)
            assert result.code == 0, (command, result.err)
        [row] = json.loads(cli("--store", auditor_url, "contacts", "--json").out)
        assert row["contact"] == "C1"

        refused = cli("--store", auditor_url, "ingest",
                      write_jsonl(tmp_path / "b.jsonl", purchase("p2", AT)))
        assert refused.code == 2
        assert "permission denied" in refused.err or "read-only" in refused.err
        assert len(cli("--store", postgres_url, "audit", "export").out.splitlines()) == 2
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}')
            admin.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}')
            admin.execute(f"DROP ROLE {role}")


class _CountingProvider(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def _record(self) -> None:
        type(self).requests.append(f"{self.command} {self.path}")
        self.send_response(202)
        self.end_headers()

    do_GET = do_POST = do_PUT = _record

    def log_message(self, *args: object) -> None:
        pass


def test_audit_commands_with_live_credentials_make_no_provider_call(cli, recorded, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _CountingProvider.requests = []
    for name, value in {
        "SENDGRID_API_KEY": "SG.live-looking-key", "ORCHESTRATOR_SENDGRID_URL": base,
        "ORCHESTRATOR_EMAIL_FROM": "brand@example.com",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM": "+15005550006", "ORCHESTRATOR_TWILIO_URL": base,
        "MASTODON_BASE_URL": base, "MASTODON_ACCESS_TOKEN": "token",
        "ORCHESTRATOR_SMTP_URL": f"smtp://user:pass@127.0.0.1:{server.server_address[1]}",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        for command in AUDIT_COMMANDS:
            assert cli("--store", recorded, *command).code == 0, command
    finally:
        server.shutdown()
        server.server_close()

    assert _CountingProvider.requests == []


def test_a_read_model_behind_the_store_is_read_as_it_is_and_says_so(cli, sqlite_url, tmp_path):
    cli("--store", sqlite_url, "ingest", write_jsonl(tmp_path / "a.jsonl", contact("c1", AT)))
    with Store.open(sqlite_url) as store, store.write() as unit:  # an ingest whose tail died
        from orchestrator.domain import events as ev
        from orchestrator.domain import subjects
        from orchestrator.domain.new_fact import NewFact
        unit.append_facts([NewFact(subjects.contact_stream("C2"), ev.ContactDetailsRecorded, {
            "touchpoint_id": "c2", "at": AT, "contact": "C2", "kind": "customer", "email": None,
            "phone": None, "address": None, "timezone": None, "locale": None,
            "attributes": None})], recorded_at=datetime.fromisoformat(AT))

    result = cli("--store", sqlite_url, "contacts", "--json")

    assert result.code == 0, result.err
    assert [row["contact"] for row in json.loads(result.out)] == ["C1"]
    assert "1 event(s) behind" in result.err
