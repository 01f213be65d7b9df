"""The live HTTP adapters (SendGrid, Twilio, Mastodon) through their official SDKs,
against Prism validating each request on the provider's own OpenAPI spec.

The same :class:`ChannelContract` as the dry-run and in-memory adapters, with what was
"recorded" read from the recording proxy; then what each provider must receive. Every
test that sends fails if Prism saw a request violation (the ``*_mock`` fixtures)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.contract.channels.support import POSTAL_ADDRESS, UNSUBSCRIBE_URL, message, reply
from tests.contract.channels.test_channel_contract import ChannelContract
from tests.providers.channels import (
    EMAIL_FROM,
    MASTODON_ACCESS_TOKEN,
    MASTODON_NOTIFICATIONS,
    MASTODON_STATUSES,
    SENDGRID_API_KEY,
    SENDGRID_SEND,
    STATUS_CALLBACK_URL,
    TWILIO_FROM,
    TWILIO_MESSAGES,
    mastodon_channel,
    mastodon_mentions,
    posted_statuses,
    sendgrid_channel,
    sent_mails,
    sent_sms,
    twilio_channel,
)
from tests.providers.mocks import Fault

from orchestrator.channels.errors import MessageInvalid
from orchestrator.channels.message import OutboundMessage

# The contract, once per adapter -------------------------------------------------------


class TestSendGridContract(ChannelContract):
    kind = "email"

    @pytest.fixture
    def channel(self, sendgrid_mock):
        self.mock = sendgrid_mock
        return sendgrid_channel(sendgrid_mock)

    def recorded(self, channel):
        return sent_mails(self.mock)

    def recipient(self, channel, message_id):
        [mail] = [e.json() for e in self.mock.requests(SENDGRID_SEND)
                  if e.json()["custom_args"]["message"] == message_id]
        return mail["personalizations"][0]["to"][0]["email"]


class TestTwilioContract(ChannelContract):
    kind = "sms"

    @pytest.fixture
    def channel(self, twilio_mock):
        self.mock = twilio_mock
        return twilio_channel(twilio_mock)

    def recorded(self, channel):
        return sent_sms(self.mock)

    def recipient(self, channel, message_id):
        [form] = [e.form() for e in self.mock.requests(TWILIO_MESSAGES)
                  if f"message={message_id}" in e.form()["StatusCallback"]]
        return form["To"]


class TestMastodonContract(ChannelContract):
    kind = "social"

    @pytest.fixture
    def channel(self, mastodon_mock):
        self.mock = mastodon_mock
        self.ids_by_key: dict[str, str] = {}
        return mastodon_channel(mastodon_mock)

    def message(self, message_id="m-1", **overrides: Any) -> OutboundMessage:
        # A status carries no message id; the Idempotency-Key (derived from it) tells
        # which message a post was.
        built = super().message(message_id, **overrides)
        self.ids_by_key[built.idempotency_key] = message_id
        return built

    def recorded(self, channel):
        return {self.ids_by_key[key]: body for key, body in posted_statuses(self.mock).items()}

    def recipient(self, channel, message_id):
        [body] = [e.json() for e in self.mock.requests(MASTODON_STATUSES)]
        assert set(body) <= {"status", "visibility", "in_reply_to_id"}
        return None


# SendGrid: what the Mail Send request holds -------------------------------------------


def _only_mail(mock) -> tuple[dict[str, Any], Any]:
    [exchange] = mock.requests(SENDGRID_SEND, "POST")
    return exchange.json(), exchange


def test_sendgrid_mail_carries_rfc8058_headers_footers_and_our_message_id(sendgrid_mock):
    result = sendgrid_channel(sendgrid_mock).send(message("email", "m-42"))

    mail, exchange = _only_mail(sendgrid_mock)
    assert mail["headers"]["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["headers"]["Message-ID"] == "<m-42@shop.example>"
    assert mail["custom_args"] == {"message": "m-42"}  # nothing else, nothing personal
    assert mail["from"] == {"email": "hello@shop.example", "name": "The shop"}
    assert [part["type"] for part in mail["content"]] == ["text/plain", "text/html"]
    for part in mail["content"]:
        assert POSTAL_ADDRESS in part["value"] and "unsubscribe/m-1" in part["value"]
    assert exchange.header("Authorization") == f"Bearer {SENDGRID_API_KEY}"
    assert (exchange.provider_status, result.provider_id) == (202, "m-42")


def test_sendgrid_custom_args_hold_no_personal_data(sendgrid_mock):
    personal = message("email", "m-1", contact_key="C-SECRET-KEY",
                       metadata={"journey": "thanks", "email": "ada@example.com"})
    sendgrid_channel(sendgrid_mock).send(personal)

    mail, _ = _only_mail(sendgrid_mock)
    custom = str(mail["custom_args"])
    for private in ("ada@example.com", "C-SECRET-KEY", "thanks", "Ada"):
        assert private not in custom


def test_sendgrid_mail_without_an_unsubscribe_link_has_no_list_headers(sendgrid_mock):
    sendgrid_channel(sendgrid_mock).send(message("email", "m-1", unsubscribe_url=None))

    mail, _ = _only_mail(sendgrid_mock)
    assert "List-Unsubscribe" not in mail["headers"]
    assert "List-Unsubscribe-Post" not in mail["headers"]


def test_sendgrid_provider_id_is_the_x_message_id_header(sendgrid_mock):
    sendgrid_mock.inject(Fault.after_forwarding(202, headers={"X-Message-Id": "sg-abc123"}))
    assert sendgrid_channel(sendgrid_mock).send(message("email")).provider_id == "sg-abc123"


def test_sendgrid_sender_name_and_address_come_from_the_sender(sendgrid_mock):
    assert EMAIL_FROM.startswith("The shop")
    sendgrid_channel(sendgrid_mock).send(message("email", "m-1", html=None))

    mail, _ = _only_mail(sendgrid_mock)
    assert [part["type"] for part in mail["content"]] == ["text/plain"]


# Twilio: what the Messages create request holds --------------------------------------


def test_twilio_sends_to_body_from_and_a_status_callback_with_only_our_id(twilio_mock):
    sms = message("sms", "m-7")
    result = twilio_channel(twilio_mock).send(sms)

    [exchange] = twilio_mock.requests(TWILIO_MESSAGES, "POST")
    form = exchange.form()
    assert (form["To"], form["From"], form["Body"]) == (sms.to_address, TWILIO_FROM, sms.text)
    callback = urlsplit(form["StatusCallback"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == STATUS_CALLBACK_URL
    assert parse_qs(callback.query) == {"message": ["m-7"]}
    assert "+44" not in form["StatusCallback"] and "@" not in form["StatusCallback"]
    assert result.provider_id.startswith("SM")


def test_twilio_can_send_through_a_messaging_service(twilio_mock):
    channel = twilio_channel(twilio_mock, from_number=None,
                             messaging_service_sid="MG" + "0123456789abcdef" * 2)
    channel.send(message("sms"))

    [exchange] = twilio_mock.requests(TWILIO_MESSAGES, "POST")
    assert exchange.form()["MessagingServiceSid"].startswith("MG")
    assert "From" not in exchange.form()


def test_twilio_refuses_more_than_ten_segments_before_any_request(twilio_mock):
    channel = twilio_channel(twilio_mock)
    channel.send(message("sms", "m-ok", text="ą" * 670))  # UCS-2: 10 segments of 67
    with pytest.raises(MessageInvalid, match="11 UCS-2 segments"):
        channel.send(message("sms", "m-long", text="ą" * 671))
    assert list(sent_sms(twilio_mock)) == ["m-ok"]


# Mastodon: what the status post holds -------------------------------------------------


def test_mastodon_posts_json_with_the_messages_idempotency_key(mastodon_mock):
    post = message("social", "m-1")
    result = mastodon_channel(mastodon_mock).send(post)

    [exchange] = mastodon_mock.requests(MASTODON_STATUSES, "POST")
    assert exchange.header("Content-Type") == "application/json"
    assert exchange.header("Idempotency-Key") == post.idempotency_key
    assert exchange.header("Authorization") == f"Bearer {MASTODON_ACCESS_TOKEN}"
    assert exchange.json() == {"status": post.text, "visibility": "public"}
    assert result.provider_id == "103254962155278888"  # the spec's example status


def test_mastodon_reply_uses_in_reply_to_id(mastodon_mock):
    mastodon_channel(mastodon_mock).send(reply("m-9", status_id="109876"))

    [exchange] = mastodon_mock.requests(MASTODON_STATUSES, "POST")
    assert exchange.json()["in_reply_to_id"] == "109876"


def test_mastodon_mentions_are_read_from_mention_notifications(mastodon_mock):
    mentions = mastodon_mentions(mastodon_mock).since(None)

    # The spec's example holds a mention and a favourite; only the mention counts.
    [mention] = mentions
    assert mention.status_id == "103186126728896492"
    assert mention.touchpoint_id == "mastodon:103186126728896492"
    assert mention.account == "zsc"
    assert mention.text == "@trwnh sup!"
    assert mention.created_at.isoformat() == "2019-11-23T07:49:01.940000+00:00"
    [exchange] = mastodon_mock.requests(MASTODON_NOTIFICATIONS, "GET")
    assert exchange.query["types[]"] == ["mention"]


def test_mastodon_mentions_since_a_cursor_skip_what_was_read(mastodon_mock):
    reader = mastodon_mentions(mastodon_mock)
    assert reader.since("34975861") == []

    [exchange] = mastodon_mock.requests(MASTODON_NOTIFICATIONS, "GET")
    assert exchange.query["min_id"] == ["34975861"]

