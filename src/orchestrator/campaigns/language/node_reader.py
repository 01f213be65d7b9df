"""Reading typed values out of a positioned YAML tree while collecting problems.

Each reader method either returns the value or records a problem at the value's place
and returns None, so a whole file is checked in one pass and every problem is
reported at once. Given None (a key that is absent: optional, or reported as missing
by :meth:`NodeReader.mapping`), they return None quietly; so they do for values the YAML
layer refused (aliases, custom tags), which were reported once already.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta

from orchestrator.campaigns.language.durations import DurationInvalid, parse_duration
from orchestrator.campaigns.language.expressions import (
    CompiledExpression,
    ExpressionInvalid,
    compile_expression,
)
from orchestrator.campaigns.language.problems import Position, Problem
from orchestrator.campaigns.language.yaml_source import (
    YamlMapping,
    YamlNode,
    YamlScalar,
    YamlSequence,
    describe,
)

# Ids of journeys and steps: they appear in events, the CLI and audit output.
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
WORD_RULE = "letters, digits, '-', '_' and '.' (at most 100, starting with a letter or digit)"


class NodeReader:
    """Typed reads from one file's tree; ``problems`` collects what is wrong."""

    def __init__(self, file: str, problems: list[Problem] | None = None):
        self.file = file
        # Shared when several readers check parts of one file.
        self.problems: list[Problem] = [] if problems is None else problems

    def report(self, position: Position, message: str) -> None:
        self.problems.append(Problem(self.file, position.line, position.col, message))

    def mapping(
        self,
        node: YamlNode,
        what: str,
        *,
        allowed: Sequence[str],
        required: Sequence[str] = (),
        at: Position | None = None,
        hints: Mapping[str, str] | None = None,
        advice: Mapping[str, str] | None = None,
        example: str | None = None,
    ) -> YamlMapping | None:
        """``node`` as a mapping whose keys are all ``allowed`` and include every
        ``required`` one. A missing key is reported ``at`` (default: the mapping), with
        its ``hints`` entry saying what it holds; an unknown key with its ``advice``
        entry or the closest allowed key; anything but a mapping with ``example``."""
        if not isinstance(node, YamlMapping):
            keys = ", ".join(f"{key}:" for key in (required or allowed))
            self._wrong_type(node, what, example or f"a mapping with {keys}")
            return None
        hints = hints or {}
        advice = advice or {}
        for entry in node.entries:
            if entry.key not in allowed:
                close = difflib.get_close_matches(entry.key, allowed, n=1)
                tip = advice.get(entry.key) or (f"did you mean '{close[0]}'?" if close else "")
                self.report(
                    entry.key_position,
                    f"unknown key '{entry.key}' in {what}; expected one of: "
                    f"{', '.join(allowed)}" + (f" ({tip})" if tip else ""),
                )
        keys = node.keys()
        for key in required:
            if key not in keys:
                hint = f": {hints[key]}" if key in hints else ""
                self.report(at or node.position, f"{what} needs '{key}'{hint}")
        return node

    def sequence(self, node: YamlNode | None, what: str, example: str) -> YamlSequence | None:
        if node is None:
            return None
        if not isinstance(node, YamlSequence):
            self._wrong_type(node, what, f"a list, such as {example}")
            return None
        return node

    def text(
        self, node: YamlNode | None, what: str, example: str, kind: str = "text"
    ) -> str | None:
        """The value as written, whether it reads as text, a number or true/false."""
        if node is None:
            return None
        if not isinstance(node, YamlScalar) or node.value is None:
            self._wrong_type(node, what, f"{kind}, such as {example}")
            return None
        return node.text

    def word(self, node: YamlNode | None, what: str, example: str) -> str | None:
        """An id: one word of :data:`WORD_RULE`."""
        value = self.text(node, what, example)
        if node is not None and value is not None and not WORD.fullmatch(value):
            self.report(node.position, f"{what} {value!r} is not a valid id: use {WORD_RULE}, "
                                       f"such as {example}")
            return None
        return value

    def choice(self, node: YamlNode | None, what: str, options: Sequence[str]) -> str | None:
        """One of ``options``."""
        listed = ", ".join(options)
        value = self.text(node, what, f"one of {listed}")
        if node is not None and value is not None and value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            tip = f" (did you mean '{close[0]}'?)" if close else ""
            self.report(node.position, f"{what}: unknown value {value!r}; expected one of: "
                                       f"{listed}{tip}")
            return None
        return value

    def duration(self, node: YamlNode | None, what: str) -> timedelta | None:
        value = self.text(node, what, "30d, 12h, 90m or 1d12h", kind="a duration")
        if node is None or value is None:
            return None
        try:
            return parse_duration(value)
        except DurationInvalid as exc:
            self.report(node.position, f"{what}: {exc}")
            return None

    def expression(self, node: YamlNode | None, what: str) -> CompiledExpression | None:
        source = self.text(node, what, "\"contact.stage == 'light_buyer'\" (in quotes)",
                           kind="an expression")
        if source is None or not isinstance(node, YamlScalar):
            return None
        try:
            return compile_expression(source, node.position)
        except ExpressionInvalid as exc:
            for problem in exc.problems:
                self.report(node.position_at(problem.offset), f"{what}: {problem.message}")
            return None

    def _wrong_type(self, node: YamlNode, what: str, expected: str) -> None:
        if not self._refused(node):
            self.report(node.position, f"{what}: expected {expected}; got {describe(node)}")

    @staticmethod
    def _refused(node: YamlNode) -> bool:
        return isinstance(node, YamlScalar) and node.refused
