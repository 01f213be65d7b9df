"""YAML read safely, keeping the place of every key and value in the file.

This is the only module that parses YAML. It composes PyYAML nodes (never constructs
arbitrary objects) and turns them into a small tree of :class:`YamlMapping`,
:class:`YamlSequence` and :class:`YamlScalar`, each knowing its line and column, so that
later checks can report ``FILE:LINE:COL``.

Deliberately refused, each reported as a problem at its place:

- anchors and aliases (``&name``/``*name``): they make a file hard to read and are the
  door to "billion laughs" expansion;
- tags other than the plain YAML ones (``!!python/object``, ``!custom``...);
- keys that appear twice in one mapping (YAML libraries silently keep the last one);
- files over :data:`MAX_SOURCE_BYTES` and nesting deeper than :data:`MAX_DEPTH`.

What messages quote back of the file (secrets have no place in output):

- nothing of a document whose top level is not a mapping: every journey and settings
  file is one, so such a file is not one at all (``/etc/passwd`` given by mistake, a
  ``.env`` file, a key) and its text is never shown, only what it is ("text", "a list");
- of a value inside a mapping, at most :data:`MAX_QUOTED` characters.

Scalars are read the YAML 1.2 way (decimal numbers only): only ``true``/``false`` are
booleans and there are no dates or sexagesimal numbers, so ``on:``, ``no`` or ``1:30``
stay text. Keys are always the text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import yaml

from orchestrator.campaigns.language.problems import Position, Problem

MAX_SOURCE_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_QUOTED = 40

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + name for name in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = _TAG + "seq", _TAG + "map"

_BOOL_TEXT = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_TEXT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$")
_NULL_TEXT = re.compile(r"^(?:~|null|Null|NULL|)$")

# Syntax errors PyYAML reports in parser terms, with what a person should check.
_SYNTAX_HINTS = {
    "mapping values are not allowed here": (
        "a ': ' inside a value starts a new mapping here; put the value in quotes, "
        "or check the indentation"
    ),
    "found character '\\t' that cannot start any token": (
        "indent with spaces; YAML does not allow tabs"
    ),
    "could not find expected ':'": "expected 'key: value'; check the indentation and quotes here",
    "while scanning an alias": (
        "a value starting with * must be in quotes, such as schedule: '* * * * *'"
    ),
    "expected a single document in the stream": (
        "a journey file holds one document; remove the '---' that starts a second one"
    ),
}

# Errors better shown where the construct starts than where PyYAML gave up on it.
_AT_CONTEXT = frozenset({"while scanning an alias", "while scanning an anchor"})

# The tag of a stand-in node for an alias, which is reported instead of followed.
# The tag of a node we refused (an alias): with spaces in it, so no document can carry it
# (a YAML tag is URI characters only); "!refused" was one a journey file could write.
_REFUSED = "refused by the reader"


@dataclass(frozen=True)
class YamlScalar:
    """A single value: text, a whole number, a decimal number, true/false or nothing (null).

    ``text`` is the value as written (``09`` for the number 9), which is what a field
    meant as text reads: a template folder may well be called ``2024``.

    ``refused`` marks a stand-in for something already reported (an alias or a custom
    tag), so later checks stay quiet about it instead of reporting it twice.

    ``opaque`` marks a scalar that is a whole document: a file that is not YAML settings
    at all, whose text messages never quote (see the module docstring).
    """

    value: str | int | float | bool | None
    position: Position
    value_col: int | None = None
    refused: bool = False
    text: str = ""
    opaque: bool = False

    def position_at(self, offset: int | None) -> Position:
        """The place of the ``offset``-th character of the text, when the text is written
        on one line as-is; otherwise the place where the value starts."""
        if offset is None or self.value_col is None:
            return self.position
        return Position(self.position.line, self.value_col + offset)


@dataclass(frozen=True)
class YamlEntry:
    key: str
    key_position: Position
    value: YamlNode


@dataclass(frozen=True)
class YamlMapping:
    entries: tuple[YamlEntry, ...]
    position: Position

    def get(self, key: str) -> YamlEntry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def value(self, key: str) -> YamlNode | None:
        """The value under ``key``, or None if the key is absent."""
        entry = self.get(key)
        return None if entry is None else entry.value

    def keys(self) -> tuple[str, ...]:
        return tuple(entry.key for entry in self.entries)


@dataclass(frozen=True)
class YamlSequence:
    items: tuple[YamlNode, ...]
    position: Position


YamlNode = YamlScalar | YamlMapping | YamlSequence


@dataclass(frozen=True)
class YamlDocument:
    """The tree of one file (None when the file is empty or not YAML), and the problems
    found while reading it."""

    root: YamlNode | None
    problems: tuple[Problem, ...]


def describe(node: YamlNode) -> str:
    """What a value is, in words, for messages such as "expected text, got a list"."""
    if isinstance(node, YamlMapping):
        return "a mapping (key: value pairs)"
    if isinstance(node, YamlSequence):
        return "a list"
    value = node.value
    if node.opaque:
        return "text, not key: value pairs (the file's content is not shown)"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the value {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if len(value) > MAX_QUOTED:
        return f"{value[:MAX_QUOTED]!r}... ({len(value)} characters)"
    return repr(value)


def oversized(file: str, size: int) -> Problem | None:
    """The problem with a file of ``size`` bytes, if it is too large to read."""
    if size <= MAX_SOURCE_BYTES:
        return None
    return _problem(
        file,
        Position(1, 1),
        f"the file is {size / (1024 * 1024):.1f} MiB; files are limited to "
        f"{MAX_SOURCE_BYTES // (1024 * 1024)} MiB",
    )


def parse_yaml_source(data: bytes | str, file: str) -> YamlDocument:
    """Read ``data`` (the bytes of ``file``) into a positioned tree, reporting every
    refused construct. Never raises for bad input: problems are returned."""
    if (too_large := oversized(file, len(data))) is not None:
        return YamlDocument(None, (too_large,))
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            position = _position_of_offset(data[: exc.start].decode("utf-8", "replace"), None)
            return _failed(file, position, "the file is not UTF-8 text: save it as UTF-8")
    else:
        text = data.removeprefix("\ufeff")

    loader = None
    try:
        # The reader checks the characters as soon as it is built, so build it in here.
        loader = _PositionedLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        message, mark = _syntax(exc)
        return _failed(file, _position_of_mark(mark), message)
    except yaml.reader.ReaderError as exc:
        return _failed(
            file,
            _position_of_offset(text, exc.position),
            f"character U+{exc.character:04X} is not allowed in YAML; remove it",
        )
    finally:
        if loader is not None:
            loader.dispose()

    problems = [
        _problem(file, _position_of_mark(mark), message) for mark, message in loader.refusals
    ]
    if node is None:
        return YamlDocument(None, tuple(problems))
    root = _convert(node, text, file, problems)
    if isinstance(root, YamlScalar):
        root = replace(root, opaque=True)
    return YamlDocument(root, tuple(problems))


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting beyond :data:`MAX_DEPTH`; not a syntax error, but it stops reading too."""


