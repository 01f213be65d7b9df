"""What a campaign manager reads when a journey file is rejected.

Every problem names its place as ``FILE:LINE:COL`` (1-based, the way editors count) and
says what was expected, so it can be fixed without opening the documentation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.errors import InvalidInput


@dataclass(frozen=True, order=True)
class Position:
    """A place in a file, 1-based, as editors count."""

    line: int
    col: int


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a file, at a place in it."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class JourneyInvalid(InvalidInput):
    """A journey file (or several) failed validation; ``problems`` lists every problem
    found, in file and position order. Nothing from these files may be published."""

    problems: tuple[Problem, ...]  # type: ignore[assignment]  # richer than InvalidInput's lines

    def __init__(self, problems: Iterable[Problem]):
        ordered = tuple(sorted(set(problems)))
        super().__init__([str(problem) for problem in ordered], _summary(ordered))
        self.problems = ordered

    @property
    def lines(self) -> list[str]:
        """The problems as ready-to-print ``FILE:LINE:COL: message`` lines."""
        return [str(problem) for problem in self.problems]


def _summary(problems: tuple[Problem, ...]) -> str:
    if len(problems) == 1:
        return str(problems[0])
    return f"{len(problems)} problems:\n" + "\n".join(str(problem) for problem in problems)
