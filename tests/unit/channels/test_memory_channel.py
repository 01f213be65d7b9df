"""The in-memory twin: records end state, and can be told to fail like a provider."""

from __future__ import annotations

import pytest

from orchestrator.channels.errors import PermanentRejection, TransientFailure
from orchestrator.channels.memory import MemoryChannel, memory_channels
from orchestrator.channels.message import OutboundMessage


def sms(message_id: str = "m-1", **fields) -> OutboundMessage:
    return OutboundMessage(message_id=message_id, channel="sms", to_address="+447700900123",
                           text="hello", **fields)


def test_queued_failures_are_raised_in_order_then_sends_succeed():
    channel = MemoryChannel.of("sms")
    channel.fail_next(TransientFailure("HTTP 503"), PermanentRejection("HTTP 400"))
    with pytest.raises(TransientFailure):
        channel.send(sms())
    with pytest.raises(PermanentRejection):
        channel.send(sms())
    assert channel.sent == []
    assert not channel.send(sms()).repeated
    assert [message.message_id for message in channel.sent] == ["m-1"]


def test_sent_keeps_the_whole_message_deliveries_only_what_left():
    channel = MemoryChannel.of("sms")
    channel.send(sms(metadata={"journey": "second-purchase"}, contact_key="C1"))
    assert channel.sent[0].metadata["journey"] == "second-purchase"
    delivery = channel.deliveries["m-1"]
    assert (delivery.to, delivery.text) == ("+447700900123", "hello")
    assert not hasattr(delivery, "metadata") and not hasattr(delivery, "contact_key")


def test_memory_channels_gives_a_fresh_twin_per_channel():
    first, second = memory_channels(), memory_channels()
    assert sorted(first) == ["email", "mail", "sms", "social"]
    assert all(channel.name == name for name, channel in first.items())
    first["sms"].send(sms())
    assert second["sms"].sent == []


def test_an_unknown_channel_has_no_twin():
    with pytest.raises(ValueError, match="no channel 'fax'"):
        MemoryChannel.of("fax")
