"""Who is running the live service: each scheduler, worker and ``serve`` process joins,
beats every few seconds and leaves, in a table beside the read models.

This is operational state, not history: it is never in the event store, holds no
personal data (a role, a host name, a process id, times and a few counts) and can be
dropped at any time (processes re-join on their next beat). ``orchestrator status`` and
``/metrics`` read it; a member whose last beat is older than :data:`STALE_AFTER` is shown
as gone (killed, or its machine lost), whatever state it last wrote.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Boolean, Column, MetaData, String, Table, inspect, select
from sqlalchemy.exc import DBAPIError

from orchestrator.projections.view import upsert

BEAT_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=30)
ROLES = ("scheduler", "worker", "serve")

metadata = MetaData()

members_table = Table(
    "svc_members", metadata,
    Column("member", String, primary_key=True),
    Column("role", String, nullable=False),
    Column("host", String, nullable=False),
    Column("pid", String, nullable=False),
    Column("started_at", String, nullable=False),  # ISO-8601 UTC
    Column("beat_at", String, nullable=False),
    Column("leader", Boolean, nullable=False, default=False),
    Column("state", String, nullable=False),  # running, stopping, stopped
    Column("detail", String, nullable=False, default="{}"),  # JSON: counts, lag
)


@dataclass(frozen=True)
class Member:
    member: str
    role: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    leader: bool
    state: str
    detail: dict[str, Any]

    def alive(self, now: datetime) -> bool:
        return self.state != "stopped" and now - self.beat_at <= STALE_AFTER

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {"member": self.member, "role": self.role, "host": self.host, "pid": self.pid,
                "started_at": self.started_at.isoformat(), "beat_at": self.beat_at.isoformat(),
                "leader": self.leader,
                "state": self.state if self.alive(now) or self.state == "stopped" else "gone",
                "detail": self.detail}


class Membership:
    """One process's row: ``join`` once, ``beat`` on a timer, ``leave`` on the way out."""

    def __init__(self, engine: Any, role: str, now: Any):
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.engine = engine
        self.role = role
        self.now = now  # () -> aware datetime: the service's clock
        self.member = f"{role}-{uuid4().hex[:12]}"
        self.started_at = now()
        self.leader = False
        self.detail: dict[str, Any] = {}

    def join(self) -> None:
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except DBAPIError:
            # Several processes joining a new store at once: one of them made the table
            # between another's check and its CREATE. Anything else is raised again here.
            if not inspect(self.engine).has_table(members_table.name):
                raise
        self._write("running")

    def beat(self, *, leader: bool | None = None, **detail: Any) -> None:
        if leader is not None:
            self.leader = leader
        self.detail.update(detail)
        self._write("running")

    def stopping(self) -> None:
        self._write("stopping")

    def leave(self) -> None:
        self.leader = False
        self._write("stopped")

    def _write(self, state: str) -> None:
        row = {"member": self.member, "role": self.role, "host": socket.gethostname(),
               "pid": str(os.getpid()), "started_at": self.started_at.isoformat(),
               "beat_at": self.now().isoformat(), "leader": self.leader, "state": state,
               "detail": json.dumps(self.detail, sort_keys=True, default=str)}
        with self.engine.begin() as conn:
            upsert(conn, members_table, [row], ["member"])


def members(engine: Any) -> list[Member]:
    """Every member that ever joined this store and was not forgotten (newest first)."""
    if not inspect(engine).has_table(members_table.name):
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(members_table)).mappings().all()
    found = [Member(member=r["member"], role=r["role"], host=r["host"], pid=int(r["pid"]),
                    started_at=datetime.fromisoformat(r["started_at"]),
                    beat_at=datetime.fromisoformat(r["beat_at"]), leader=bool(r["leader"]),
                    state=r["state"], detail=json.loads(r["detail"] or "{}"))
             for r in rows]
    return sorted(found, key=lambda m: (m.beat_at, m.member), reverse=True)


def forget_stopped(engine: Any, older_than: datetime) -> int:
    """Drop rows of members stopped or silent since ``older_than`` (housekeeping)."""
    if not inspect(engine).has_table(members_table.name):
        return 0
    with engine.begin() as conn:
        result = conn.execute(members_table.delete().where(
            members_table.c.beat_at < older_than.isoformat()))
    return int(result.rowcount or 0)
