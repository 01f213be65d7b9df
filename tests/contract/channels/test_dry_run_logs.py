"""The dry-run SMS, social and mail outboxes: exact line and row formats, idempotency
that survives a new adapter or an interrupted write, and nothing private on social."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from tests.contract.channels.support import (
    ADA_ADDRESS,
    SENT_AT,
    fixed_clock,
    message,
    read_batch,
    read_jsonl,
    reply,
)

from orchestrator.channels.dry_run import (
    DryRunMailChannel,
    DryRunSmsChannel,
    DryRunSocialChannel,
    dry_run_channels,
)
from orchestrator.channels.dry_run.mail_outbox import BATCH_COLUMNS
from orchestrator.channels.errors import ChannelConfigurationError, MessageInvalid
from orchestrator.channels.protocol import Channel


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


# SMS


def test_sms_lines_hold_exactly_id_to_body_and_at(outbox):
    DryRunSmsChannel(outbox, clock=fixed_clock).send(message("sms", "m-1"))
    assert read_jsonl(outbox / "sms.jsonl") == [{
        "id": "m-1", "to": "+447700900123",
        "body": "The shop: thanks for your order, Ada! Reply STOP to opt out.",
        "at": SENT_AT.isoformat()}]


def test_sms_at_is_iso_8601_with_an_offset(outbox):
    DryRunSmsChannel(outbox, clock=fixed_clock).send(message("sms"))
    at = datetime.fromisoformat(read_jsonl(outbox / "sms.jsonl")[0]["at"])
    assert at.utcoffset() is not None and at == SENT_AT


def test_every_line_is_one_json_object_even_with_line_separators_in_the_body(outbox):
    body = "line\u2028separator\nnewline\u0085next"
    DryRunSmsChannel(outbox, clock=fixed_clock).send(message("sms", text=body))
    raw = (outbox / "sms.jsonl").read_text(encoding="utf-8")
    assert len(raw.splitlines()) == 1
    assert json.loads(raw)["body"] == body


def test_a_new_adapter_on_the_same_outbox_does_not_send_again(outbox):
    DryRunSmsChannel(outbox, clock=fixed_clock).send(message("sms", "m-1"))
    restarted = DryRunSmsChannel(outbox, clock=fixed_clock)
    assert restarted.send(message("sms", "m-1")).repeated
    assert restarted.send(message("sms", "m-2")).repeated is False
    assert [line["id"] for line in read_jsonl(outbox / "sms.jsonl")] == ["m-1", "m-2"]


def test_two_adapters_sharing_an_outbox_see_each_others_sends(outbox):
    first, second = (DryRunSmsChannel(outbox, clock=fixed_clock) for _ in range(2))
    first.send(message("sms", "m-1"))
    second.send(message("sms", "m-2"))
    assert first.send(message("sms", "m-2")).repeated
    assert second.send(message("sms", "m-1")).repeated
    assert len(read_jsonl(outbox / "sms.jsonl")) == 2


def test_an_interrupted_write_is_not_taken_for_a_send(outbox):
    outbox.mkdir()
    (outbox / "sms.jsonl").write_text('{"id": "m-1", "to": "+4477', encoding="utf-8")
    result = DryRunSmsChannel(outbox, clock=fixed_clock).send(message("sms", "m-1"))
    assert not result.repeated
    lines = (outbox / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"id": "m-1", "to": "+4477'
    assert json.loads(lines[1])["id"] == "m-1"


# Social


def test_social_lines_hold_exactly_id_text_in_reply_to_and_at(outbox):
    channel = DryRunSocialChannel(outbox, clock=fixed_clock)
    channel.send(message("social", "post-1"))
    channel.send(reply("reply-1", status_id="109876"))
    assert read_jsonl(outbox / "social.jsonl") == [
        {"id": "post-1", "text": "Monday spotlight at the shop: come and have a look.",
         "in_reply_to": None, "at": SENT_AT.isoformat()},
        {"id": "reply-1", "text": "Thank you for the kind words!",
         "in_reply_to": {"network": "mastodon", "status_id": "109876"},
         "at": SENT_AT.isoformat()},
    ]


def test_social_never_writes_metadata_even_when_it_holds_contact_data(outbox):
    DryRunSocialChannel(outbox, clock=fixed_clock).send(message(
        "social", metadata={"email": "ada@example.com", "contact": "C1", "journey": "j"}))
    raw = (outbox / "social.jsonl").read_text(encoding="utf-8")
    assert "ada@example.com" not in raw and "C1" not in raw


@pytest.mark.parametrize("contact_data", [{"contact_key": "C1"},
                                          {"to_address": "ada@example.com"}])
def test_a_public_post_cannot_even_be_built_with_contact_data(contact_data):
    with pytest.raises(MessageInvalid, match="no contact data"):
        message("social", **contact_data)


# Mail


def test_mail_writes_a_batch_row_and_a_letter_per_recipient(outbox):
    channel = DryRunMailChannel(outbox, clock=fixed_clock)
    channel.send(message("mail", "m-1"))
    channel.send(message("mail", "m-2", to_address={**ADA_ADDRESS, "name": "Grace Hopper",
                                                    "line2": "Flat 2", "region": "Greater London"}))
    rows = read_batch(outbox / "mail")
    assert rows == [
        {"message_id": "m-1", "name": "Ada Lovelace", "line1": "12 St James's Square",
         "line2": "", "city": "London", "region": "", "postcode": "SW1Y 4JH",
         "country": "GB", "letter_file": "m-1.html"},
        {"message_id": "m-2", "name": "Grace Hopper", "line1": "12 St James's Square",
         "line2": "Flat 2", "city": "London", "region": "Greater London",
         "postcode": "SW1Y 4JH", "country": "GB", "letter_file": "m-2.html"},
    ]
    assert (outbox / "mail" / "m-1.html").read_text(encoding="utf-8") == (
        "<html><body><p>Dear Ada, thank you.</p></body></html>")
    assert sorted(path.name for path in (outbox / "mail").iterdir()) == [
        "batch.csv", "m-1.html", "m-2.html"]


def test_the_batch_header_names_the_mail_merge_columns(outbox):
    DryRunMailChannel(outbox, clock=fixed_clock).send(message("mail"))
    with open(outbox / "mail" / "batch.csv", newline="", encoding="utf-8") as batch:
        assert tuple(next(csv.reader(batch))) == BATCH_COLUMNS


def test_a_repeat_writes_neither_a_row_nor_a_letter(outbox):
    channel = DryRunMailChannel(outbox, clock=fixed_clock)
    channel.send(message("mail"))
    assert channel.send(message("mail", html="<p>changed</p>")).repeated
    assert len(read_batch(outbox / "mail")) == 1
    assert "changed" not in (outbox / "mail" / "m-1.html").read_text(encoding="utf-8")


def test_a_letter_written_before_an_interruption_gets_its_row(outbox):
    (outbox / "mail").mkdir(parents=True)
    (outbox / "mail" / "m-1.html").write_text("<p>half</p>", encoding="utf-8")
    DryRunMailChannel(outbox, clock=fixed_clock).send(message("mail"))
    assert [row["message_id"] for row in read_batch(outbox / "mail")] == ["m-1"]
    assert "Dear Ada" in (outbox / "mail" / "m-1.html").read_text(encoding="utf-8")


def test_cells_a_spreadsheet_would_run_as_formulas_stay_text(outbox):
    hostile = {**ADA_ADDRESS, "name": "=HYPERLINK(\"http://evil.example\")",
               "line2": "+1 attack", "region": "@SUM(A1)"}
    DryRunMailChannel(outbox, clock=fixed_clock).send(message("mail", to_address=hostile))
    row = read_batch(outbox / "mail")[0]
    assert row["name"] == "'=HYPERLINK(\"http://evil.example\")"
    assert row["line2"] == "'+1 attack"
    assert row["region"] == "'@SUM(A1)"


@pytest.mark.parametrize("address, reason", [
    ({**ADA_ADDRESS, "line1": "12 Square\nLondon"}, "one line"),
    ({key: value for key, value in ADA_ADDRESS.items() if key != "postcode"}, "postcode"),
    ({**ADA_ADDRESS, "county": "x"}, "unknown field"),
    ("12 St James's Square, London", "postal address mapping"),
])
def test_a_postal_address_unfit_for_mail_merge_is_refused(address, reason):
    with pytest.raises(MessageInvalid, match=reason):
        message("mail", to_address=address)


# The factory and its failures


def test_dry_run_channels_gives_one_adapter_per_channel(outbox):
    channels = dry_run_channels(outbox, clock=fixed_clock)
    assert sorted(channels) == ["email", "mail", "sms", "social"]
    for name, channel in channels.items():
        assert isinstance(channel, Channel)
        assert channel.name == name and channel.provider == "dry-run"
    assert not outbox.exists()  # created on the first write, not before


def test_dry_run_channels_write_the_contract_layout(outbox):
    channels = dry_run_channels(outbox, clock=fixed_clock)
    for name, channel in channels.items():
        channel.send(message(name, f"{name}-1"))
    assert sorted(str(path.relative_to(outbox)) for path in outbox.rglob("*")
                  if path.is_file()) == [
        "email/email-1.eml", "mail/batch.csv", "mail/mail-1.html", "sms.jsonl",
        "social.jsonl"]


def test_an_outbox_that_is_a_file_is_a_configuration_error(tmp_path):
    (tmp_path / "outbox").write_text("")
    with pytest.raises(ChannelConfigurationError, match="not a folder"):
        dry_run_channels(tmp_path / "outbox")


def test_an_outbox_subfolder_that_is_a_file_is_a_configuration_error(outbox):
    outbox.mkdir()
    (outbox / "mail").write_text("")
    with pytest.raises(ChannelConfigurationError, match="cannot write the outbox"):
        DryRunMailChannel(outbox, clock=fixed_clock).send(message("mail"))


def test_a_clock_without_a_time_zone_is_a_configuration_error(outbox):
    channel = DryRunSmsChannel(outbox, clock=lambda: datetime(2026, 11, 2, 9, 0))
    with pytest.raises(ChannelConfigurationError, match="zone"):
        channel.send(message("sms"))
