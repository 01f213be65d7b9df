"""Helpers for the `serve` tests: the app over a real store at the suite's fixed clock,
SendGrid and Twilio signatures made with the providers' own SDK helpers, and a world with
a message really sent (dry-run channels) to receive feedback about."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhookHeader
from tests.conftest import TEST_NOW, fixed_clock
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase
from twilio.request_validator import RequestValidator

with warnings.catch_warnings():
    # Starlette 1.10 would rather drive its TestClient with httpx2, which is not in the
    # environment; httpx (0.29, installed) still works, and only this import warns.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

# Recognisable fakes: no response, log line or exception may ever show them.
LINK_SECRET = "FAKE-LINK-SECRET-d2f0c7a1b9e84f5c8e7d6a5b4c3d2e1f"
TWILIO_TOKEN = "FAKE-TWILIO-TOKEN-7e1c0b9a8f7e6d5c"
PUBLIC_URL = "https://hooks.example.com"
EMAIL, PHONE = "ada@example.com", "+447700900123"
AT = "2026-03-02T10:00:00+00:00"
SENT_BY = "2026-03-03T00:00:00+00:00"
THANKS_EACH_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
reentry: 1d
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""


class SendGridSigner:
    """A key pair of our own, signing as SendGrid does (webhook_signing_demo.py)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = base64.b64encode(self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).decode()

    def headers(self, raw: str, at: datetime = TEST_NOW) -> dict[str, str]:
        timestamp = str(int(at.timestamp()))
        signature = base64.b64encode(self.key.sign((timestamp + raw).encode(),
                                                   ec.ECDSA(hashes.SHA256()))).decode()
        return {EventWebhookHeader.SIGNATURE: signature,
                EventWebhookHeader.TIMESTAMP: timestamp,
                "Content-Type": "application/json"}


def twilio_headers(path_and_query: str, params: dict[str, str],
                   token: str = TWILIO_TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path_and_query, params)
    return {"X-Twilio-Signature": signature}


def sendgrid_event(message: str | None, event: str = "delivered", event_id: str = "ev1",
                   timestamp: int = 1772445600, **extra: Any) -> dict[str, Any]:
    found = {"email": EMAIL, "timestamp": timestamp, "event": event, "sg_event_id": event_id,
             "sg_message_id": "sgm1.filter", **extra}
    if message is not None:
        found["message"] = message
    return found


def environ(store_url: str, signer: SendGridSigner | None = None,
            **extra: str) -> dict[str, str]:
    found = {"ORCHESTRATOR_STORE": store_url, "ORCHESTRATOR_LINK_SECRET": LINK_SECRET,
             "ORCHESTRATOR_PUBLIC_URL": PUBLIC_URL, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
             "ORCHESTRATOR_BRAND_NAME": "Hopper Coffee"}
    if signer is not None:
        found["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key
    return {**found, **extra}


@contextmanager
def served(env: dict[str, str], clock=None) -> Iterator[TestClient]:
    from orchestrator import bootstrap
    from orchestrator.service.app import create_app
    application = bootstrap.build(environ=env, clock=clock or fixed_clock())
    with TestClient(create_app(application)) as client:
        yield client


class SentWorld(JourneyWorld):
    """One customer, one thank-you message sent by email (or SMS) on dry-run channels."""

    def __init__(self, cli, store_url, folder, channel: str = "email"):
        super().__init__(cli, store_url, folder)
        self.publish(THANKS_EACH_PURCHASE)
        self.ingest(contact("c", AT, email=EMAIL, phone=PHONE, timezone="Europe/London"),
                    consent("g", AT, channel=channel), purchase("p1", AT))
        self.run(SENT_BY)
        [self.message] = self.messages()
        assert (self.message["status"], self.message["channel"]) == ("sent", channel)

    def status(self, message_id: str | None = None) -> str:
        wanted = message_id or self.message["id"]
        return next(m["status"] for m in self.messages() if m["id"] == wanted)

    def touchpoints(self, prefix: str) -> list[dict]:
        result = self.run_cli("audit", "export", "--format", "jsonl")
        assert result.code == 0, result.err
        return [e for e in map(json.loads, result.out.splitlines())
                if str(e.get("touchpoint_id", "")).startswith(prefix)]

    def suppressions(self) -> dict[str, str]:
        result = self.run_cli("audit", "contact", "C1", "--as-of",
                              "2026-12-31T00:00:00+00:00", "--json")
        assert result.code == 0, result.err
        return {s["channel"]: s["reason"] for s in json.loads(result.out)["suppressions"]}

    def next_purchase_message(self, until: str = "2026-12-03T00:00:00+00:00") -> dict:
        self.ingest(purchase("p2", "2026-12-02T13:00:00+00:00"))  # after TEST_NOW
        self.run(until)
        [later] = [m for m in self.messages() if m["id"] != self.message["id"]]
        return later
