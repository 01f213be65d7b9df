"""`orchestrator preview ... --send-to ADDRESS`: that rendering sent once, through the live
channel for the address, to a test address (never to the contact), recorded as a test
message that no message list, report or frequency cap counts. The live adapters go to
the Prism mocks of SendGrid and Twilio, which check every request against the providers'
OpenAPI specs."""

from __future__ import annotations

import json

import pytest
from tests.integration.test_preview import THANKS_ON_PURCHASE, Shop
from tests.providers.channels import SENDGRID_API_KEY, TWILIO_AUTH_TOKEN, live_environment
from tests.support import purchase

TEST_INBOX = "qa@shop.example"
TEST_PHONE = "+447700900999"


@pytest.fixture
def shop(cli, sqlite_url, tmp_path):
    return Shop(cli, sqlite_url, tmp_path)


def _events(shop: Shop, type_name: str) -> list[dict]:
    lines = [json.loads(line) for line in shop.run("audit", "export").out.splitlines()]
    return [line for line in lines if line["type"] == type_name]


def test_send_to_an_email_address_sends_once_through_sendgrid_and_records_a_test_message(
        shop, provider_mocks, sendgrid_mock):
    summary = shop.run("audit", "summary", "--json").out

    result = shop.run("preview", "thanks", "--contact", "C1", "--send-to", TEST_INBOX,
                      "--json", environ=live_environment(provider_mocks))

    assert result.code == 0, result.err
    shown = json.loads(result.out)
    test = shown["test_message"]
    assert test["channel"] == "email" and test["sent_to"] == TEST_INBOX
    assert list(shown["channels"]) == ["email"]
    [mail] = sendgrid_mock.requests("/v3/mail/send", "POST")
    body = mail.json()
    assert [to["email"] for p in body["personalizations"] for to in p["to"]] == [TEST_INBOX]
    assert body["custom_args"]["message"] == test["id"] == shown["message_id"]
    assert any("Hello Ana," in part["value"] for part in body["content"])
    assert "ana@example.org" not in json.dumps(body)  # the contact gets nothing
    sendgrid_mock.assert_no_violations()

    [fact] = _events(shop, "TestMessageSent")
    assert (fact["message"], fact["template"], fact["contact"], fact["channel"],
            fact["sent_to"]) == (test["id"], "thanks", "C1", "email", TEST_INBOX)
    assert fact["provider_id"] == test["provider_id"]
    # No message list, no summary counts it; the chain still verifies.
    assert json.loads(shop.run("messages", "--json").out) == []
    assert json.loads(shop.run("audit", "summary", "--json").out)["contacts"] == json.loads(
        summary)["contacts"]
    assert shop.run("audit", "verify").code == 0
    export = shop.run("audit", "export").out
    assert SENDGRID_API_KEY not in result.out + result.err + export


def test_send_to_a_phone_number_goes_through_twilio(shop, provider_mocks, twilio_mock):
    result = shop.run("preview", "thanks", "--contact", "C1", "--send-to", TEST_PHONE,
                      environ=live_environment(provider_mocks))

    assert result.code == 0, result.err
    assert f"sent once on sms to the test address {TEST_PHONE}" in result.out
    [sms] = twilio_mock.requests(None, "POST")
    assert sms.form()["To"] == TEST_PHONE
    assert sms.form()["Body"].startswith("The shop: thanks for your order, Ana!")
    twilio_mock.assert_no_violations()
    assert TWILIO_AUTH_TOKEN not in result.out + result.err
    assert [f["channel"] for f in _events(shop, "TestMessageSent")] == ["sms"]


def test_a_test_message_does_not_count_against_the_contacts_frequency_cap(
        shop, tmp_path, provider_mocks, sendgrid_mock):
    sent = shop.run("preview", "thanks", "--contact", "C1", "--send-to", TEST_INBOX,
                    environ=live_environment(provider_mocks))
    assert sent.code == 0, sent.err
    path = tmp_path / "j.yaml"
    path.write_text(THANKS_ON_PURCHASE)
    assert shop.run("journeys", "publish", str(path)).code == 0
    shop.ingest(purchase("p-ana", "2026-12-02T13:00:00+00:00", contact="C1"))

    ran = shop.run("run", "--until", "2026-12-02T13:30:00+00:00", "--outbox",
                   str(tmp_path / "outbox"))

    assert ran.code == 0, ran.out + ran.err
    [message] = json.loads(shop.run("messages", "--json").out)
    assert (message["channel"], message["status"]) == ("email", "sent")


@pytest.mark.parametrize(("args", "environ", "expected"), [
    (("--send-to", TEST_INBOX), {}, "--send-to: live email is not configured; set "
                                    "SENDGRID_API_KEY (or ORCHESTRATOR_SMTP_URL)"),
    (("--send-to", TEST_PHONE), {"SENDGRID_API_KEY": "SG.x",
                                 "ORCHESTRATOR_EMAIL_FROM": "The shop <hello@shop.example>"},
     "--send-to: live sms is not configured; set TWILIO_ACCOUNT_SID"),
    (("--send-to", "not an address"), {}, "is neither an email address nor a phone number"),
    (("--send-to", TEST_INBOX, "--channel", "sms"), {},
     f"--send-to: '{TEST_INBOX}' is an address for email, not sms"),
])
def test_send_to_is_refused_clearly_when_it_cannot_go_and_records_nothing(
        shop, args, environ, expected):
    before = shop.run("audit", "export").out

    result = shop.run("preview", "thanks", "--contact", "C1", *args, environ=environ)

    assert result.code == 2
    assert expected in result.err
    assert shop.run("audit", "export").out == before
