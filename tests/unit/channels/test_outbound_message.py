"""An OutboundMessage refuses, when built, what no channel could ever send."""

from __future__ import annotations

import pytest

from orchestrator.channels.errors import MessageInvalid, PermanentRejection
from orchestrator.channels.message import InReplyTo, OutboundMessage

ADDRESS = {"line1": "1 High Street", "city": "London", "postcode": "N1 1AA", "country": "GB"}


def build(channel: str = "sms", message_id: str = "m-1", **fields) -> OutboundMessage:
    defaults = {"email": {"to_address": "ada@example.com"},
                "sms": {"to_address": "+447700900123"},
                "mail": {"to_address": ADDRESS},
                "social": {}}[channel]
    return OutboundMessage(message_id=message_id, channel=channel, **{**defaults, **fields})


@pytest.mark.parametrize("message_id", ["", "../etc/passwd", "a/b", ".hidden", "a b",
                                        "a\nb", "x" * 201, "é"])
def test_a_message_id_that_could_not_name_an_outbox_file_is_refused(message_id):
    with pytest.raises(MessageInvalid, match="message id"):
        build(message_id=message_id)


@pytest.mark.parametrize("message_id", ["m-1", "0193a6f2-7c1e-7e55-9d7b-3f1c2a9b8e10",
                                        "journey:C1:offer", "a.b_c@d+e=f"])
def test_usable_message_ids(message_id):
    assert build(message_id=message_id).message_id == message_id


def test_an_unknown_channel_is_refused():
    with pytest.raises(MessageInvalid, match="unknown channel 'fax'"):
        OutboundMessage(message_id="m-1", channel="fax")  # type: ignore[arg-type]


@pytest.mark.parametrize("channel, to_address", [
    ("email", "not-an-address"), ("email", "ada@example.com\r\nBcc: x@evil.example"),
    ("email", "Ada <ada@example.com>"), ("email", None), ("email", ADDRESS),
    ("sms", "07700900123"), ("sms", "+0123"), ("sms", "+44 7700 900123"), ("sms", None),
    ("mail", None), ("mail", "1 High Street"),
])
def test_a_recipient_of_the_wrong_shape_is_refused(channel, to_address):
    with pytest.raises(MessageInvalid):
        build(channel, to_address=to_address)


def test_refusals_are_permanent_rejections_and_value_errors():
    with pytest.raises(PermanentRejection) as caught:
        build("sms", to_address="nope")
    assert isinstance(caught.value, ValueError)
    assert not caught.value.retryable


def test_only_a_social_post_replies_to_a_status():
    assert build("social", in_reply_to=InReplyTo("mastodon", "1")).in_reply_to.status_id == "1"
    with pytest.raises(MessageInvalid, match="public social post"):
        build("email", in_reply_to=InReplyTo("mastodon", "1"))


@pytest.mark.parametrize("network, status_id", [("", "1"), ("mastodon", "")])
def test_a_reply_needs_network_and_status(network, status_id):
    with pytest.raises(MessageInvalid, match="network and a status id"):
        InReplyTo(network, status_id)


def test_the_idempotency_key_is_derived_from_channel_and_message_id():
    assert build("sms").idempotency_key == build("sms").idempotency_key
    assert build("sms").idempotency_key != build("sms", "m-2").idempotency_key
    assert build("sms").idempotency_key != build("email").idempotency_key
    assert build("sms", idempotency_key="given").idempotency_key == "given"


def test_metadata_and_postal_address_are_read_only_copies():
    metadata = {"journey": "second-purchase"}
    address = dict(ADDRESS)
    message = build("mail", to_address=address, metadata=metadata)
    metadata["journey"] = "changed"
    address["city"] = "changed"
    assert message.metadata["journey"] == "second-purchase"
    assert message.postal_address()["city"] == "London"
    with pytest.raises(TypeError):
        message.metadata["journey"] = "x"  # type: ignore[index]


def test_a_message_is_hashable_and_compares_by_value():
    assert build("mail") == build("mail")
    assert hash(build("sms")) == hash(build("sms"))


def test_optional_postal_fields_may_be_none():
    message = build("mail", to_address={**ADDRESS, "name": None, "line2": None})
    assert message.postal_address()["name"] is None
