"""One print-house batch folder: ``batch.csv`` (the mail-merge), the letters it points to,
and ``manifest.json`` vouching for every file by SHA-256 and size (docs/print-batches.md).

Every file is written whole (a temporary file renamed over the old one), in an order
that keeps the folder consistent wherever a crash stops it:

1. the letter files (HTML, PDF): until a row points to them they are not in the batch;
2. ``batch.csv`` with the new row: every row points to letters already on disk;
3. ``manifest.json``, last, listing the CSV and every letter with their hashes.

A crash between 2 and 3 leaves the manifest one letter behind the CSV. Opening the
folder (the adapter does before it writes to it or reads its message ids) notices that
the manifest no longer vouches for the CSV and rebuilds it from the files, so the
manifest is right again as soon as the adapter starts after the crash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.channels.dry_run.files import write_atomically
from orchestrator.channels.errors import ChannelConfigurationError
from orchestrator.channels.message import POSTAL_ADDRESS_FIELDS

__all__ = [
    "BATCH_COLUMNS",
    "BATCH_FILE",
    "LETTER_FILE_COLUMNS",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "BatchFolder",
    "FileEntry",
    "verify_batch",
]

BATCH_FILE = "batch.csv"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "orchestrator-print-batch/1"
LETTER_FILE_COLUMNS = ("letter_pdf", "letter_html")
BATCH_COLUMNS = ("message_id", *POSTAL_ADDRESS_FIELDS, *LETTER_FILE_COLUMNS)


@dataclass(frozen=True)
class FileEntry:
    name: str
    sha256: str
    size: int

    @classmethod
    def of(cls, name: str, data: bytes) -> FileEntry:
        return cls(name, hashlib.sha256(data).hexdigest(), len(data))

    @classmethod
    def of_file(cls, path: Path) -> FileEntry:
        return cls.of(path.name, path.read_bytes())

    def as_dict(self) -> dict[str, str | int]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


class BatchFolder:
    """A batch folder as it is on disk (created on the first letter); opening it repairs
    a manifest left behind by a crash."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.batch_id = folder.name
        self._rows = _read_rows(folder / BATCH_FILE)
        self.repaired = False
        self._entries = self._vouched_entries()

    @property
    def message_ids(self) -> list[str]:
        return [row[0] for row in self._rows]

    def add(self, row: Sequence[str], files: Mapping[str, bytes]) -> None:
        """Add one letter: its ``files`` (name -> bytes) and its CSV ``row``. If this
        raises, the folder on disk is consistent but this object is not: open it again."""
        for name, data in files.items():
            write_atomically(self.folder / name, data)
        rows = [*self._rows, list(row)]
        table = _csv_bytes(rows)
        write_atomically(self.folder / BATCH_FILE, table)
        self._rows = rows
        entries = {**self._entries, BATCH_FILE: FileEntry.of(BATCH_FILE, table)}
        entries.update((name, FileEntry.of(name, data)) for name, data in files.items())
        self._write_manifest(entries)
        self._entries = entries

    def _listed_names(self) -> set[str]:
        """The files the manifest must list: the CSV and every letter a row points to."""
        if not self._rows:
            return set()
        return {BATCH_FILE} | {row[BATCH_COLUMNS.index(column)] for row in self._rows
                               for column in LETTER_FILE_COLUMNS}

    def _vouched_entries(self) -> dict[str, FileEntry]:
        if not self._rows:
            return {}
        manifest = _read_manifest(self.folder / MANIFEST_FILE)
        table = FileEntry.of_file(self.folder / BATCH_FILE)
        if manifest is not None:
            entries = {entry.name: entry for entry in manifest[1]}
            if (manifest[0] == len(self._rows) and set(entries) == self._listed_names()
                    and entries.get(BATCH_FILE) == table):
                return entries
        # The manifest does not vouch for the folder as it is (a crash after the CSV was
        # written): rebuild it from the files the rows point to, which exist (step 1).
        entries = {name: FileEntry.of_file(self.folder / name)
                   for name in sorted(self._listed_names())
                   if (self.folder / name).is_file()}
        self._write_manifest(entries)
        self.repaired = True
        return entries

    def _write_manifest(self, entries: Mapping[str, FileEntry]) -> None:
        manifest = {
            "format": MANIFEST_FORMAT,
            "batch_id": self.batch_id,
            "letter_count": len(self._rows),
            "files": [entries[name].as_dict() for name in sorted(entries)],
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
        write_atomically(self.folder / MANIFEST_FILE, text.encode("ascii"))


def verify_batch(folder: Path) -> list[str]:
    """What is wrong with a batch folder, as a print house would check it before
    printing (an empty list: every file is as the manifest says, every row's letters
    are there and listed). Problems name files and message ids, never addresses."""
    manifest_path = folder / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = {entry["name"]: entry for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{MANIFEST_FILE} is missing or unreadable"]
    problems = []
    if manifest.get("format") != MANIFEST_FORMAT:
        problems.append(f"{MANIFEST_FILE} is not in the {MANIFEST_FORMAT} format")
    if manifest.get("batch_id") != folder.name:
        problems.append(f"{MANIFEST_FILE} names batch {manifest.get('batch_id')!r}")
    for name, entry in sorted(entries.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is listed but missing")
        elif FileEntry.of_file(path).as_dict() != entry:
            problems.append(f"{name} does not match its size or SHA-256")
    rows = _read_rows(folder / BATCH_FILE)
    if manifest.get("letter_count") != len(rows):
        problems.append(f"letter_count is {manifest.get('letter_count')}, "
                        f"{BATCH_FILE} has {len(rows)} rows")
    for row in rows:
        for column in LETTER_FILE_COLUMNS:
            name = row[BATCH_COLUMNS.index(column)]
            if name not in entries or not (folder / name).is_file():
                problems.append(f"{row[0]}: {column} {name} is missing or not listed")
    return problems


def _read_manifest(path: Path) -> tuple[int, list[FileEntry]] | None:
    """The letter count and entries of a manifest, or None if there is none to trust."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return manifest["letter_count"], [
            FileEntry(entry["name"], entry["sha256"], entry["size"])
            for entry in manifest["files"]]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # torn by hand or by a disk: rebuild it
        return None


def _read_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or tuple(rows[0]) != BATCH_COLUMNS or any(
            len(row) != len(BATCH_COLUMNS) for row in rows[1:]):
        raise ChannelConfigurationError(
            f"{path} is not a print batch of this version (expected the columns "
            f"{', '.join(BATCH_COLUMNS)}); move it out of the mail folder")
    return rows[1:]


def _csv_bytes(rows: Sequence[Sequence[str]]) -> bytes:
    # RFC 4180: CRLF line ends, fields quoted only when they must be.
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(BATCH_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
