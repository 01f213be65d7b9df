"""The one write tail every write use case ends with: a checkpoint of the chain's head
(signed when a key is configured) and the read models caught up with what was written."""

from __future__ import annotations

from typing import Any

from orchestrator.persistence.checkpoints import record_checkpoint
from orchestrator.projections.runner import catch_up, open_directory


def finish_write(app: Any, store: Any) -> None:
    record_checkpoint(store, app.now(), app.settings.signing_key)
    catch_up(store, open_directory(store))
