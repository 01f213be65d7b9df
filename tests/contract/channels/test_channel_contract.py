"""One contract every channel adapter keeps, run against each dry-run adapter and each
in-memory twin (like Django's shared email-backend test mixin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.contract.channels.support import (
    eml_text,
    fixed_clock,
    message,
    read_batch,
    read_eml,
    read_jsonl,
)

from orchestrator.channels.dry_run import (
    DryRunEmailChannel,
    DryRunMailChannel,
    DryRunSmsChannel,
    DryRunSocialChannel,
)
from orchestrator.channels.errors import MessageInvalid, PermanentRejection
from orchestrator.channels.memory import MemoryChannel
from orchestrator.channels.message import CHANNELS, OutboundMessage
from orchestrator.channels.protocol import Channel

OTHER_CHANNEL = {"email": "sms", "sms": "mail", "mail": "social", "social": "email"}


class ChannelContract:
    """Subclasses set ``kind`` and implement ``make_channel``, ``recorded`` (message id
    -> everything the adapter let out for it, as text) and ``recipient``."""

    kind: ClassVar[str]

    def make_channel(self, outbox: Path) -> Channel:
        raise NotImplementedError

    def recorded(self, channel: Any) -> dict[str, str]:
        raise NotImplementedError

    def recipient(self, channel: Any, message_id: str) -> object:
        raise NotImplementedError

    @pytest.fixture
    def channel(self, tmp_path: Path) -> Channel:
        return self.make_channel(tmp_path / "outbox")

    def message(self, message_id: str = "m-1", **overrides: Any) -> OutboundMessage:
        return message(self.kind, message_id, **overrides)

    def test_follows_the_channel_protocol(self, channel):
        assert isinstance(channel, Channel)
        assert channel.name == self.kind in CHANNELS
        assert channel.public is (self.kind == "social")
        assert channel.has_subject is (self.kind == "email")
        assert channel.provider

    def test_a_send_is_recorded_and_reported_sent(self, channel):
        result = channel.send(self.message("m-1"))
        assert result.status == "sent"
        assert result.provider_id
        assert not result.repeated
        assert list(self.recorded(channel)) == ["m-1"]

    def test_the_same_message_id_is_recorded_once(self, channel):
        first = channel.send(self.message("m-1"))
        again = channel.send(self.message("m-1"))
        assert again.repeated
        assert again.provider_id == first.provider_id
        assert list(self.recorded(channel)) == ["m-1"]

    def test_a_repeat_never_replaces_what_was_sent(self, channel):
        original = self.message("m-1")
        channel.send(original)
        before = self.recorded(channel)["m-1"]
        body = {"html": "<p>changed</p>"} if self.kind == "mail" else {"text": "changed"}
        channel.send(self.message("m-1", **body))
        assert self.recorded(channel)["m-1"] == before

    def test_every_message_id_is_recorded(self, channel):
        for message_id in ("m-1", "m-2", "m-3"):
            channel.send(self.message(message_id))
        assert sorted(self.recorded(channel)) == ["m-1", "m-2", "m-3"]

    def test_the_content_is_recorded(self, channel):
        bodies = {"text": "TEXT-MARKER and ünïcode", "html": "<p>HTML-MARKER &amp; more</p>"}
        parts = {part: bodies[part] for part in channel.body_parts}
        subject = {"subject": "SUBJECT-MARKER"} if channel.has_subject else {}
        channel.send(self.message("m-1", **{"text": None, "html": None, **parts, **subject}))
        record = self.recorded(channel)["m-1"]
        for value in (*parts.values(), *subject.values()):
            assert value in record

    def test_metadata_and_contact_key_never_leave(self, channel):
        private = {} if self.kind == "social" else {"contact_key": "CONTACT-KEY-MARKER"}
        channel.send(self.message("m-1", metadata={"note": "METADATA-MARKER"}, **private))
        record = self.recorded(channel)["m-1"]
        assert "METADATA-MARKER" not in record
        assert "CONTACT-KEY-MARKER" not in record

    def test_only_a_private_channel_records_a_recipient(self, channel):
        channel.send(self.message("m-1"))
        assert (self.recipient(channel, "m-1") is None) is channel.public

    def test_a_message_for_another_channel_is_refused_and_not_recorded(self, channel):
        wrong = message(OTHER_CHANNEL[self.kind], "m-1")
        with pytest.raises(PermanentRejection):
            channel.send(wrong)
        assert self.recorded(channel) == {}

    def test_a_body_over_the_limit_is_refused_and_not_recorded(self, channel):
        limit = channel.max_body_length
        if limit is None:  # no limit: a long body goes through whole
            body = "x" * 100_000
            field = "html" if self.kind == "mail" else "text"
            channel.send(self.message("m-1", **{field: body}))
            assert body in self.recorded(channel)["m-1"]
            return
        channel.send(self.message("m-ok", text="x" * limit))
        with pytest.raises(MessageInvalid, match=str(limit)):
            channel.send(self.message("m-long", text="x" * (limit + 1)))
        assert list(self.recorded(channel)) == ["m-ok"]

    def test_a_message_without_a_body_is_refused(self, channel):
        with pytest.raises(MessageInvalid, match=r"no .*body"):
            channel.send(self.message("m-1", text=None, html=None))
        assert self.recorded(channel) == {}


# Dry-run adapters: what they recorded is read back from the outbox files.


class TestDryRunEmail(ChannelContract):
    kind = "email"

    def make_channel(self, outbox):
        return DryRunEmailChannel(outbox, clock=fixed_clock)

    def recorded(self, channel):
        files = sorted(channel.folder.glob("*.eml")) if channel.folder.exists() else []
        return {path.stem: eml_text(read_eml(path)) for path in files}

    def recipient(self, channel, message_id):
        return read_eml(channel.path_for(message_id))["To"]


class TestDryRunSms(ChannelContract):
    kind = "sms"

    def make_channel(self, outbox):
        return DryRunSmsChannel(outbox, clock=fixed_clock)

    def recorded(self, channel):
        return {line["id"]: json.dumps(line, ensure_ascii=False)
                for line in read_jsonl(channel.outbox_dir / "sms.jsonl")}

    def recipient(self, channel, message_id):
        lines = read_jsonl(channel.outbox_dir / "sms.jsonl")
        return next(line["to"] for line in lines if line["id"] == message_id)


class TestDryRunMail(ChannelContract):
    kind = "mail"

    def make_channel(self, outbox):
        return DryRunMailChannel(outbox, clock=fixed_clock)

    def recorded(self, channel):
        return {row["message_id"]: json.dumps(row) + "\n"
                + (channel.folder / row["letter_file"]).read_text(encoding="utf-8")
                for row in read_batch(channel.folder)}

    def recipient(self, channel, message_id):
        return next(row for row in read_batch(channel.folder)
                    if row["message_id"] == message_id)["line1"]


class TestDryRunSocial(ChannelContract):
    kind = "social"

    def make_channel(self, outbox):
        return DryRunSocialChannel(outbox, clock=fixed_clock)

    def recorded(self, channel):
        return {line["id"]: json.dumps(line, ensure_ascii=False)
                for line in read_jsonl(channel.outbox_dir / "social.jsonl")}

    def recipient(self, channel, message_id):
        lines = read_jsonl(channel.outbox_dir / "social.jsonl")
        line = next(line for line in lines if line["id"] == message_id)
        assert set(line) == {"id", "text", "in_reply_to", "at"}
        return None


# In-memory twins: what they recorded is their deliveries.


class MemoryContract(ChannelContract):
    def make_channel(self, outbox):
        return MemoryChannel.of(self.kind)

    def recorded(self, channel):
        return {message_id: repr(delivery) for message_id, delivery in
                channel.deliveries.items()}

    def recipient(self, channel, message_id):
        return channel.deliveries[message_id].to


class TestMemoryEmail(MemoryContract):
    kind = "email"


class TestMemorySms(MemoryContract):
    kind = "sms"


class TestMemoryMail(MemoryContract):
    kind = "mail"


class TestMemorySocial(MemoryContract):
    kind = "social"
