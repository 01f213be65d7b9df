"""The journey expression language: Jinja2 expression syntax in a sandbox.

An expression sees exactly three names, which the engine passes as plain objects:

- ``contact``: stage, kind, attributes, locale, timezone, purchases_total,
  last_purchase_days and ``purchases_within('30d')``;
- ``event``: the touchpoint being handled (type, at, id and its fields);
- ``journey``: id and version.

Everything is checked when the journey is validated, not when a contact reaches the
step: unknown names, attributes outside the lists below, calls other than
``contact.purchases_within(DURATION)``, filters and tests outside a short list. Running
time is bounded: the source is at most :data:`MAX_SOURCE_LENGTH` characters, there are
no loops or ranges in the language, and the operators that can build huge values
(``*``, ``**``, ``%`` on text) are checked as they run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from jinja2 import TemplateAssertionError, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from orchestrator.campaigns.durations import DurationInvalid, parse_duration
from orchestrator.campaigns.problems import Position

MAX_SOURCE_LENGTH = 500
MAX_NESTING = 30

ROOT_NAMES = ("contact", "event", "journey")


class Member(Enum):
    """What an attribute of ``contact``, ``event`` or ``journey`` holds."""

    VALUE = "value"  # a value to compare; nothing to look into
    MAPPING = "mapping"  # a free-form mapping: any key may be looked up
    DURATION_METHOD = "method"  # a method taking one duration, such as '30d'


_V, _M = Member.VALUE, Member.MAPPING

MEMBERS: dict[str, dict[str, Member]] = {
    "contact": {
        "stage": _V,
        "kind": _V,
        "attributes": _M,
        "locale": _V,
        "timezone": _V,
        "purchases_within": Member.DURATION_METHOD,
        "purchases_total": _V,
        "last_purchase_days": _V,
    },
    # type, at and id of every touchpoint, then the fields of the SPEC's ingest table,
    # and the stage of a stage.entered event.
    "event": {
        name: _M if name in ("address", "attributes") else _V
        for name in (
            "type", "at", "id", "contact", "kind", "email", "phone", "address", "timezone",
            "locale", "attributes", "network", "handle", "verified_by", "channel", "purpose",
            "source", "evidence", "amount", "currency", "sku", "text", "stance", "author_kind",
            "body", "message", "provider_id", "reason", "stage",
        )
    },
    "journey": {"id": _V, "version": _V},
}

FILTERS = ("abs", "default", "float", "int", "length", "lower", "round", "trim", "upper")
TESTS = ("boolean", "defined", "none", "number", "string", "undefined")

# Limits on values built while running, far above anything a condition needs.
_MAX_BUILT_LENGTH = 10_000
_MAX_INT_BITS = 4096


class ExpressionInvalid(ValueError):
    """An expression that cannot be used; ``problems`` says every reason."""

    def __init__(self, problems: list[ExpressionProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


class ExpressionFailed(Exception):
    """A valid expression that could not be evaluated for this contact or event, for
    example a comparison between a missing field and a number."""


@dataclass(frozen=True)
class ExpressionProblem:
    """Why an expression was refused; ``offset`` is the character where the problem is,
    when it can be pointed at."""

    message: str
    offset: int | None = None


@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression, ready to evaluate against the engine's context."""

    source: str
    position: Position | None
    names: frozenset[str]
    _template: Any = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, object]) -> object:
        """The value of the expression. Only ``contact``, ``event`` and ``journey`` are
        taken from ``context``; a name it lacks is undefined. Raises
        :class:`ExpressionFailed` if evaluation fails."""
        values = {name: context[name] for name in ROOT_NAMES if name in context}
        try:
            return self._template(**values)
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                AttributeError, RecursionError) as exc:
            where = f" (line {self.position.line}, column {self.position.col})" if self.position else ""
            raise ExpressionFailed(f"expression {self.source!r}{where} failed: {exc}") from exc


