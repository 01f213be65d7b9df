"""``orchestrator ingest``: record touchpoints from JSON Lines, all or nothing.

The whole file is read once, in batches, inside ONE store transaction: each batch is
validated, checked against the ids already recorded (idempotency) and appended. If any line
is invalid the transaction is rolled back at the end, so nothing is recorded, and every bad
line is reported. Memory stays flat whatever the file size: only one batch is held, and
in-file duplicates are found through the store's own id table, inside the transaction.

Holding one transaction for the whole file also makes concurrent ingests safe: a second
process waits for the first to commit, then finds its ids already recorded.

``check_touchpoint`` and ``record_touchpoints`` are the same checks and the same
idempotency for touchpoints made in process (``serve``'s webhooks), recorded inside the
caller's write unit.

A line is never read into memory beyond ``MAX_LINE_BYTES`` (plus its line ending): the rest
of a longer line is skipped, or, with ``--skip-invalid``, spooled to a temporary file so
that FILE.rejected.jsonl still holds the line whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from orchestrator.domain.new_fact import NewFact
from orchestrator.errors import InvalidInput
from orchestrator.ingest.touchpoints import MAX_LINE_BYTES, Problem, ValidTouchpoint, parse_line
from orchestrator.store import Store, WriteUnit, cycle_collector_paused

BATCH_SIZE = 1000
MAX_REMEMBERED_LINES = 100_000  # in-file duplicate ids named by line, up to this many
READ_LIMIT = MAX_LINE_BYTES + 2  # a line at the limit, with "\r\n"
TAIL_CHUNK = 1024 * 1024


@dataclass
class IngestReport:
    source: str
    lines: int = 0
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    rejected_path: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"{self.source}: {self.lines} line(s), {self.recorded} recorded, "
                f"{self.duplicates} already recorded")
        if self.rejected:
            text += f", {self.rejected} rejected"
            if self.rejected_path:
                text += f" (written to {self.rejected_path})"
        return text

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "lines": self.lines, "recorded": self.recorded,
                "duplicates": self.duplicates, "rejected": self.rejected,
                "rejected_path": self.rejected_path, "problems": self.problems}


Progress = Callable[[int, int], None]  # (lines read, recorded so far)


@dataclass
class _Tail:
    """What follows the first ``READ_LIMIT`` bytes of a line longer than that."""

    line_size: int  # of the whole line, in bytes, not counting its line ending
    spool: IO[bytes] | None  # the bytes themselves, on disk, when they are to be kept
    newline: bool  # the line ended with a line ending (not with the end of the file)


@dataclass
class _Line:
    number: int
    raw: bytes
    touchpoint: ValidTouchpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    tail: _Tail | None = None


def ingest_path(store: Store, path: str, *, recorded_at: datetime, skip_invalid: bool = False,
                progress: Progress | None = None) -> IngestReport:
    """Ingest a file, or standard input when ``path`` is ``-``."""
    if path == "-":
        import sys
        return ingest_stream(store, sys.stdin.buffer, "<stdin>", recorded_at=recorded_at,
                             skip_invalid=skip_invalid, progress=progress, rejected_path=None)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the transaction
    except OSError as error:
        raise InvalidInput([f"{path}: cannot read: {error.strerror}"]) from None
    with handle:
        return ingest_stream(store, handle, path, recorded_at=recorded_at,
                             skip_invalid=skip_invalid, progress=progress,
                             rejected_path=f"{_strip_jsonl(path)}.rejected.jsonl")


def ingest_stream(store: Store, stream: IO[bytes], source: str, *, recorded_at: datetime,
                  skip_invalid: bool, progress: Progress | None,
                  rejected_path: str | None) -> IngestReport:
    report = IngestReport(source=source)
    started = time.perf_counter()
    rejected = _RejectedLines(rejected_path) if skip_invalid else None
    try:
        with cycle_collector_paused(), store.write() as unit:
            recorder = _BatchRecorder(unit, recorded_at, source, report)
            for batch in _batches(stream, report, keep_tails=rejected is not None
                                  and rejected.temp is not None):
                recorder.check(batch)
                bad = [line for line in batch if line.problems]
                for line in bad:
                    report.problems.extend(
                        f"{source}:{line.number}: {p.field}: {p.reason}" for p in line.problems)
                if bad and rejected is not None:
                    rejected.write(bad)
                    report.rejected += len(bad)
                if skip_invalid or not report.problems:
                    recorder.record([line for line in batch if line.touchpoint])
                if progress:
                    progress(report.lines, report.recorded)
            if report.lines == 0:
                raise InvalidInput([f"{source}: empty: no touchpoints to record"])
            if report.problems and not skip_invalid:
                raise InvalidInput(report.problems,
                                   f"{len(report.problems)} problem(s); nothing was recorded")
    except BaseException:
        if rejected is not None:
            rejected.discard()
        raise
    if rejected is not None:
        report.rejected_path = rejected.keep()
    report.seconds = time.perf_counter() - started
    return report


def _batches(stream: IO[bytes], report: IngestReport,
             keep_tails: bool) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for line in _lines(stream, keep_tails):
        if line.tail is None and not line.raw.strip():
            continue
        report.lines += 1
        if line.tail is not None:
            line.problems.append(Problem("line", f"{line.tail.line_size} bytes long; at most "
                                                 f"{MAX_LINE_BYTES} bytes a line"))
        else:
            checked = parse_line(line.raw)
            if isinstance(checked, list):
                line.problems.extend(checked)
            else:
                line.touchpoint = checked
        batch.append(line)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _lines(stream: IO[bytes], keep_tails: bool) -> Iterator[_Line]:
    """The file's lines, numbered; at most ``READ_LIMIT`` bytes of each held in memory."""
    number = 0
    while head := stream.readline(READ_LIMIT):
        number += 1
        tail = None
        if len(head) == READ_LIMIT and not head.endswith(b"\n"):
            tail = _read_tail(stream, keep_tails, head)
        yield _Line(number, head, tail=tail)


