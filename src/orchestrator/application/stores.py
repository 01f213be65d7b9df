"""Opening the configured store, with one clear reason when it cannot be opened.

The store itself refuses what is not a store (see ``orchestrator.store``); anything else
that goes wrong while opening becomes one line here too: the URL redacted, the driver's
first line with every secret of the URL taken out, exit code 2.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.store import Store, redact, without_secrets


def open_store(url: str, *, read_only: bool = False) -> Store:
    try:
        return Store.open(url, read_only=read_only)
    except OrchestratorError:
        raise
    except Exception as error:  # the driver's own words, minus any secret in the URL
        reason = without_secrets(_first_line(error), url)
        raise UsageError(f"cannot open store {redact(url)}: {type(error).__name__}: "
                         f"{reason}") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def store_of(app: Any, *, read_only: bool = False) -> Store:
    return open_store(app.settings.store_url, read_only=read_only)
