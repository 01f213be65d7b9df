"""``orchestrator audit why MESSAGE_ID``: the chain of facts behind one message.

Every link is read from the ledger by key (the message's stream, its enrolment's stream,
the triggering touchpoint by its id, the contact's streams, the journey's stream), so the
answer costs the same on a small store and on a large one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from orchestrator.campaigns.runtime.versions import journey_stream
from orchestrator.domain import journey_events as je
from orchestrator.domain import message_lifecycle as lifecycle
from orchestrator.domain import subjects
from orchestrator.domain.stages import StageThresholds
from orchestrator.errors import UsageError
from orchestrator.projections.contact_directory import public_recipient
from orchestrator.store import Store
from orchestrator.store.reader import contact_state, stream_events, touchpoint_event


def why(store: Store, message_id: str, thresholds: StageThresholds) -> dict[str, Any]:
    events = stream_events(store, subjects.message_stream(message_id))
    scheduled = next((e for e in events if isinstance(e, je.MessageScheduled)), None)
    if scheduled is None:
        raise UsageError(f"no message {message_id!r} in this store")
    enrolment = stream_events(store, UUID(scheduled.enrolment))
    decisions = [e for e in events if isinstance(e, je.MessageDecided)]
    # The facts as of the decision that settled the message (after any deferral).
    decided_at = datetime.fromisoformat(decisions[-1].at if decisions else scheduled.at)
    contact = public_recipient(scheduled)
    standing = lifecycle.fold(events)
    return {
        "message": message_id,
        "contact": contact,
        "journey": _journey(store, scheduled),
        "step": scheduled.step,
        "intent": scheduled.intent,
        "audience": scheduled.audience,
        "template": scheduled.template,
        "rendered": _rendered(events),
        "scheduled_at": scheduled.at,
        "trigger": _trigger(store, scheduled.trigger),
        "enrolment": {
            "id": scheduled.enrolment,
            "entered_at": next((e.at for e in enrolment if isinstance(e, je.ContactEnrolled)),
                               None),
            "path": [{"step": e.step, "kind": e.kind, "at": e.at, "goto": e.goto}
                     for e in enrolment if isinstance(e, je.StepEntered)],
            "waits": [{"step": e.step, "outcome": e.outcome, "touchpoint": e.touchpoint,
                       "touchpoint_type": e.touchpoint_type, "at": e.at}
                      for e in enrolment if isinstance(e, je.WaitEnded)],
            "ended": next(({"reason": e.reason, "at": e.at} for e in enrolment
                           if isinstance(e, je.EnrolmentEnded)), None),
        },
        "contact_at_decision": _contact_then(store, contact, decided_at, thresholds),
        "decisions": [{"status": d.status, "channel": d.channel, "rule": d.rule,
                       "reason": d.reason, "facts": d.facts, "not_before": d.not_before,
                       "at": d.at} for d in decisions],
        "channel": standing.channel,
        "status": standing.status,
        "provider": next(({"provider_id": e.provider_id, "channel": e.channel, "at": e.at}
                          for e in events if isinstance(e, je.MessageSent)), None),
        "history": [entry for entry in map(lifecycle.history_entry, events) if entry],
    }


def _journey(store: Store, scheduled: je.MessageScheduled) -> dict[str, Any]:
    published = next((e for e in stream_events(store, journey_stream(scheduled.journey))
                      if e.version == scheduled.version), None)
    info: dict[str, Any] = {"id": scheduled.journey, "version": scheduled.version}
    if published is not None:
        info.update(digest=published.digest, published_by=published.author,
                    published_at=published.published_at, source_path=published.source_path)
    return info


def _rendered(events: list[Any]) -> dict[str, Any] | None:
    """The template's digest and the content as sent (``[erased]`` once the contact is
    forgotten); None for a message not sent, or sent before this was recorded."""
    rendered = next((e for e in events if isinstance(e, je.MessageRendered)), None)
    if rendered is None:
        return None
    content = rendered.content
    if not isinstance(content, dict):  # erased (or unreadable): the marker itself
        content = dict.fromkeys(("subject", "text", "html"), content)
    return {"template": rendered.template, "template_digest": rendered.template_digest,
            "at": rendered.at, "subject": content.get("subject"),
            "text": content.get("text"), "html": content.get("html")}


def _trigger(store: Store, trigger: str) -> dict[str, Any]:
    if trigger.startswith("cron:"):
        return {"type": "schedule", "at": trigger.removeprefix("cron:")}
    recorded = touchpoint_event(store, trigger)
    if recorded is None:
        return {"touchpoint": trigger, "type": "stage.entered" if ":stage:" in trigger
                else "unknown"}
    fields = {k: v for k, v in vars(recorded.event).items()
              if k not in ("originator_id", "originator_version", "timestamp")}
    return {"position": recorded.position, "type": type(recorded.event).__name__, **fields}


def _contact_then(store: Store, contact: str | None, moment: datetime,
                  thresholds: StageThresholds) -> dict[str, Any] | None:
    if contact is None:
        return None
    # Read by key only (the answer costs the same on any store): suppressions that
    # feedback caused are in the decision's own facts (``CHANNEL.suppression``).
    state = contact_state(store, contact, moment)
    if state is None:
        return None
    return {
        "as_of": moment.isoformat(),
        "stage": state.stage(moment, thresholds),
        "kind": state.kind if state.known else "unknown",
        "consents": [{"channel": c.channel, "purpose": c.purpose,
                      "status": "granted" if c.granted else "withdrawn", "at": c.at,
                      "source": c.source, "touchpoint": c.touchpoint}
                     for c in sorted(state.consents.values(),
                                     key=lambda c: (c.channel, c.purpose))],
        "suppressions": [{"channel": s.channel, "reason": s.reason, "at": s.at}
                         for s in state.suppressions.values()],
        "erased": state.erased,
    }
