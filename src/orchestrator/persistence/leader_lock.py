"""Leadership of the live service: one lock per store that only one scheduler holds.

- SQLite: an OS lock (``flock``, exclusive, non-blocking) on a file beside the database,
  ``PATH.leader``. The kernel drops it with the process (``kill -9`` included), so a
  standby takes it on its next try. The file holds the holder's host and pid, for
  operators; its content is never trusted. A lock file deleted or replaced under the
  holder counts as lost (another process could lock the new file).
- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection kept open for as long as the process leads. The server drops it with the
  session: the process killed, the connection terminated (``pg_terminate_backend``) or
  lost. The key is derived from the schema, so two stores in one database have two locks.

A lock is not the guarantee that a message goes out once: that is the store's (message
claims, the engine's version check). The lock keeps one scheduler doing the work, so the
others wait instead of racing for it, and says who leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from typing import Any, Protocol

import psycopg

from orchestrator.persistence.pg_address import CONNECT_TIMEOUT_SECONDS, Address

# A check of the lock's connection never hangs longer than this (a half-open TCP
# connection to a lost server answers nothing): the leader then counts the lock as lost.
CHECK_TIMEOUT_SECONDS = 5


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...  # True: this process leads now (or already did)
    def held(self) -> bool: ...  # False once lost; a lost lock must be acquired again
    def release(self) -> None: ...
    def where(self) -> str: ...  # what is locked, for messages (no secret)


class FileLeaderLock:
    """``flock`` on ``PATH.leader`` (PATH the SQLite database)."""

    def __init__(self, database_path: str):
        self.path = f"{database_path}.leader"
        self._fd: int | None = None

    def where(self) -> str:
        return f"lock file {self.path}"

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return self.held()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        if self._fd is None:
            return False
        try:
            mine, named = os.fstat(self._fd), os.stat(self.path)
        except OSError:
            mine = named = None
        if mine is None or (mine.st_dev, mine.st_ino) != (named.st_dev, named.st_ino):
            self.release()  # the file we lock is no longer the one a standby would lock
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def advisory_key(schema: str) -> int:
    """A signed 64-bit key for the scheduler's lock of the store in ``schema``."""
    digest = hashlib.sha256(f"orchestrator scheduler leader:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLeaderLock:
    """``pg_try_advisory_lock`` on a connection of its own, kept open while leading."""

    def __init__(self, address: Address):
        self.address = address
        self.key = advisory_key(address.schema or "public")
        self._conn: Any = None

    def where(self) -> str:
        return (f"advisory lock {self.key} of schema {self.address.schema or 'public'} "
                f"in database {self.address.dbname}")

    def _connect(self) -> Any:
        kwargs: dict[str, Any] = {
            "host": self.address.host, "port": self.address.port,
            "dbname": self.address.dbname, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "orchestrator scheduler (leader lock)",
            # A server gone silent is noticed in seconds, not at the kernel's hours.
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
            "keepalives_count": 2, "tcp_user_timeout": CHECK_TIMEOUT_SECONDS * 1000,
            "options": f"-c statement_timeout={CHECK_TIMEOUT_SECONDS * 1000} "
                       "-c idle_in_transaction_session_timeout=0"}
        if self.address.user:
            kwargs["user"] = self.address.user
        if self.address.password:
            kwargs["password"] = self.address.password
        return psycopg.connect(autocommit=True, **kwargs)

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        conn = self._connect()  # psycopg.Error when the server cannot be reached
        try:
            [got] = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Asks the server, on the lock's own connection, that this session holds it."""
        if self._conn is None:
            return False
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = (%s::bigint & 4294967295)::oid "
                "AND classid = ((%s::bigint >> 32) & 4294967295)::oid",
                (self.key, self.key)).fetchone()
        except psycopg.Error:
            row = None
        if not row or not row[0]:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            with contextlib.suppress(psycopg.Error):
                conn.close()
