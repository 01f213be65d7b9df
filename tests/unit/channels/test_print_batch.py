"""The print-batch adapter: the batch layout a print house receives, letters whose
address shows in an envelope window, byte-for-byte repeatable output, idempotency that
survives restarts and days, and a batch that stays consistent wherever a crash stops it."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import logging
import os
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.contract.channels.support import ADA_ADDRESS, SENT_AT, fixed_clock, message

from orchestrator.channels.errors import (
    ChannelConfigurationError,
    MessageInvalid,
    TransientFailure,
)
from orchestrator.channels.live.batch_folder import BATCH_COLUMNS, verify_batch
from orchestrator.channels.live.print_batch import PrintBatchChannel, batch_id_for

SENDER = "The shop, 1 High Street, London N1 1AA, United Kingdom"
BATCH_ID = "batch-2026-11-02-" + hashlib.sha256(SENDER.encode()).hexdigest()[:8]
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MM = 72 / 25.4  # PDF points per millimetre
A4_HEIGHT = 297 * MM


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def channel(mail_dir: Path) -> PrintBatchChannel:
    return PrintBatchChannel(mail_dir, SENDER, clock=fixed_clock)


def batch(mail_dir: Path, batch_id: str = BATCH_ID) -> Path:
    return mail_dir / batch_id


def rows(folder: Path) -> list[dict[str, str]]:
    if not (folder / "batch.csv").exists():
        return []
    with open(folder / "batch.csv", newline="", encoding="utf-8") as table:
        return list(csv.DictReader(table))


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def pdf_lines(pdf: bytes) -> list[tuple[float, float, str]]:
    """(x mm from the left, y mm from the top, text) of every line the PDF shows."""
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        content = zlib.decompress(stream).decode("latin-1")
        for x, y, text in re.findall(
                r"BT ([\d.]+) ([\d.]+) Td(?: [\d.-]+ Tw)? \((.*?)\) Tj ET", content):
            lines.append((float(x) / MM, (A4_HEIGHT - float(y)) / MM, text))
    return lines


# The layout


def test_a_batch_folder_holds_the_csv_a_pdf_and_html_letter_each_and_the_manifest(
        channel, mail_dir):
    result = channel.send(message("mail", "m-1"))
    channel.send(message("mail", "m-2"))
    assert [path.name for path in mail_dir.iterdir()] == [BATCH_ID]
    assert sorted(path.name for path in batch(mail_dir).iterdir()) == [
        "batch.csv", "m-1.html", "m-1.pdf", "m-2.html", "m-2.pdf", "manifest.json"]
    assert result.provider_id == f"print-batch:{BATCH_ID}:m-1"


def test_the_csv_is_a_mail_merge_with_one_row_per_letter(channel, mail_dir):
    channel.send(message("mail", "m-1", to_address={**ADA_ADDRESS, "line2": "Flat 2"}))
    with open(batch(mail_dir) / "batch.csv", newline="", encoding="utf-8") as table:
        assert tuple(next(csv.reader(table))) == BATCH_COLUMNS
    assert rows(batch(mail_dir)) == [{
        "message_id": "m-1", "name": "Ada Lovelace", "line1": "12 St James's Square",
        "line2": "Flat 2", "city": "London", "region": "", "postcode": "SW1Y 4JH",
        "country": "GB", "letter_pdf": "m-1.pdf", "letter_html": "m-1.html"}]
    assert (batch(mail_dir) / "batch.csv").read_bytes().endswith(b"m-1.html\r\n")


def test_csv_cells_a_spreadsheet_would_run_stay_text(channel, mail_dir):
    hostile = {**ADA_ADDRESS, "name": '=HYPERLINK("http://evil.example")',
               "line2": "+1 attack", "region": "@SUM(A1)"}
    channel.send(message("mail", to_address=hostile))
    [row] = rows(batch(mail_dir))
    assert (row["name"], row["line2"], row["region"]) == (
        "'=HYPERLINK(\"http://evil.example\")", "'+1 attack", "'@SUM(A1)")


def test_the_manifest_names_the_batch_counts_letters_and_hashes_every_file(channel,
                                                                           mail_dir):
    channel.send(message("mail", "m-1"))
    folder = batch(mail_dir)
    listed = manifest(folder)
    assert listed["format"] == "orchestrator-print-batch/1"
    assert listed["batch_id"] == BATCH_ID and listed["letter_count"] == 1
    assert [entry["name"] for entry in listed["files"]] == ["batch.csv", "m-1.html",
                                                            "m-1.pdf"]
    for entry in listed["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert verify_batch(folder) == []


def test_one_batch_per_utc_day_and_sender(mail_dir):
    # 23:30 in New York on 2 November is 3 November in UTC.
    late = datetime(2026, 11, 2, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    PrintBatchChannel(mail_dir, SENDER, clock=fixed_clock).send(message("mail", "m-1"))
    PrintBatchChannel(mail_dir, SENDER, clock=lambda: late).send(message("mail", "m-2"))
    other_sender = "Another shop, 2 Low Road, Leeds LS1 1AA"
    PrintBatchChannel(mail_dir, other_sender, clock=fixed_clock).send(message("mail", "m-3"))
    assert sorted(path.name for path in mail_dir.iterdir()) == sorted([
        BATCH_ID, batch_id_for(late.astimezone(UTC).date(), SENDER),
        batch_id_for(SENT_AT.date(), other_sender)])
    assert batch_id_for(late.astimezone(UTC).date(), SENDER).startswith("batch-2026-11-03-")


def test_the_batch_id_ignores_how_the_address_is_spaced():
    day = SENT_AT.date()
    assert batch_id_for(day, SENDER) == batch_id_for(day, "  " + SENDER.replace(" ", "   "))


# The letters


def test_the_html_letter_has_the_address_block_sender_date_and_body(channel, mail_dir):
    channel.send(message("mail", "m-1", html="<html><body><p>Dear Ada, thank you.</p>"
                                             "</body></html>"))
    html = (batch(mail_dir) / "m-1.html").read_text(encoding="utf-8")
    block = html[html.index('<address class="recipient">'):html.index("</address>")]
    assert block.split(">", 1)[1].split("<br>\n") == [
        "Ada Lovelace", "12 St James&#39;s Square", "London", "SW1Y 4JH", "GB"]
    assert "1 High Street" in html and "2 November 2026" in html
    assert '<main class="body">\n<p>Dear Ada, thank you.</p>\n</main>' in html
    assert html.count("<body>") == 1


def test_address_fields_are_escaped_in_the_html_letter(channel, mail_dir):
    channel.send(message("mail", to_address={**ADA_ADDRESS, "name": "<script>x</script>"}))
    html = (batch(mail_dir) / "m-1.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_pdf_is_an_a4_letter_with_the_address_in_the_envelope_window(channel, mail_dir):
    channel.send(message("mail", "m-1", html="<h1>Thanks</h1><p>Dear Ada,<br>thank you."
                                             "</p><ul><li>one</li></ul><script>no</script>"))
    pdf = (batch(mail_dir) / "m-1.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 in points
    shown = {text: (x, y) for x, y, text in pdf_lines(pdf)}
    for line in ("Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH", "GB"):
        x, y = shown[line]
        assert 20 <= x <= 105 and 62.7 <= y <= 90, line  # DIN 5008 form B address zone
    assert "2 November 2026" in shown and "United Kingdom" in shown
    assert {"Thanks", "Dear Ada,", "thank you."} <= set(shown)
    assert "no" not in shown  # script content is not letter text
    assert min(y for text, (x, y) in shown.items() if text == "Thanks") > 90


def test_the_pdf_is_dated_by_the_clock_in_utc(mail_dir):
    in_new_york = SENT_AT.astimezone(ZoneInfo("America/New_York"))  # 04:00 there
    PrintBatchChannel(mail_dir, SENDER, clock=lambda: in_new_york).send(message("mail"))
    pdf = (batch(mail_dir) / "m-1.pdf").read_bytes()
    assert re.search(rb"/CreationDate \(D:20261102090000(Z|\+00'00')\)", pdf)


def test_the_same_messages_and_clock_give_byte_identical_batches(tmp_path):
    folders = []
    for run in ("first", "second"):
        channel = PrintBatchChannel(tmp_path / run, SENDER, clock=fixed_clock)
        for number in range(3):
            channel.send(message("mail", f"m-{number}"))
        folders.append(batch(tmp_path / run))
    names = sorted(path.name for path in folders[0].iterdir())
    assert names == sorted(path.name for path in folders[1].iterdir())
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_text_beyond_the_core_font_is_replaced_and_counted_not_quoted(channel, mail_dir,
                                                                      caplog):
    name = "Zoë Ŝtar 日本"
    with caplog.at_level(logging.WARNING):
        channel.send(message("mail", to_address={**ADA_ADDRESS, "name": name}))
    shown = [text for _, _, text in pdf_lines((batch(mail_dir) / "m-1.pdf").read_bytes())]
    assert "Zo\xeb Star ??" in shown  # ë is in Windows-1252; Ŝ loses its accent
    assert "3 characters" in caplog.text and name not in caplog.text
    assert rows(batch(mail_dir))[0]["name"] == name  # the CSV keeps it whole


@pytest.mark.skipif(not UNICODE_FONT.exists(), reason="DejaVuSans.ttf is not installed")
def test_a_truetype_font_is_embedded_for_other_scripts(mail_dir, caplog):
    channel = PrintBatchChannel(mail_dir, SENDER, clock=fixed_clock, font_path=UNICODE_FONT)
    with caplog.at_level(logging.WARNING):
        channel.send(message("mail", to_address={**ADA_ADDRESS, "name": "Zoë Ŝtar"}))
    pdf = (batch(mail_dir) / "m-1.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"DejaVu" in pdf
    assert "replaced" not in caplog.text
    assert verify_batch(batch(mail_dir)) == []


# Idempotency and refusals


def test_a_repeat_rewrites_nothing(channel, mail_dir):
    channel.send(message("mail", "m-1"))
    before = {path.name: path.read_bytes() for path in batch(mail_dir).iterdir()}
    again = channel.send(message("mail", "m-1", html="<p>changed</p>"))
    assert again.repeated and again.provider_id == f"print-batch:{BATCH_ID}:m-1"
    assert {path.name: path.read_bytes() for path in batch(mail_dir).iterdir()} == before


def test_a_message_sent_on_an_earlier_day_is_a_repeat_after_a_restart(mail_dir):
    PrintBatchChannel(mail_dir, SENDER, clock=fixed_clock).send(message("mail", "m-1"))
    next_day = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    restarted = PrintBatchChannel(mail_dir, SENDER, clock=lambda: next_day)
    assert restarted.send(message("mail", "m-1")).provider_id == (
        f"print-batch:{BATCH_ID}:m-1")
    assert [path.name for path in mail_dir.iterdir()] == [BATCH_ID]


@pytest.mark.parametrize("blank, named", [({"line1": "  "}, "line1"),
                                          ({"city": " ", "postcode": "\t"}, "city, postcode"),
                                          ({"country": "  "}, "country")])
def test_an_incomplete_address_is_refused_naming_the_fields_not_the_address(
        channel, mail_dir, blank, named):
    with pytest.raises(MessageInvalid, match=f"lacks {named}$") as caught:
        channel.send(message("mail", to_address={**ADA_ADDRESS, **blank}))
    for value in ADA_ADDRESS.values():
        assert value not in str(caught.value)
    assert not mail_dir.exists()


def test_a_sender_without_a_postal_address_is_a_configuration_error(mail_dir):
    with pytest.raises(ChannelConfigurationError, match="ORCHESTRATOR_POSTAL_ADDRESS"):
        PrintBatchChannel(mail_dir, "  ", clock=fixed_clock)


def test_a_clock_without_a_zone_is_a_configuration_error(mail_dir):
    channel = PrintBatchChannel(mail_dir, SENDER, clock=lambda: datetime(2026, 11, 2, 9))
    with pytest.raises(ChannelConfigurationError, match="zone"):
        channel.send(message("mail"))


# File-system errors and crashes


def test_a_mail_folder_that_is_a_file_is_a_configuration_error(tmp_path):
    (tmp_path / "mail").write_text("")
    with pytest.raises(ChannelConfigurationError, match="not a folder"):
        PrintBatchChannel(tmp_path / "mail", SENDER, clock=fixed_clock)


def test_a_batch_path_that_is_a_file_is_a_configuration_error(channel, mail_dir):
    mail_dir.mkdir()
    batch(mail_dir).write_text("")
    with pytest.raises(ChannelConfigurationError, match="cannot write the print batch"):
        channel.send(message("mail"))


def failing_replace(monkeypatch, file_name: str, error: BaseException) -> None:
    """Make renaming a finished file onto ``file_name`` fail, as a full disk or a
    process killed at that very moment would."""
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if Path(target).name == file_name:
            raise error
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_full_disk_is_transient(channel, mail_dir, monkeypatch):
    failing_replace(monkeypatch, "m-1.pdf", OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(TransientFailure, match="No space left"):
        channel.send(message("mail"))
    assert rows(batch(mail_dir)) == []


def test_a_crash_between_the_letter_and_its_row_leaves_a_consistent_batch(
        channel, mail_dir, monkeypatch):
    channel.send(message("mail", "m-1"))
    failing_replace(monkeypatch, "batch.csv", OSError(errno.EIO, "I/O error"))
    with pytest.raises(TransientFailure):
        channel.send(message("mail", "m-2"))
    folder = batch(mail_dir)
    assert [row["message_id"] for row in rows(folder)] == ["m-1"]
    assert verify_batch(folder) == []  # m-2's letters are on disk but not in the batch
    assert "m-2.pdf" not in {entry["name"] for entry in manifest(folder)["files"]}
    monkeypatch.undo()
    assert not channel.send(message("mail", "m-2")).repeated  # the retry completes it
    assert [row["message_id"] for row in rows(folder)] == ["m-1", "m-2"]
    assert verify_batch(folder) == [] and manifest(folder)["letter_count"] == 2


def test_a_crash_between_the_row_and_the_manifest_is_repaired_on_restart(
        channel, mail_dir, monkeypatch):
    channel.send(message("mail", "m-1"))
    failing_replace(monkeypatch, "manifest.json", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        channel.send(message("mail", "m-2"))
    monkeypatch.undo()
    folder = batch(mail_dir)
    for row in rows(folder):  # every row points to letters that are there
        assert (folder / row["letter_pdf"]).is_file() and (folder / row["letter_html"]).is_file()
    assert verify_batch(folder) != []  # the manifest is one letter behind...
    restarted = PrintBatchChannel(mail_dir, SENDER, clock=fixed_clock)
    assert restarted.recover() == [BATCH_ID]  # ...until the adapter opens the batch
    assert verify_batch(folder) == [] and manifest(folder)["letter_count"] == 2
    assert restarted.send(message("mail", "m-2")).repeated  # its row made it: sent


def test_the_same_adapter_repairs_the_manifest_on_its_next_send(channel, mail_dir,
                                                               monkeypatch):
    failing_replace(monkeypatch, "manifest.json", OSError(errno.EIO, "I/O error"))
    with pytest.raises(TransientFailure):
        channel.send(message("mail", "m-1"))
    monkeypatch.undo()
    assert channel.send(message("mail", "m-1")).repeated
    channel.send(message("mail", "m-2"))
    assert verify_batch(batch(mail_dir)) == []
    assert manifest(batch(mail_dir))["letter_count"] == 2


def test_verify_batch_notices_a_changed_letter(channel, mail_dir):
    channel.send(message("mail"))
    (batch(mail_dir) / "m-1.pdf").write_bytes(b"%PDF-tampered")
    assert verify_batch(batch(mail_dir)) == ["m-1.pdf does not match its size or SHA-256"]
