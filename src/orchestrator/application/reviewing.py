"""Use cases of the review queue: list the held messages, approve or dismiss one."""

from __future__ import annotations

from typing import Any

from orchestrator.application.contact_memory import contact_policy_memory
from orchestrator.application.stores import store_of
from orchestrator.application.tail import finish_write
from orchestrator.campaigns.runtime import review
from orchestrator.campaigns.runtime.decisions import PolicyDesk
from orchestrator.campaigns.runtime.versions import pinned_templates, published_versions
from orchestrator.domain import journey_events as je
from orchestrator.projections.contact_directory import message_rows
from orchestrator.projections.runner import read_directory
from orchestrator.rendering.catalog import TemplateCatalog


def policy_desk(app: Any, store: Any, versions: Any = None) -> PolicyDesk:
    """The policy as a run applies it; ``versions``: the published journey versions when
    the caller holds them already."""
    settings = app.settings
    return PolicyDesk(TemplateCatalog(settings.templates_dir), settings.thresholds,
                      settings.policy, live=settings.channels_in_force,
                      pinned=pinned_templates(published_versions(store) if versions is None
                                              else versions))


def held_for_review(app: Any) -> tuple[list[dict[str, Any]], int]:
    """The held messages from the read model as it is, and how far behind it is."""
    with store_of(app, read_only=True) as store:
        model = read_directory(store)
        rows = message_rows(model.directory.view) if model.directory else []
    return [row for row in rows if row["status"] == "held_for_review"], model.behind


def decide_review(app: Any, message: str, *, approve: bool, actor: str | None = None,
                  note: str | None = None) -> str:
    with store_of(app) as store:
        status = review.act(store, message, approve=approve, actor=actor or app.settings.actor,
                            note=note, now=app.now(), desk=policy_desk(app, store),
                            memory_for=lambda contact, events: contact_policy_memory(
                                store, contact, events, _trigger(events)))
        finish_write(app, store)
    return status


def _trigger(events: list[Any]) -> str | None:
    return next((e.trigger for e in events if isinstance(e, je.MessageScheduled)), None)