def compile_expression(source: str, position: Position | None = None) -> CompiledExpression:
    """Check ``source`` and compile it; raises :class:`ExpressionInvalid` with every
    problem found."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionInvalid([ExpressionProblem(
            "expected an expression such as contact.stage == 'light_buyer'")])
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionInvalid([ExpressionProblem(
            f"the expression is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}")])
    environment = _sandbox()
    too_deep = ExpressionProblem(
        f"the expression is nested more than {MAX_NESTING} levels deep; split it up")
    try:
        tree = _parse(environment, source)
    except TemplateSyntaxError as exc:
        at = re.search(r" at (\d+)$", exc.message or "")
        offset = int(at.group(1)) if at else None
        raise ExpressionInvalid([ExpressionProblem(_syntax_message(source, exc), offset)]) from None
    except RecursionError:
        raise ExpressionInvalid([too_deep]) from None
    # Jinja's analysis and code generation recurse over the tree, and so does the checker.
    if _nesting(tree) > MAX_NESTING:
        raise ExpressionInvalid([too_deep])

    checker = _Checker(source)
    names = _names(environment, tree)
    for name in sorted(names - set(ROOT_NAMES)):
        checker.report(
            f"unknown name '{name}'; expressions can use contact, event and journey",
            checker.offset_of_name(name),
        )
    checker.value(tree)
    if checker.problems:
        raise ExpressionInvalid(checker.problems)
    template = environment.compile_expression(source)
    return CompiledExpression(source, position, frozenset(names), template)


class _ExpressionSandbox(ImmutableSandboxedEnvironment):
    """The sandbox expressions run in: no globals, a short list of filters and tests,
    and operators that refuse to build huge values."""

    # Also keeps these operators from being folded at compile time, where the checks
    # below would not run.
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("text formatting with % is not available; join text with ~")
        if operator == "*":
            _check_repetition(left, right)
            _check_repetition(right, left)
            _check_int_bits(left, right, _bits(left) + _bits(right))
        if operator == "**":
            exponent = right if isinstance(right, int) else 0
            _check_int_bits(left, right, _bits(left) * abs(exponent))
        return super().call_binop(context, operator, left, right)


def _check_repetition(sequence: Any, times: Any) -> None:
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        if len(sequence) * times > _MAX_BUILT_LENGTH:
            raise SecurityError(f"the result would be longer than {_MAX_BUILT_LENGTH} items")


def _check_int_bits(left: Any, right: Any, bits: int) -> None:
    if isinstance(left, int) and isinstance(right, int) and bits > _MAX_INT_BITS:
        raise SecurityError("the result would be too large a number")


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


@functools.cache
def _sandbox() -> _ExpressionSandbox:
    environment = _ExpressionSandbox()
    environment.globals.clear()
    environment.filters = {name: DEFAULT_FILTERS[name] for name in FILTERS}
    environment.tests = {name: DEFAULT_TESTS[name] for name in TESTS}
    return environment


def _parse(environment: _ExpressionSandbox, source: str) -> nodes.Expr:
    # What Environment.compile_expression does, stopping at the tree so it can be checked.
    parser = Parser(environment, source, state="variable")
    tree = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError(
            f"unexpected {parser.stream.current.value!r} after the end of the expression",
            parser.stream.current.lineno,
        )
    return tree


def _nesting(tree: nodes.Node) -> int:
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def _names(environment: _ExpressionSandbox, tree: nodes.Expr) -> set[str]:
    template = nodes.Template([nodes.Output([tree], lineno=1)], lineno=1)
    template.set_environment(environment)
    try:
        return set(meta.find_undeclared_variables(template))
    except TemplateAssertionError:
        # An unknown filter or test stops Jinja's analysis; the checker reports it.
        return {name.name for name in tree.find_all(nodes.Name)}


def _syntax_message(source: str, exc: TemplateSyntaxError) -> str:
    message = (exc.message or "").replace("end of print statement", "end of the expression")
    message = message.replace("end of template", "end of the expression")
    message = re.sub(r" at \d+$", "", message)  # the position is reported as a column
    hints = []
    if re.search(r"(?<![=!<>])=(?!=)", _without_strings(source)):
        hints.append("to compare, write ==")
    if re.search(r"&&|\|\|", _without_strings(source)):
        hints.append("write 'and' and 'or' instead of && and ||")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return f"the expression is not valid: {message}{hint}"


_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_TOKEN = re.compile(rf"(?P<string>{_STRING})|(?P<dot>\.\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


def _without_strings(source: str) -> str:
    return re.sub(_STRING, "''", source)


class _Kind(Enum):
    ROOT = "root"
    VALUE = "value"
    MAPPING = "mapping"
    METHOD = "method"
    UNKNOWN = "unknown"  # already reported; say nothing more about it


@dataclass(frozen=True)
class _Seen:
    kind: _Kind
    path: str  # the expression text that produced it, for messages: "contact.stage"


_UNKNOWN = _Seen(_Kind.UNKNOWN, "")
_VALUE = _Seen(_Kind.VALUE, "")

_MEMBER_KIND = {Member.VALUE: _Kind.VALUE, Member.MAPPING: _Kind.MAPPING,
                Member.DURATION_METHOD: _Kind.METHOD}

_DESCRIPTIONS = {
    "Dict": "mappings ({...})",
    "Slice": "slices ([a:b])",
    "Call": "calls",
    "NSRef": "namespace references",
}


class _Checker:
    """Walks an expression's tree, allowing only what the module docstring lists."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[ExpressionProblem] = []
        self._tokens = [
            (match.start("name"), match.group("name"), match.group("dot") is not None)
            for match in _TOKEN.finditer(source)
            if match.group("name")
        ]

    def report(self, message: str, offset: int | None = None) -> None:
        problem = ExpressionProblem(message, offset)
        if problem not in self.problems:
            self.problems.append(problem)

    def offset_of_name(self, name: str) -> int | None:
        return next((at for at, text, dotted in self._tokens if text == name and not dotted), None)

    def offset_of_attribute(self, name: str) -> int | None:
        return next((at for at, text, dotted in self._tokens if text == name and dotted), None)

    def value(self, node: nodes.Node) -> _Seen:
        """Check ``node`` where a value is needed."""
        seen = self.visit(node)
        if seen.kind in (_Kind.ROOT, _Kind.METHOD):
            self._not_a_value(seen)
            return _UNKNOWN
        return seen

    def _not_a_value(self, seen: _Seen) -> None:
        if seen.kind is _Kind.ROOT:
            example = next(iter(MEMBERS[seen.path]))
            self.report(
                f"'{seen.path}' on its own is not a value; use one of its attributes, "
                f"such as {seen.path}.{example}",
                self.offset_of_name(seen.path),
            )
        else:
            self.report(
                f"'{seen.path}' must be called with a duration, such as {seen.path}('30d')",
                self.offset_of_attribute(seen.path.rpartition(".")[2]),
            )

    def visit(self, node: nodes.Node) -> _Seen:
        handler = getattr(self, f"_visit_{type(node).__name__}", None)
        if handler is None:
            kind = type(node).__name__
            self.report(f"{_DESCRIPTIONS.get(kind, kind)} cannot be used in expressions")
            return _UNKNOWN
        return handler(node)

    def _visit_Name(self, node: nodes.Name) -> _Seen:
        if node.name in ROOT_NAMES:
            return _Seen(_Kind.ROOT, node.name)
        return _UNKNOWN  # reported with the undeclared names

    def _visit_Const(self, node: nodes.Const) -> _Seen:
        return _VALUE

    def _visit_List(self, node: nodes.List) -> _Seen:
        for item in node.items:
            self.value(item)
        return _VALUE

    _visit_Tuple = _visit_List

    def _visit_Getattr(self, node: nodes.Getattr) -> _Seen:
        return self._member(self.visit(node.node), node.attr)

    def _visit_Getitem(self, node: nodes.Getitem) -> _Seen:
        owner = self.visit(node.node)
        key = node.arg
        if isinstance(key, nodes.Slice):
            self.report(f"{_DESCRIPTIONS['Slice']} cannot be used in expressions")
            return _UNKNOWN
        if not isinstance(key, nodes.Const) or type(key.value) not in (str, int):
            self.report("look up a fixed key in [...], such as contact.attributes['vip']")
            return _UNKNOWN
        if isinstance(key.value, str) and (
            owner.kind in (_Kind.ROOT, _Kind.MAPPING) or key.value.startswith("_")
        ):
            return self._member(owner, key.value)
        if owner.kind in (_Kind.ROOT, _Kind.METHOD):
            self._not_a_value(owner)
            return _UNKNOWN
        if owner.kind is _Kind.UNKNOWN:
            return _UNKNOWN
        # An item of a text or a list, such as event.text[0].
        return _Seen(_Kind.VALUE, owner.path)

    def _member(self, owner: _Seen, name: str) -> _Seen:
        if name.startswith("_"):
            self.report(
                f"'{name}' is not available: names starting with '_' are internal",
                self.offset_of_attribute(name),
            )
            return _UNKNOWN
        path = f"{owner.path}.{name}"
        if owner.kind is _Kind.ROOT:
            members = MEMBERS[owner.path]
            if name not in members:
                self.report(
                    f"'{owner.path}' has no attribute '{name}'; expected one of: "
                    f"{', '.join(members)}",
                    self.offset_of_attribute(name),
                )
                return _UNKNOWN
            return _Seen(_MEMBER_KIND[members[name]], path)
        if owner.kind is _Kind.MAPPING:
            return _Seen(_Kind.MAPPING, path)
        if owner.kind in (_Kind.VALUE, _Kind.METHOD):
            self.report(
                f"'{owner.path}' has no attribute '{name}'; only contact.attributes, "
                "event.address and event.attributes can be looked into",
                self.offset_of_attribute(name),
            )
        return _UNKNOWN

    def _visit_Call(self, node: nodes.Call) -> _Seen:
        callee = self.visit(node.node)
        if callee.kind is _Kind.UNKNOWN:
            return _UNKNOWN
        if callee.kind is not _Kind.METHOD:
            self.report(
                "only contact.purchases_within(DURATION) can be called, "
                f"such as contact.purchases_within('30d'); '{callee.path}' cannot"
            )
            return _UNKNOWN
        arguments = node.args
        if (
            len(arguments) != 1
            or node.kwargs
            or node.dyn_args
            or node.dyn_kwargs
            or not isinstance(arguments[0], nodes.Const)
        ):
            self.report(f"{callee.path} takes one duration in quotes, such as '30d'")
            return _VALUE
        try:
            parse_duration(arguments[0].value)
        except DurationInvalid as exc:
            self.report(f"{callee.path}: {exc}")
        return _VALUE

    def _visit_Filter(self, node: nodes.Filter) -> _Seen:
        return self._applied(node, "filter", FILTERS, "lower")

    def _visit_Test(self, node: nodes.Test) -> _Seen:
        return self._applied(node, "test", TESTS, "defined")

    def _applied(self, node: nodes.Filter | nodes.Test, what: str, allowed: tuple[str, ...],
                 example: str) -> _Seen:
        if node.name not in allowed:
            self.report(
                f"the {what} '{node.name}' is not available; expected one of: "
                f"{', '.join(allowed)}",
                self.offset_of_attribute(node.name) or self.offset_of_name(node.name),
            )
        if node.node is not None:
            self.value(node.node)
        for argument in [*node.args, *(pair.value for pair in node.kwargs)]:
            self.value(argument)
        if node.dyn_args or node.dyn_kwargs:
            self.report(f"write the arguments of the {what} '{node.name}' out, without * or **")
        return _VALUE

    def _visit_Compare(self, node: nodes.Compare) -> _Seen:
        self.value(node.expr)
        for operand in node.ops:
            self.value(operand.expr)
        return _VALUE

    def _visit_BinExpr(self, node: nodes.BinExpr) -> _Seen:
        self.value(node.left)
        self.value(node.right)
        return _VALUE

    _visit_And = _visit_Or = _visit_Add = _visit_Sub = _visit_Mul = _visit_Div = _visit_BinExpr
    _visit_FloorDiv = _visit_Pow = _visit_BinExpr

    def _visit_Mod(self, node: nodes.Mod) -> _Seen:
        if isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            self.report("text formatting with % is not available; join text with ~")
        return self._visit_BinExpr(node)

    def _visit_UnaryExpr(self, node: nodes.UnaryExpr) -> _Seen:
        self.value(node.node)
        return _VALUE

    _visit_Not = _visit_Neg = _visit_Pos = _visit_UnaryExpr

    def _visit_Concat(self, node: nodes.Concat) -> _Seen:
        for part in node.nodes:
            self.value(part)
        return _VALUE

    def _visit_CondExpr(self, node: nodes.CondExpr) -> _Seen:
        for part in (node.test, node.expr1, node.expr2):
            if part is not None:
                self.value(part)
        return _VALUE


__all__ = [
    "FILTERS",
    "MAX_SOURCE_LENGTH",
    "MEMBERS",
    "ROOT_NAMES",
    "TESTS",
    "CompiledExpression",
    "ExpressionFailed",
    "ExpressionInvalid",
    "ExpressionProblem",
    "compile_expression",
]
