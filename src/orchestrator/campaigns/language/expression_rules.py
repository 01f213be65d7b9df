"""What the journey expression language allows, checked on an expression's tree.

An expression sees exactly four names, which the engine passes as plain objects:

- ``contact``: stage, kind, attributes, locale, timezone, purchases_total,
  last_purchase_days and ``purchases_within('30d')``;
- ``event``: the touchpoint being handled (type, at, id and its fields);
- ``journey``: id and version;
- ``wait``: after a ``wait_until`` step, ``outcome`` ('event' or 'timeout') and ``event``
  (the touchpoint that ended the wait, or none).

Allowed: those attributes (and any key inside ``contact.attributes``, ``event.address``
and ``event.attributes``), constants, lists, comparisons, ``and``/``or``/``not``,
arithmetic, ``~``, ``a if b else c``, the filters :data:`FILTERS`, the tests
:data:`TESTS`, and one call: ``contact.purchases_within(DURATION)``. Everything else is
refused with a reason, and where possible the offset of the offending name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from jinja2 import nodes

from orchestrator.campaigns.language.durations import DurationInvalid, parse_duration

ROOT_NAMES = ("contact", "event", "journey", "wait")


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
    # after a wait_until step (the step reader checks every path has one)
    "wait": {"outcome": _V, "event": _M},
}

FILTERS = ("abs", "default", "float", "int", "length", "lower", "round", "trim", "upper")
TESTS = ("boolean", "defined", "none", "number", "string", "undefined")


@dataclass(frozen=True)
class ExpressionProblem:
    """Why an expression was refused; ``offset`` is the character where the problem is,
    when it can be pointed at."""

    message: str
    offset: int | None = None


def check_expression(source: str, tree: nodes.Expr, names: set[str]) -> list[ExpressionProblem]:
    """Every reason the expression ``source`` (parsed as ``tree``, reading ``names``) is
    outside the language; empty if it is fine."""
    checker = _Checker(source)
    for name in sorted(names - set(ROOT_NAMES)):
        checker.report(
            f"unknown name '{name}'; expressions can use contact, event, journey and wait",
            checker.offset_of_name(name),
        )
    checker.value(tree)
    return checker.problems


def without_strings(source: str) -> str:
    """``source`` with its string literals emptied, to look for operators."""
    return re.sub(_STRING, "''", source)


_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_TOKEN = re.compile(rf"(?P<string>{_STRING})|(?P<dot>\.\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


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
