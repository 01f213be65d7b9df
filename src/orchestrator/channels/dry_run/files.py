"""The two ways the dry-run outbox writes files, both safe to repeat.

- :func:`write_atomically`: a whole file (an .eml, a letter) appears complete or not at
  all: written to a temporary file in the same folder, then renamed over the target.
- :class:`AppendOnceLog`: a log of one record a line (sms.jsonl, social.jsonl, the mail
  batch CSV) where each record's key is written at most once. It checks the file itself,
  not only memory, so a second adapter on the same outbox, or a restarted process, does
  not write a message again. Correct for one process; several processes writing the
  same outbox at once are not supported (use live channels for that).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["AppendOnceLog", "write_atomically"]


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.
    No fsync: a dry run trades durability for speed; a crash loses at most the newest
    file, which a re-send writes again. The temporary file is named by process and
    thread (each writes one file at a time), which spares ``mkstemp``'s random names and
    retries on every message."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        descriptor = os.open(temporary, _FLAGS, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, _FLAGS, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


class AppendOnceLog:
    """A UTF-8 text file of one record a line, each carrying a key (``key_of`` reads it
    from a line; None for a line without one). ``header``, if given, is the first line
    of a new file and never counted as a record."""

    def __init__(self, path: Path, key_of: Callable[[str], str | None],
                 header: str | None = None):
        self.path = path
        self._key_of = key_of
        self._header = header
        self._keys: set[str] = set()
        self._read_up_to = 0  # bytes of the file already scanned for keys
        self._torn_tail = False  # the file ends in a partial line (an interrupted write)
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        with self._lock:
            self._catch_up()
            return key in self._keys

    def append_once(self, key: str, line: str,
                    before_append: Callable[[], None] | None = None) -> bool:
        """Append ``line`` (no line break inside) unless a record with ``key`` is in the
        file. ``before_append`` runs first, only when the line will be written (e.g. to
        write the file the record points to). Returns whether the line was appended."""
        if "\n" in line or "\r" in line:
            raise ValueError("a log record must be one line")
        with self._lock:
            self._catch_up()
            if key in self._keys:
                return False
            if before_append is not None:
                before_append()
            self._append(line)
            self._keys.add(key)
            return True

    def remove(self, keys: set[str]) -> int:
        """Rewrite the file without the records of ``keys`` (erasure); returns how many
        went. The header and every other line stay as they were."""
        with self._lock:
            try:
                lines = self.path.read_bytes().split(b"\n")
            except FileNotFoundError:
                return 0
            kept, removed = [], 0
            for raw in lines:
                try:
                    key = self._key_of(raw.decode("utf-8").rstrip("\r")) if raw else None
                except ValueError:
                    key = None
                if key in keys:
                    removed += 1
                else:
                    kept.append(raw)
            if removed:
                write_atomically(self.path, b"\n".join(kept))
                self._keys.clear()  # read again from the start on the next look
                self._read_up_to = 0
            return removed

    def keys(self) -> frozenset[str]:
        with self._lock:
            self._catch_up()
            return frozenset(self._keys)

    def _catch_up(self) -> None:
        """Read the keys of lines written since the last look (by anyone)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._read_up_to:  # replaced or truncated: start over
            self._keys.clear()
            self._read_up_to = 0
        if size == self._read_up_to:
            self._torn_tail = False
            return
        with open(self.path, "rb") as log:
            log.seek(self._read_up_to)
            chunk = log.read(size - self._read_up_to)
        end = chunk.rfind(b"\n")
        if end >= 0:
            for index, raw in enumerate(chunk[:end].split(b"\n")):
                self._remember(raw, may_be_header=self._read_up_to == 0 and index == 0)
            self._read_up_to += end + 1
        self._torn_tail = end + 1 < len(chunk)

    def _remember(self, raw: bytes, may_be_header: bool) -> None:
        try:
            line = raw.decode("utf-8").rstrip("\r")
            if may_be_header and self._header is not None and line == self._header:
                return
            key = self._key_of(line)
        except ValueError:  # an unreadable line is not a record; sending again rewrites it
            return
        if key is not None:
            self._keys.add(key)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as log:
            prefix = b""
            if log.tell() == 0 and self._header is not None:
                prefix = self._header.encode() + b"\n"
            elif self._torn_tail:
                prefix = b"\n"  # end the torn line so this record stands on its own
            # One write call, so a record is never interleaved with another thread's.
            log.write(prefix + line.encode("utf-8") + b"\n")
        self._torn_tail = False
