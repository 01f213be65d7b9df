"""``POST /webhooks/sendgrid``: SendGrid's signed Event Webhook.

The signature (ECDSA P-256 over the timestamp header + the RAW body) is checked with the
SDK's ``EventWebhook`` and ``SENDGRID_WEBHOOK_PUBLIC_KEY``; a timestamp more than
``MAX_SKEW`` from now, either way, is refused like a forged signature, so a captured
request cannot be replayed later. Each event becomes at most one touchpoint, id
``sendgrid:<sg_event_id>``, about the message named by our ``message`` custom arg.
"""

from __future__ import annotations

import binascii
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from orchestrator.application.receiving import Feedback
from orchestrator.errors import UsageError
from orchestrator.service.context import Service, forbidden, not_configured

log = logging.getLogger(__name__)

PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
MAX_SKEW = timedelta(minutes=10)

# SendGrid event -> touchpoint type. Not recorded (acknowledged only): processed and
# deferred (the message is on its way; a status never moves back to them anyway) and
# group_resubscribe (consent is granted through ingest, with its evidence, not by a click).
TOUCHPOINT_OF = {
    "delivered": "message.delivered", "open": "message.opened", "click": "message.clicked",
    "bounce": "message.bounced", "dropped": "message.bounced",
    "spamreport": "message.complained",
    "unsubscribe": "message.unsubscribed", "group_unsubscribe": "message.unsubscribed",
}


def routes(service: Service) -> list[Route]:
    verifier = verifier_for(service.settings.providers.sendgrid_webhook_public_key)

    async def events(request: Request) -> Response:
        if verifier is None:
            return not_configured(PUBLIC_KEY_VARIABLE)
        raw = await request.body()
        refusal = refusal_of(verifier, raw, request.headers, service.application.now())
        if refusal is not None:
            service.metrics.refused("sendgrid", refusal)
            log.warning("sendgrid webhook refused: %s signature", refusal)
            return forbidden()
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("malformed JSON\n", status_code=400)
        if not isinstance(payload, list):
            return PlainTextResponse("expected a JSON array of events\n", status_code=400)
        translated = translate(payload)
        receipt = await run_in_threadpool(service.receiving.feedback, translated.feedback,
                                          source="sendgrid")
        service.metrics.received("sendgrid", receipt, ignored_before=translated.ignored)
        return JSONResponse({"recorded": receipt.recorded, "duplicates": receipt.duplicates,
                             "ignored": receipt.ignored + translated.ignored})

    return [Route("/webhooks/sendgrid", events, methods=["POST"])]


def verifier_for(public_key: str | None) -> EventWebhook | None:
    if not public_key:
        return None
    try:
        return EventWebhook(public_key.strip())
    except (ValueError, TypeError):
        raise UsageError(f"{PUBLIC_KEY_VARIABLE}: not an ECDSA public key; paste the "
                         "verification key SendGrid shows for the signed Event Webhook "
                         "(base64, without the PEM lines)") from None


def refusal_of(verifier: EventWebhook, raw: bytes, headers: Any, now: datetime) -> str | None:
    """Why the request is refused (``missing``, ``stale``, ``invalid``), or None."""
    signature = headers.get(EventWebhookHeader.SIGNATURE)
    timestamp = headers.get(EventWebhookHeader.TIMESTAMP)
    if not signature or not timestamp:
        return "missing"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "invalid"
    if abs(now.timestamp() - int(timestamp)) > MAX_SKEW.total_seconds():
        return "stale"
    try:
        valid = verifier.verify_signature(raw.decode("utf-8"), signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError):
        valid = False  # not UTF-8 (SendGrid signs UTF-8 JSON), or not base64 DER at all
    return None if valid else "invalid"


@dataclass
class Translation:
    feedback: list[Feedback] = field(default_factory=list)
    ignored: int = 0  # events we do not record, or not about a message of ours


def translate(events: list[Any]) -> Translation:
    translation = Translation()
    for event in events:
        feedback = _feedback(event) if isinstance(event, dict) else None
        if feedback is None:
            translation.ignored += 1
        else:
            translation.feedback.append(feedback)
    return translation


def _feedback(event: dict[str, Any]) -> Feedback | None:
    kind = TOUCHPOINT_OF.get(event.get("event"))  # type: ignore[arg-type]
    message, event_id, timestamp = (event.get("message"), event.get("sg_event_id"),
                                    event.get("timestamp"))
    if kind is None or not isinstance(message, str) or not message:
        return None  # a kind we do not record, or mail that is not one of our messages
    if not isinstance(event_id, str) or not event_id or not _unix_time(timestamp):
        log.warning("sendgrid event ignored: no sg_event_id or timestamp")
        return None
    try:
        at = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        log.warning("sendgrid event ignored: timestamp out of range")
        return None
    reason = bounce_reason(event) if kind == "message.bounced" else None
    return Feedback(id=f"sendgrid:{event_id}", type=kind, at=at, message=message,
                    reason=reason)


def _unix_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def bounce_reason(event: dict[str, Any]) -> str:
    """``sendgrid KIND: STATUS REASON`` (KIND is bounce, blocked or dropped): SendGrid's own
    words, so domain/suppressions.py can tell a hard bounce from a soft one."""
    kind = event.get("type") if event.get("event") == "bounce" else "dropped"
    reason = _text(event.get("reason"))
    status = _text(event.get("status"))
    words = [status] if status and status not in reason else []
    detail = " ".join(words + ([reason] if reason else []))
    kind = _text(kind) or "bounce"
    return f"sendgrid {kind}: {detail}" if detail else f"sendgrid {kind}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
