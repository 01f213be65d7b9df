"""The product's error tree.

OrchestratorError
├── UsageError           bad command line or configuration (exit code 2)
├── InvalidInput         a file that failed validation; carries every problem (exit code 2)
└── CheckFailed          a check that ran and found something wrong (exit code 1)
"""

from __future__ import annotations


class OrchestratorError(Exception):
    exit_code = 1


class UsageError(OrchestratorError):
    exit_code = 2


class InvalidInput(OrchestratorError):
    """Input that failed validation. ``problems`` are ready-to-print lines such as
    ``FILE:LINE: field: reason``."""

    exit_code = 2

    def __init__(self, problems: list[str], summary: str = ""):
        self.problems = problems
        super().__init__(summary or f"{len(problems)} problem(s)")


class CheckFailed(OrchestratorError):
    exit_code = 1
