"""Loading and validating journey files: the entry points for ``journeys validate`` and
``journeys publish``.

A file is read in three layers, each reporting every problem it finds as
``FILE:LINE:COL: message``: YAML syntax and refused constructs
(:mod:`~orchestrator.campaigns.language.yaml_source`), the journey language
(:mod:`~orchestrator.campaigns.language.journey_reader`), and, across files, journey ids.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from orchestrator.campaigns.language.journey import Journey
from orchestrator.campaigns.language.journey_reader import JourneyReader
from orchestrator.campaigns.language.problems import JourneyInvalid, Position, Problem
from orchestrator.campaigns.language.yaml_source import oversized, parse_yaml_source
from orchestrator.rendering.catalog import TemplateCatalog

logger = logging.getLogger(__name__)

__all__ = ["JourneyInvalid", "Problem", "load_journey", "parse_journey", "validate_files"]


def load_journey(path: str | os.PathLike[str], templates_dir: str | os.PathLike[str]) -> Journey:
    """The journey in the file at ``path``, whose templates live in ``templates_dir``.
    Raises :class:`JourneyInvalid` listing every problem in the file."""
    journey, _ = _load(Path(path), TemplateCatalog(templates_dir))
    return journey


def parse_journey(
    data: bytes, source_path: str, templates_dir: str | os.PathLike[str] | TemplateCatalog
) -> Journey:
    """The journey in ``data``, the bytes of the file ``source_path`` (used in messages).
    Raises :class:`JourneyInvalid` listing every problem."""
    catalog = templates_dir if isinstance(templates_dir, TemplateCatalog) else TemplateCatalog(
        templates_dir)
    journey, _ = _parse(data, source_path, catalog)
    return journey


def validate_files(
    paths: Iterable[str | os.PathLike[str]], templates_dir: str | os.PathLike[str]
) -> tuple[tuple[Journey, ...], tuple[Problem, ...]]:
    """Every valid journey among ``paths``, and every problem in all of them (a journey
    id used by two files is a problem in the second). Nothing from a set with problems
    should be published."""
    catalog = TemplateCatalog(templates_dir)
    journeys: list[Journey] = []
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    for path in paths:
        try:
            journey, id_position = _load(Path(path), catalog)
        except JourneyInvalid as exc:
            problems.extend(exc.problems)
            continue
        if journey.id in first_file:
            problems.append(Problem(
                journey.source_path, id_position.line, id_position.col,
                f"journey id '{journey.id}' is already used by {first_file[journey.id]}; "
                "each journey needs its own id",
            ))
            continue
        first_file[journey.id] = journey.source_path
        journeys.append(journey)
    return tuple(journeys), tuple(sorted(set(problems)))


def _load(path: Path, catalog: TemplateCatalog) -> tuple[Journey, Position]:
    file = str(path)
    try:
        # Refuse an oversized file before reading it into memory.
        if (too_large := oversized(file, path.stat().st_size)) is not None:
            raise JourneyInvalid([too_large])
        data = path.read_bytes()
    except OSError as exc:
        unreadable = Problem(file, 1, 1, f"cannot read the file: {exc.strerror}")
        raise JourneyInvalid([unreadable]) from None
    return _parse(data, file, catalog)


def _parse(data: bytes, file: str, catalog: TemplateCatalog) -> tuple[Journey, Position]:
    document = parse_yaml_source(data, file)
    reader = JourneyReader(file, catalog)
    if document.root is not None or not document.problems:
        journey = reader.read(document.root, hashlib.sha256(data).hexdigest())
    else:
        journey = None  # the YAML itself could not be read
    problems = [*document.problems, *reader.problems]
    if problems or journey is None or reader.id_position is None:
        logger.debug("journey file %s has %d problem(s)", file, len(problems))
        raise JourneyInvalid(problems)
    return journey, reader.id_position