class _PositionedLoader(yaml.SafeLoader):
    """SafeLoader that records anchors and aliases instead of following them, and stops
    at :data:`MAX_DEPTH` (composing is recursive; deep nesting would overflow the stack)."""

    # YAML 1.2 core schema, instead of SafeLoader's YAML 1.1 one (see module docstring).
    yaml_implicit_resolvers: dict = {}  # noqa: RUF012  # PyYAML's class-level registry

    def __init__(self, text: str):
        super().__init__(text)
        self.refusals: list[tuple[yaml.Mark, str]] = []
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            self.refusals.append(
                (event.start_mark, f"aliases (*{event.anchor}) are not supported; "
                 "write the value out in full")
            )
            return yaml.ScalarNode(_REFUSED, "", event.start_mark, event.end_mark)
        event = self.peek_event()
        if event.anchor is not None:
            self.refusals.append(
                (event.start_mark, f"anchors (&{event.anchor}) are not supported; "
                 "write each value out in full")
            )
            event.anchor = None
        if self._depth >= MAX_DEPTH:
            raise _TooDeep(
                None, None, f"values are nested more than {MAX_DEPTH} levels deep", event.start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_PositionedLoader.add_implicit_resolver(_BOOL, _BOOL_TEXT, list("tTfF"))
_PositionedLoader.add_implicit_resolver(_INT, _INT_TEXT, list("-+0123456789"))
_PositionedLoader.add_implicit_resolver(_FLOAT, _FLOAT_TEXT, list("-+0123456789."))
_PositionedLoader.add_implicit_resolver(_NULL, _NULL_TEXT, ["~", "n", "N", ""])


def _convert(node: yaml.Node, text: str, file: str, problems: list[Problem]) -> YamlNode:
    position = _position_of_mark(node.start_mark)
    if node.tag == _REFUSED:
        return YamlScalar(None, position, refused=True)
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        return _convert_mapping(node, text, file, problems)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        items = tuple(_convert(item, text, file, problems) for item in node.value)
        return YamlSequence(items, position)
    if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_READERS:
        try:
            value = _SCALAR_READERS[node.tag](node.value)
        except ValueError as exc:
            problems.append(_problem(file, position, str(exc)))
            return YamlScalar(None, position, refused=True)
        return YamlScalar(value, position, _value_col(node, text), text=node.value)
    problems.append(
        _problem(
            file,
            position,
            f"the tag {node.tag.replace(_TAG, '!!')} is not supported; "
            "write plain values without '!' tags",
        )
    )
    return YamlScalar(None, position, refused=True)


def _convert_mapping(
    node: yaml.MappingNode, text: str, file: str, problems: list[Problem]
) -> YamlMapping:
    entries: list[YamlEntry] = []
    first_seen: dict[str, Position] = {}
    for key_node, value_node in node.value:
        key_position = _position_of_mark(key_node.start_mark)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _REFUSED:
            problems.append(
                _problem(file, key_position, "a key must be a plain word, such as steps")
            )
            continue
        key = key_node.value
        if key in first_seen:
            problems.append(
                _problem(
                    file,
                    key_position,
                    f"the key '{key}' appears twice here (first on line "
                    f"{first_seen[key].line}); keep only one",
                )
            )
            continue
        first_seen[key] = key_position
        entries.append(YamlEntry(key, key_position, _convert(value_node, text, file, problems)))
    return YamlMapping(tuple(entries), _position_of_mark(node.start_mark))


def _read_bool(text: str) -> bool:
    if not _BOOL_TEXT.match(text):
        raise ValueError(f"{text!r} is not true or false")
    return text.lower() == "true"


def _read_int(text: str) -> int:
    if not _INT_TEXT.match(text):
        raise ValueError(f"{text!r} is not a whole number")
    if len(text) > 18:
        raise ValueError(f"the number {text[:20]}... is too long")
    return int(text)


def _read_float(text: str) -> float:
    if not _FLOAT_TEXT.match(text):
        raise ValueError(f"{text!r} is not a number")
    return float(text)


def _read_null(text: str) -> None:
    if not _NULL_TEXT.match(text):
        raise ValueError(f"{text!r} is not null")


_SCALAR_READERS = {_STR: str, _INT: _read_int, _FLOAT: _read_float, _BOOL: _read_bool,
                   _NULL: _read_null}


def _value_col(node: yaml.ScalarNode, text: str) -> int | None:
    """The column where the value's text starts, if the value is written on one line
    exactly as it reads (so an offset into the value is an offset on the line)."""
    start, end = node.start_mark, node.end_mark
    if start.line != end.line:
        return None
    raw = text[start.index : end.index]
    if node.style is None and raw == node.value:
        return start.column + 1
    if node.style in ("'", '"') and raw[1:-1] == node.value:
        return start.column + 2
    return None


def _syntax(exc: yaml.MarkedYAMLError) -> tuple[str, yaml.Mark | None]:
    """What to say about a YAML error, and where."""
    where = exc.problem_mark or exc.context_mark
    if isinstance(exc, _TooDeep):
        return str(exc.problem), where
    if (exc.context or "").strip() in _AT_CONTEXT:
        where = exc.context_mark or where
    for said in (exc.problem, exc.context):
        hint = _SYNTAX_HINTS.get((said or "").strip())
        if hint:
            return f"YAML syntax: {hint}", where
    problem = (exc.problem or exc.context or "").strip()
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return f"YAML syntax: {problem}{context}", where


def _problem(file: str, position: Position, message: str) -> Problem:
    return Problem(file, position.line, position.col, message)


def _failed(file: str, position: Position, message: str) -> YamlDocument:
    return YamlDocument(None, (_problem(file, position, message),))


def _position_of_mark(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def _position_of_offset(text: str, offset: int | None) -> Position:
    before = text if offset is None else text[:offset]
    line = before.count("\n") + 1
    return Position(line, len(before) - (before.rfind("\n") + 1) + 1)