def _read_tail(stream: IO[bytes], keep: bool, head: bytes) -> _Tail | None:
    spool = tempfile.TemporaryFile() if keep else None  # noqa: SIM115 - closed when written
    size, last = 0, head[-1:]
    while chunk := stream.readline(TAIL_CHUNK):
        size += len(chunk)
        last = (last + chunk)[-2:]
        if spool is not None:
            spool.write(chunk)
        if chunk.endswith(b"\n"):
            break
    if size == 0:  # the line ended with the file, exactly at READ_LIMIT bytes
        if spool is not None:
            spool.close()
        return None
    ending = 2 if last == b"\r\n" else 1 if last.endswith(b"\n") else 0
    return _Tail(line_size=len(head) + size - ending, spool=spool, newline=ending > 0)


def check_touchpoint(touchpoint: Mapping[str, Any]) -> ValidTouchpoint | list[Problem]:
    """One touchpoint given in process, checked exactly as a line of an ingested file is
    (it is one: the object written as a JSON line), limits and all."""
    return parse_line(json.dumps(touchpoint).encode("utf-8"))


def record_touchpoints(unit: WriteUnit, touchpoints: Iterable[ValidTouchpoint], *,
                       recorded_at: datetime, source: str,
                       first_wins: bool = False) -> IngestReport:
    """Record touchpoints checked by :func:`check_touchpoint`, inside the caller's write
    unit, with ingest's idempotency: an id already recorded (or earlier in the same call)
    with the same content is a duplicate, not a second record.

    ``first_wins``: an id already recorded with *other* content is a duplicate too. That is
    for a provider's retry, which a webhook stamps with the moment it arrived; the first
    report stands. Otherwise such an id raises :class:`InvalidInput` (``SOURCE:N``, N
    counting from 1) and the caller's transaction is rolled back."""
    report = IngestReport(source=source)
    lines = [_Line(number, b"", touchpoint=touchpoint)
             for number, touchpoint in enumerate(touchpoints, start=1)]
    report.lines = len(lines)
    recorder = _BatchRecorder(unit, recorded_at, source, report, first_wins=first_wins)
    for start in range(0, len(lines), BATCH_SIZE):
        batch = lines[start:start + BATCH_SIZE]
        recorder.check(batch)
        report.problems.extend(f"{source}:{line.number}: {p.field}: {p.reason}"
                               for line in batch for p in line.problems)
        if report.problems:
            raise InvalidInput(report.problems,
                               f"{len(report.problems)} problem(s); nothing was recorded")
        recorder.record([line for line in batch if line.touchpoint])
    return report


