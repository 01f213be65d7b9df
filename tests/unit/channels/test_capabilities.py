"""What each channel kind accepts, declared once and enforced for every adapter."""

from __future__ import annotations

import pytest

from orchestrator.campaigns.language.vocabulary import CHANNEL_FILES
from orchestrator.channels.capabilities import CAPABILITIES
from orchestrator.channels.errors import MessageInvalid
from orchestrator.channels.memory import MemoryChannel
from orchestrator.channels.message import CHANNELS, OutboundMessage
from orchestrator.rendering.layout import CHANNEL_LAYOUTS, PUBLIC_CHANNELS

RECIPIENT = {"sms": "+447700900123", "social": None,
             "mail": {"line1": "1 High St", "city": "London", "postcode": "N1",
                      "country": "GB"}}


def test_one_capability_class_per_channel():
    assert sorted(CAPABILITIES) == sorted(CHANNELS)
    assert {name for name, kind in CAPABILITIES.items() if kind.public} == PUBLIC_CHANNELS


def test_the_renderer_and_the_journey_validator_agree_on_template_files():
    for channel, layout in CHANNEL_LAYOUTS.items():
        assert set(layout.body_files) == set(CHANNEL_FILES[channel])
        assert set(layout.parts()) - {"subject"} <= set(CAPABILITIES[channel].body_parts)


@pytest.mark.parametrize("channel, fields, reason", [
    ("sms", {"text": "hi", "subject": "S"}, "no subject line"),
    ("sms", {"text": "hi", "html": "<p>hi</p>"}, "cannot carry a html body"),
    ("social", {"text": "hi", "html": "<p>hi</p>"}, "cannot carry a html body"),
    ("mail", {"text": "hi"}, "cannot carry a text body"),
    ("mail", {"html": ""}, "no html body"),
    ("sms", {"text": "x" * 1601}, "limit is 1600"),
    ("social", {"text": "x" * 501}, "limit is 500"),
])
def test_a_message_beyond_the_channels_capabilities_is_refused(channel, fields, reason):
    message = OutboundMessage(message_id="m-1", channel=channel,
                              to_address=RECIPIENT[channel], **fields)
    with pytest.raises(MessageInvalid, match=reason):
        MemoryChannel.of(channel).send(message)


@pytest.mark.parametrize("fields, reason", [
    ({"subject": "Hello\r\nBcc: x@evil.example", "text": "hi"}, "subject must be one line"),
    ({"subject": "Hello\u2028there", "text": "hi"}, "subject must be one line"),
    ({"subject": "Hi", "text": "lone \ud800 surrogate"}, "not valid Unicode"),
])
def test_an_email_that_would_break_its_headers_or_encoding_is_refused(fields, reason):
    message = OutboundMessage(message_id="m-1", channel="email", to_address="ada@example.com",
                              sender_postal_address="1 High St", **fields)
    with pytest.raises(MessageInvalid, match=reason):
        MemoryChannel.of("email").send(message)
