"""The channel contract, run against the SMTP adapter (talking to a real aiosmtpd server
in this process) and the print-batch adapter (read back from the batch files), plus the
one promise each makes beyond it: SMTP sends what the dry run shows; a print batch's
manifest vouches for every file in it."""

from __future__ import annotations

import hashlib
import json
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from tests.contract.channels.smtp_server import RecordingHandler, smtp_server, url_of
from tests.contract.channels.support import eml_text, fixed_clock, message, read_batch
from tests.contract.channels.test_channel_contract import ChannelContract

from orchestrator.channels.dry_run import DEFAULT_EMAIL_FROM, DryRunEmailChannel
from orchestrator.channels.email_message import EmailSender
from orchestrator.channels.live.print_batch import PrintBatchChannel
from orchestrator.channels.live.smtp import SmtpChannel

SENDER_ADDRESS = "The shop, 1 High Street, London N1 1AA, United Kingdom"


def batch_rows(mail_dir: Path) -> list[tuple[Path, dict[str, str]]]:
    """Every row of every batch CSV under ``mail_dir``, with its batch folder."""
    return [(folder, row) for folder in sorted(mail_dir.glob("batch-*"))
            for row in read_batch(folder)]


class TestSmtp(ChannelContract):
    kind = "email"

    @pytest.fixture
    def channel(self):
        self.handler = RecordingHandler()
        with smtp_server(self.handler) as controller:
            channel = SmtpChannel(url_of(controller), EmailSender(DEFAULT_EMAIL_FROM),
                                  clock=fixed_clock, timeout=5)
            yield channel
            channel.close()

    def recorded(self, channel):
        by_id = {}
        for received in self.handler.received:
            email = received.email()
            message_id = str(email["Message-ID"]).strip("<>").split("@")[0]
            by_id[message_id] = eml_text(email)
        return by_id

    def recipient(self, channel, message_id):
        return next(received.rcpt_tos for received in self.handler.received
                    if f"<{message_id}@" in str(received.email()["Message-ID"]))


class TestPrintBatch(ChannelContract):
    kind = "mail"

    def make_channel(self, outbox):
        return PrintBatchChannel(outbox, SENDER_ADDRESS, clock=fixed_clock)

    def recorded(self, channel):
        return {row["message_id"]: json.dumps(row) + "\n"
                + (folder / row["letter_html"]).read_text(encoding="utf-8")
                for folder, row in batch_rows(channel.mail_dir)}

    def recipient(self, channel, message_id):
        return next(row["line1"] for _, row in batch_rows(channel.mail_dir)
                    if row["message_id"] == message_id)


def without_boundary(raw: bytes) -> bytes:
    """The message with its random MIME boundary replaced by a fixed word."""
    boundary = BytesParser(policy=policy.default).parsebytes(raw).get_boundary()
    assert boundary
    return raw.replace(boundary.encode(), b"BOUNDARY")


def test_smtp_transmits_byte_for_byte_the_email_the_dry_run_writes(tmp_path):
    outbound = message("email", "m-1")
    dry_run = DryRunEmailChannel(tmp_path / "outbox", clock=fixed_clock)
    dry_run.send(outbound)
    handler = RecordingHandler()
    with smtp_server(handler) as controller, SmtpChannel(
            url_of(controller), EmailSender(DEFAULT_EMAIL_FROM), clock=fixed_clock) as smtp:
        result = smtp.send(outbound)
    [received] = handler.received
    written = dry_run.path_for("m-1").read_bytes()
    assert without_boundary(received.content) == without_boundary(written)
    assert received.mail_from == "hello@shop.example"
    assert received.rcpt_tos == ("ada@example.com",)
    assert result.provider_id == "<m-1@shop.example>" == received.email()["Message-ID"]


def test_every_letter_in_a_batch_is_vouched_for_by_the_manifest(tmp_path):
    channel = PrintBatchChannel(tmp_path / "mail", SENDER_ADDRESS, clock=fixed_clock)
    for number in range(3):
        channel.send(message("mail", f"m-{number}"))
    [manifest_path] = (tmp_path / "mail").glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    listed = {entry["name"]: entry for entry in manifest["files"]}
    on_disk = {path.name for path in manifest_path.parent.iterdir()} - {"manifest.json"}
    assert set(listed) == on_disk
    for name, entry in listed.items():
        data = (manifest_path.parent / name).read_bytes()
        assert entry == {"name": name, "sha256": hashlib.sha256(data).hexdigest(),
                         "size": len(data)}
    assert manifest["letter_count"] == 3
    assert manifest["batch_id"] == manifest_path.parent.name
