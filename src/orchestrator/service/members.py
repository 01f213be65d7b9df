"""Who is running the live service: kept in ``orchestrator.projections.members`` (the
application reads and writes it too: workers, the scheduler, ``status``); the names stay
importable from here."""

from orchestrator.projections.members import (
    BEAT_EVERY,
    ROLES,
    STALE_AFTER,
    Member,
    Membership,
    forget_stopped,
    members,
    members_table,
    metadata,
)

__all__ = ["BEAT_EVERY", "ROLES", "STALE_AFTER", "Member", "Membership", "forget_stopped",
           "members", "members_table", "metadata"]
