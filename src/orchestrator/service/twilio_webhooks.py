"""``POST /webhooks/twilio/status`` and ``POST /webhooks/twilio/inbound``.

Both are checked with the SDK's ``RequestValidator`` and ``TWILIO_AUTH_TOKEN`` over the
URL Twilio called, which is ``ORCHESTRATOR_PUBLIC_URL`` + the path + the query string as
received (our status callbacks carry ``?message=<our message id>``, so the signature covers
it too), and every form field. Twilio callbacks carry no time of their own: a touchpoint's
``at`` is the moment it arrived.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from orchestrator.application.receiving import Feedback, InboundSms
from orchestrator.service.context import Service, forbidden, not_configured

log = logging.getLogger(__name__)

TOKEN_VARIABLE = "TWILIO_AUTH_TOKEN"
SIGNATURE_HEADER = "X-Twilio-Signature"
# MessageStatus -> touchpoint type. The others (queued, sending, sent, accepted,
# scheduled, canceled, ...) are acknowledged and not recorded: they say the message is on
# its way, and a status never moves back anyway.
TOUCHPOINT_OF = {"delivered": "message.delivered", "read": "message.opened",
                 "undelivered": "message.bounced", "failed": "message.bounced"}
# Empty TwiML: Twilio sends nothing of its own. A HELP answer goes through the journey
# engine, decided by the policy and recorded like any other message.
EMPTY_TWIML = "<Response/>"

Form = ImmutableMultiDict[str, str]


def routes(service: Service) -> list[Route]:
    token = service.settings.providers.twilio_auth_token
    validator = RequestValidator(token.reveal()) if token is not None else None
    public_url = service.settings.public_url

    async def verified_form(request: Request) -> Form | Response:
        if validator is None:
            return not_configured(TOKEN_VARIABLE)
        raw = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER)
        try:
            form = Form(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = None  # Twilio posts UTF-8; this was not signed by it
        query = request.scope["query_string"].decode("latin-1")
        url = public_url + request.url.path + (f"?{query}" if query else "")
        reason = ("missing" if not signature else
                  None if form is not None and validator.validate(url, form, signature)
                  else "invalid")
        if reason is not None:
            service.metrics.refused("twilio", reason)
            log.warning("twilio webhook refused: %s signature on %s", reason,
                        request.url.path)
            return forbidden()
        return form

    async def status(request: Request) -> Response:
        form = await verified_form(request)
        if isinstance(form, Response):
            return form
        sid = form.get("MessageSid") or form.get("SmsSid")
        state = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not state:
            return PlainTextResponse("MessageSid and MessageStatus are required\n",
                                     status_code=400)
        kind = TOUCHPOINT_OF.get(state)
        if kind is None:
            service.metrics.events.labels("twilio", "ignored").inc()
            return JSONResponse({"recorded": 0, "duplicates": 0, "ignored": 1})
        code = form.get("ErrorCode")
        reason = (f"twilio {code}: {state}" if code else f"twilio: {state}"
                  ) if kind == "message.bounced" else None
        feedback = Feedback(id=f"twilio:{sid}:{state}", type=kind,
                            at=service.application.now(),
                            message=request.query_params.get("message") or None,
                            provider_id=sid, reason=reason)
        receipt = await run_in_threadpool(service.receiving.feedback, [feedback],
                                          source="twilio")
        service.metrics.received("twilio", receipt)
        return JSONResponse({"recorded": receipt.recorded, "duplicates": receipt.duplicates,
                             "ignored": receipt.ignored})

    async def inbound(request: Request) -> Response:
        form = await verified_form(request)
        if isinstance(form, Response):
            return form
        sid, phone = form.get("MessageSid") or form.get("SmsSid"), form.get("From")
        if not sid or not phone:
            return PlainTextResponse("MessageSid and From are required\n", status_code=400)
        sms = InboundSms(id=f"twilio:{sid}", at=service.application.now(), phone=phone,
                         body=form.get("Body", ""),
                         opt_out_type=form.get("OptOutType") or None)
        receipt = await run_in_threadpool(service.receiving.inbound_sms, sms,
                                          source="twilio")
        service.metrics.received("twilio", receipt)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return [Route("/webhooks/twilio/status", status, methods=["POST"]),
            Route("/webhooks/twilio/inbound", inbound, methods=["POST"])]
