"""The journey expression language: Jinja2 expression syntax in a sandbox.

Expressions read ``contact``, ``event`` and ``journey`` (see
:mod:`~orchestrator.campaigns.language.expression_rules` for exactly what is allowed). Everything
is checked when the journey is validated, not when a contact reaches the step. Running
time is bounded: the source is at most :data:`MAX_SOURCE_LENGTH` characters, there are
no loops or ranges in the language, and the operators that can build huge values
(``*``, ``**``, ``%`` on text) are checked as they run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateAssertionError, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from orchestrator.campaigns.language.expression_rules import (
    FILTERS,
    MEMBERS,
    ROOT_NAMES,
    TESTS,
    ExpressionProblem,
    check_expression,
    without_strings,
)
from orchestrator.campaigns.language.problems import Position

MAX_SOURCE_LENGTH = 500
MAX_NESTING = 30

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
            where = (
                f" (line {self.position.line}, column {self.position.col})" if self.position else ""
            )
            raise ExpressionFailed(f"expression {self.source!r}{where} failed: {exc}") from exc

    def holds_for_each(self, contexts: Sequence[Mapping[str, object]]) -> list[bool]:
        """Whether the expression is true in each of ``contexts``: one run of one compiled
        function over all of them (a broadcast's segment over the population), not one
        call per context. The same expression tree runs in the same sandbox. Where it
        cannot be evaluated for a context, that context gets False, as one
        :meth:`evaluate` that raises would: the batch is then evaluated context by
        context."""
        rows = [tuple(context.get(name) for name in _ROW_NAMES) for context in contexts]
        if not rows:
            return []
        try:
            marks = "".join(_over_rows(self.source)(rows=rows))
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                AttributeError, RecursionError):
            marks = ""
        if len(marks) == len(rows):
            return [mark == "1" for mark in marks]
        return [self._holds(context) for context in contexts]

    def _holds(self, context: Mapping[str, object]) -> bool:
        try:
            return bool(self.evaluate(context))
        except ExpressionFailed:
            return False


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

    names = _names(environment, tree)
    problems = check_expression(source, tree, names)
    if problems:
        raise ExpressionInvalid(problems)
    template = environment.compile_expression(source)
    return CompiledExpression(source, position, frozenset(names), template)


_ROW_NAMES = ("contact", "event", "journey")


@functools.lru_cache(maxsize=256)
def _over_rows(source: str) -> Any:
    """The checked expression's own tree inside a loop over rows of (contact, event,
    journey), compiled once: a generator of '1' or '0' a row. Built from the tree, not
    from text, so nothing in the expression's source can reach the loop around it."""
    environment = _sandbox()
    loop = nodes.For(
        nodes.Tuple([nodes.Name(name, "store") for name in _ROW_NAMES], "store"),
        nodes.Name("rows", "load"),
        [nodes.Output([nodes.CondExpr(_parse(environment, source), nodes.Const("1"),
                                      nodes.Const("0"))])],
        [], None, False)
    template = environment.from_string(nodes.Template([loop], lineno=1))
    return template.generate


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
    repeats = isinstance(sequence, str | list | tuple) and isinstance(times, int)
    if repeats and len(sequence) * times > _MAX_BUILT_LENGTH:
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
    if re.search(r"(?<![=!<>])=(?!=)", without_strings(source)):
        hints.append("to compare, write ==")
    if re.search(r"&&|\|\|", without_strings(source)):
        hints.append("write 'and' and 'or' instead of && and ||")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return f"the expression is not valid: {message}{hint}"


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
