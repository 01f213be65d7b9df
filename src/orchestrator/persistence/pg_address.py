"""Where a PostgreSQL store is, and the settings every connection to it shares: what a
process needs to name or reach a store without loading the driver (a command on an
SQLite store never imports psycopg)."""

from __future__ import annotations

from dataclasses import dataclass, field

READ_ONLY = "ORCHESTRATOR_READ_ONLY"
# Seconds one connection attempt may take (libpq's connect_timeout): an unreachable
# server is reported in seconds, not after the pool's 30 s of retries.
CONNECT_TIMEOUT_SECONDS = 3
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"


@dataclass(frozen=True)
class Address:
    """Where a PostgreSQL store is: server, credentials, database and schema."""

    host: str
    port: str
    user: str
    password: str = field(repr=False)
    dbname: str = ""
    schema: str = "public"

    def server(self) -> str:
        return (f"{self.host}:{self.port}, database {self.dbname}, "
                f"as {self.user or 'the default user'}")
