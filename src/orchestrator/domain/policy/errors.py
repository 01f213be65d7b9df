"""The one error the policy raises: the caller handed it facts it cannot judge.

Business outcomes (no consent, suppressed channel, quiet hours...) are never errors;
they are decisions. A ``PolicyInputError`` is a programming error in the caller (a naive
datetime, an intent outside the contract, a reply without its mention) and should fail
loudly rather than be recorded as a decision nobody can explain.
"""

from __future__ import annotations

from orchestrator.errors import OrchestratorError


class PolicyInputError(OrchestratorError, ValueError):
    """Facts, a request or a configuration the policy cannot judge."""