class _BatchRecorder:
    def __init__(self, unit: WriteUnit, recorded_at: datetime, source: str,
                 report: IngestReport, *, first_wins: bool = False):
        self.unit = unit
        self.recorded_at = recorded_at
        self.source = source
        self.report = report
        self.first_wins = first_wins
        self.line_of_id: dict[str, tuple[bytes, int]] = {}

    def check(self, batch: list[_Line]) -> None:
        """Idempotency: a known id with the same content is a duplicate (skipped); with
        other content it is a problem, never a silent overwrite or a second record."""
        valid = [line for line in batch if line.touchpoint]
        recorded = self.unit.tables.touchpoint_digests(list({ln.touchpoint.id for ln in valid}))
        for line in valid:
            touchpoint = line.touchpoint
            earlier = self.line_of_id.get(touchpoint.id)
            known = recorded.get(touchpoint.id) or (earlier[0] if earlier else None)
            if known is None:
                if len(self.line_of_id) < MAX_REMEMBERED_LINES:
                    self.line_of_id[touchpoint.id] = (touchpoint.digest, line.number)
                recorded[touchpoint.id] = touchpoint.digest
                continue
            if known == touchpoint.digest or self.first_wins:
                self.report.duplicates += 1
                line.touchpoint = None
                continue
            where = f"on line {earlier[1]}" if earlier else "already recorded"
            line.problems.append(Problem("id", f"{touchpoint.id!r} was used {where} with "
                                               "different content"))
            line.touchpoint = None

    def record(self, lines: list[_Line]) -> None:
        if not lines:
            return
        positions = self.unit.append_facts(
            (NewFact(line.touchpoint.stream, line.touchpoint.event_class,
                     {"touchpoint_id": line.touchpoint.id, "at": line.touchpoint.at.isoformat(),
                      **line.touchpoint.fields}) for line in lines),
            recorded_at=self.recorded_at)
        self.unit.tables.record_touchpoints(
            (line.touchpoint.id, line.touchpoint.digest, position)
            for line, position in zip(lines, positions, strict=True))
        self.report.recorded += len(positions)


class _RejectedLines:
    """Rejected lines go to a temporary file, renamed into place only on success."""

    def __init__(self, path: str | None):
        self.path = path
        self.temp: IO[bytes] | None = None
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            self.temp = tempfile.NamedTemporaryFile(dir=folder, delete=False,  # noqa: SIM115
                                                    prefix=".rejected-", suffix=".jsonl")

    def write(self, lines: list[_Line]) -> None:
        if self.temp:
            for line in lines:
                tail = line.tail
                if tail is None:
                    self.temp.write(line.raw if line.raw.endswith(b"\n") else line.raw + b"\n")
                    continue
                self.temp.write(line.raw)
                if tail.spool is not None:
                    tail.spool.seek(0)
                    shutil.copyfileobj(tail.spool, self.temp)
                    tail.spool.close()
                if not tail.newline:
                    self.temp.write(b"\n")

    def keep(self) -> str | None:
        if not self.temp or not self.path:
            return None
        self.temp.close()
        if os.path.getsize(self.temp.name) == 0:
            os.unlink(self.temp.name)
            return None
        os.replace(self.temp.name, self.path)
        return self.path

    def discard(self) -> None:
        if self.temp:
            self.temp.close()
            os.unlink(self.temp.name)


def _strip_jsonl(path: str) -> str:
    return path[: -len(".jsonl")] if path.endswith(".jsonl") else path
