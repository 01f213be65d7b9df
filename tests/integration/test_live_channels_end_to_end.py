"""`orchestrator run --channels live` on the demo's data, through all five adapters to
local servers: SendGrid, Twilio and Mastodon through their official SDKs to Prism mocks
that check every request against the providers' OpenAPI specs (a violation fails the
test), SMTP to a real aiosmtpd server, letters as print-house batches. No provider secret
reaches the output, the store or the batch files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.contract.channels.smtp_server import RecordingHandler, smtp_server, url_of
from tests.providers.channels import (
    MASTODON_ACCESS_TOKEN,
    SENDGRID_API_KEY,
    TWILIO_AUTH_TOKEN,
    live_environment,
)

from orchestrator.channels.live.batch_folder import verify_batch
from orchestrator.demo.population import DEMO_NOW, generate

REPOSITORY = Path(__file__).resolve().parents[2]
LINK_SECRET = "FAKE-SECRET-LINK-0123456789abcdef0123456789"
SECRETS = (SENDGRID_API_KEY, TWILIO_AUTH_TOKEN, MASTODON_ACCESS_TOKEN, LINK_SECRET)
CONTACTS = 400


def demo_store(url: str, folder: Path) -> list[str]:
    """The demo's population and journeys in a store, history caught up to the month
    before DEMO_NOW (as `orchestrator demo` does)."""
    population = folder / "population.jsonl"
    with population.open("w") as out:
        generate(out, contacts=CONTACTS, seed=7)
    common = ["--store", url, "--templates", str(REPOSITORY / "templates")]
    assert run_cli(*common, "ingest", str(population)).code == 0
    month_start = DEMO_NOW.replace(month=10).isoformat()
    assert run_cli(*common, "run", "--until", month_start, "--outbox",
                   str(folder / "history-outbox")).code == 0
    journeys = sorted(str(p) for p in (REPOSITORY / "examples" / "journeys").glob("*.yaml"))
    assert run_cli(*common, "journeys", "publish", *journeys).code == 0
    return common


def live_run(common: list[str], environ: dict[str, str]):
    return run_cli(*common, "run", "--until", DEMO_NOW.isoformat(), "--channels", "live",
                   environ=environ)


def base_environment(folder: Path) -> dict[str, str]:
    return {"ORCHESTRATOR_MAIL_DIR": str(folder / "print"),
            "ORCHESTRATOR_POSTAL_ADDRESS": "The shop, 1 Example Street, London EC1A 1AA, UK",
            "ORCHESTRATOR_PUBLIC_URL": "https://messages.shop.example",
            "ORCHESTRATOR_LINK_SECRET": LINK_SECRET}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_a_live_run_sends_through_sendgrid_twilio_mastodon_and_print(
        store_url, tmp_path, provider_mocks, sendgrid_mock, twilio_mock, mastodon_mock):
    common = demo_store(store_url, tmp_path)
    environ = {**live_environment(provider_mocks), **base_environment(tmp_path)}
    before = {m["id"] for m in json.loads(run_cli(*common, "messages", "--json").out)}

    result = live_run(common, environ)

    assert result.code == 0, result.err
    assert "live channels: email, mail, sms, social" in result.out
    assert "email via SendGrid" in result.out and "sms via Twilio" in result.out
    # The summary gives the dispatch phase's time and rate.
    assert re.search(r"live channels: [\d,]+ sent .* to retry in [\d.]+ s \([\d,]+ msg/s\)",
                     result.out), result.out
    messages = json.loads(run_cli(*common, "messages", "--json").out)
    # The catch-up before the journeys went live answered SMS HELPs on dry-run channels.
    live = {m["id"] for m in messages if m["status"] == "sent"} - before
    sent = Counter(m["channel"] for m in messages if m["id"] in live)
    assert {"email", "sms", "social"} <= set(sent), sent
    # Every send reached its provider once, and each provider saw exactly those.
    mails = sendgrid_mock.requests("/v3/mail/send", "POST")
    assert len(mails) == sent["email"]
    assert {m.json()["custom_args"]["message"] for m in mails} == {
        m["id"] for m in messages if m["id"] in live and m["channel"] == "email"}
    callbacks = [e.form()["StatusCallback"] for e in twilio_mock.requests(None, "POST")]
    assert sorted(url.split("?message=")[1] for url in callbacks) == sorted(
        m["id"] for m in messages if m["channel"] == "sms" and m["id"] in live)
    assert len(mastodon_mock.requests(None, "POST")) == sent["social"]
    for mock in (sendgrid_mock, twilio_mock, mastodon_mock):
        mock.assert_no_violations()
    if sent["mail"]:
        # One batch per day of sending (the Monday broadcast's letters, every Monday).
        batches = sorted((tmp_path / "print").iterdir())
        assert batches
        for batch in batches:
            assert verify_batch(batch) == []
    export = run_cli(*common, "audit", "export").out
    assert_no_secret(result.out, result.err, export)


def test_a_live_run_sends_email_through_smtp(store_url, tmp_path):
    handler = RecordingHandler()
    with smtp_server(handler) as server:
        common = demo_store(store_url, tmp_path)
        environ = {**base_environment(tmp_path), "ORCHESTRATOR_SMTP_URL": url_of(server),
                   "ORCHESTRATOR_EMAIL_FROM": "The shop <hello@shop.example>"}
        result = live_run(common, environ)

    assert result.code == 0, result.err
    assert "email via SMTP" in result.out
    messages = json.loads(run_cli(*common, "messages", "--json").out)
    emailed = {m["id"] for m in messages if m["status"] == "sent" and m["channel"] == "email"}
    assert emailed
    assert len(handler.received) == len(emailed)
    for received in handler.received:
        email = received.email()
        assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert email["List-Unsubscribe"].startswith("<https://messages.shop.example/unsubscribe/")
    assert_no_secret(result.out, result.err)


@pytest.mark.parametrize("missing", ["ORCHESTRATOR_LINK_SECRET"])
def test_live_email_without_a_link_secret_is_refused(sqlite_url, tmp_path, missing):
    environ = {"ORCHESTRATOR_SMTP_URL": "smtp://127.0.0.1:1",
               "ORCHESTRATOR_EMAIL_FROM": "The shop <hello@shop.example>"}
    result = run_cli("--store", sqlite_url, "run", "--until", DEMO_NOW.isoformat(),
                     "--channels", "live", environ=environ)
    assert result.code == 2
    assert missing in result.err
