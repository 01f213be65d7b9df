"""What can be seen wrong in a template without rendering it, so that ``journeys
validate`` and ``publish`` refuse it: the Jinja2 syntax, and what would go over a render
limit (:mod:`orchestrator.rendering.limits`) whatever the data.

A template is refused when, on some line,

- an expression made only of constants would go over a limit: ``'a' * 1000000000``,
  ``10 ** 100000000``, ``range(1000000)``, ``'x'|center(10**9)``... (worked out with the
  very checks a render makes, so before anything big is built);
- loops over constants (``range(1000)``, a literal list or string), nested in each
  other or one after the other, would together run more than
  :data:`~orchestrator.rendering.limits.MAX_LOOP_ITERATIONS` times. A loop over data
  counts as running once: if even that is too many, every render with data would fail.

What depends on data (a loop over ``contact.attributes.orders``, a macro called in a
loop) is left to the limits at render time. Files a template includes, imports or
extends by a constant name are checked too.
"""

from __future__ import annotations

import contextlib
import operator
import sys
from collections.abc import Iterable, Sized
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.nodes import EvalContext

from orchestrator.rendering.environment import BoundedEnvironment, ConfinedLoader
from orchestrator.rendering.errors import (
    TemplateError,
    TemplateLimitExceeded,
    TemplateSyntaxInvalid,
)
from orchestrator.rendering.limits import RenderLimitExceeded, budget_for

__all__ = ["template_problems", "unreadable"]

_EVERY_TIME = "every render of this template would fail"


class _Unknown(Exception):
    """Not a constant: known only when rendering."""


_UNARY = {nodes.Neg: operator.neg, nodes.Pos: operator.pos}


def template_problems(environment: BoundedEnvironment, loader: ConfinedLoader,
                      files: Iterable[str]) -> tuple[TemplateError, ...]:
    """The problems of the template files ``files`` (``NAME/FILE``) and of the files they
    include, in file and line order."""
    problems: dict[tuple[str, int, str], TemplateError] = {}
    queue = list(files)
    seen: set[str] = set()
    while queue:
        file = queue.pop(0)
        if file in seen:
            continue
        seen.add(file)
        try:
            source, filename, _ = loader.get_source(environment, file)
        except jinja2.TemplateNotFound:
            continue  # the render says so, naming the file that includes it
        for problem in _file_problems(environment, source, file, filename, queue):
            problems.setdefault((problem.file, problem.line or 0, problem.message), problem)
    return tuple(problems[key] for key in sorted(problems))


def unreadable(exc: BaseException) -> str:
    """Why Jinja could not read a template, when it is not a syntax error as such."""
    if isinstance(exc, RecursionError):
        return "the template is nested too deeply to read"
    if "integer string conversion" in str(exc):
        return ("a number in the template is too long to read (at most "
                f"{sys.get_int_max_str_digits()} digits)")
    return f"the template cannot be read: {type(exc).__name__}: {exc}"


def _file_problems(environment: BoundedEnvironment, source: str, file: str, filename: str,
                   queue: list[str]) -> list[TemplateError]:
    # Working out constants is bounded too (Jinja folds some while compiling).
    with budget_for(environment.limits):
        try:
            tree = environment.parse(source, file, filename)
            # Compiling finds what parsing does not (an unknown filter, a misplaced block).
            environment.compile(source, file, filename)
        except jinja2.TemplateSyntaxError as exc:
            return [TemplateSyntaxInvalid(exc.message or "syntax error", file=filename,
                                          line=exc.lineno)]
        except (ValueError, RecursionError) as exc:
            return [TemplateSyntaxInvalid(unreadable(exc), file=filename)]
    queue.extend(_named_templates(tree))
    checker = _Checker(environment, filename)
    with budget_for(environment.limits):
        checker.check_constants(tree)
        checker.check_loops(tree)
    return checker.problems


def _named_templates(tree: nodes.Template) -> list[str]:
    names: list[str] = []
    for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        target = node.template
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            names.append(target.value)
        elif isinstance(target, nodes.List | nodes.Tuple):
            names.extend(item.value for item in target.items
                         if isinstance(item, nodes.Const) and isinstance(item.value, str))
    return names


class _Checker:
    def __init__(self, environment: BoundedEnvironment, filename: str):
        self.environment = environment
        self.filename = filename
        self.problems: list[TemplateError] = []
        self._values: dict[int, Any] = {}  # id(node) -> value, or the exception it raised
        self._origins: dict[int, nodes.Node] = {}  # id(limit exception) -> innermost node
        self._costs: dict[int, int] = {}
        self._eval_context = EvalContext(environment)
        self._context = environment.from_string("").new_context()

    def report(self, line: int, message: str) -> None:
        self.problems.append(TemplateLimitExceeded(f"{message}: {_EVERY_TIME}",
                                                   file=self.filename, line=line))

    # -- Constant expressions

    def check_constants(self, tree: nodes.Template) -> None:
        expressions = (nodes.BinExpr, nodes.UnaryExpr, nodes.Concat, nodes.Call, nodes.Filter)
        reported: set[int] = set()
        for node in tree.find_all(expressions):
            try:
                self.constant(node)
            except RenderLimitExceeded as exc:
                # Once, where it arose: an expression that contains it raises it again.
                if id(exc) not in reported:
                    reported.add(id(exc))
                    self.report(self._origins[id(exc)].lineno, str(exc))
            except Exception:  # not a constant, or fails for another reason
                continue

    def constant(self, node: nodes.Node) -> Any:
        """The value of ``node`` if it is made of constants only, worked out under the
        render limits; raises :class:`_Unknown` otherwise."""
        key = id(node)
        if key not in self._values:
            try:
                self._values[key] = self._evaluate(node)
            except Exception as exc:
                self._values[key] = exc
                if isinstance(exc, RenderLimitExceeded):
                    self._origins.setdefault(id(exc), node)
        value = self._values[key]
        if isinstance(value, Exception):
            raise value
        return value

    def _evaluate(self, node: nodes.Node) -> Any:
        env = self.environment
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.List):
            return [self.constant(item) for item in node.items]
        if isinstance(node, nodes.Tuple):
            return tuple(self.constant(item) for item in node.items)
        if isinstance(node, nodes.UnaryExpr) and type(node) in _UNARY:
            return _UNARY[type(node)](self.constant(node.node))
        if isinstance(node, nodes.BinExpr) and node.operator in env.binop_table:
            left, right = self.constant(node.left), self.constant(node.right)
            if node.operator in env.intercepted_binops:
                return env.call_binop(self._context, node.operator, left, right)
            return env.binop_table[node.operator](left, right)
        if isinstance(node, nodes.Concat):
            return env.bounded_join(tuple(self.constant(item) for item in node.nodes), False)
        if isinstance(node, nodes.Filter) and node.node is not None:
            return env.call_filter(node.name, self.constant(node.node), *self._arguments(node),
                                   eval_ctx=self._eval_context)
        if isinstance(node, nodes.Call):
            function = self._function(node.node)
            args, kwargs = self._arguments(node)
            return env.call(self._context, function, *args, **kwargs)
        raise _Unknown

    def _function(self, node: nodes.Node) -> Any:
        if isinstance(node, nodes.Name) and node.name == "range":
            return self.environment.globals["range"]
        if isinstance(node, nodes.Getattr):  # a method of a constant: 'x'.center(10**9)
            return self.environment.getattr(self.constant(node.node), node.attr)
        raise _Unknown

    def _arguments(self, node: nodes.Call | nodes.Filter) -> tuple[list[Any], dict[str, Any]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unknown
        return ([self.constant(arg) for arg in node.args],
                {keyword.key: self.constant(keyword.value) for keyword in node.kwargs})

    # -- Loops

    def check_loops(self, tree: nodes.Template) -> None:
        limit = self.environment.limits.iterations
        reported = self._report_loops(tree, limit)
        total = self._cost(tree)
        first = next(tree.find_all(nodes.For), None)
        if not reported and total > limit and first is not None:
            self.report(first.lineno, f"the loops of this template run at least {total} "
                                      f"times in all, more than the {limit} loop iterations a "
                                      "render may run (MAX_LOOP_ITERATIONS)")

    def _report_loops(self, node: nodes.Node, limit: int) -> bool:
        """Report the outermost loops that run too often; whether any was."""
        if isinstance(node, nodes.For) and self._cost(node) > limit:
            nested = next(node.find_all(nodes.For), None) is not None
            what = "these nested loops run" if nested else "this loop runs"
            self.report(node.lineno, f"{what} at least {self._cost(node)} times, more than "
                                     f"the {limit} loop iterations a render may run "
                                     "(MAX_LOOP_ITERATIONS)")
            return True
        reported = False
        for child in node.iter_child_nodes():
            reported = self._report_loops(child, limit) or reported
        return reported

    def _cost(self, node: nodes.Node) -> int:
        """At least how many loop iterations running ``node`` once takes."""
        key = id(node)
        if key not in self._costs:
            self._costs[key] = self._work_out_cost(node)
        return self._costs[key]

    def _work_out_cost(self, node: nodes.Node) -> int:
        if isinstance(node, nodes.For):
            count = self._count(node)
            inner = sum(self._cost(child) for child in node.body)
            otherwise = sum(self._cost(child) for child in node.else_)
            return max(count * (1 + inner), otherwise)
        if isinstance(node, nodes.If):
            branches = [node.body, *([branch] for branch in node.elif_), node.else_]
            return max(sum(self._cost(child) for child in branch) for branch in branches)
        if isinstance(node, nodes.Macro | nodes.CallBlock):
            return 0  # runs when called, as many times as it is (unknown here)
        return sum(self._cost(child) for child in node.iter_child_nodes())

    def _count(self, loop: nodes.For) -> int:
        """How many times ``loop`` runs its body: known for a constant iterable without an
        ``if`` filter, else taken as once."""
        if loop.test is None:
            # A constant over a limit (range(10**6)) is reported by check_constants.
            with contextlib.suppress(Exception):
                items = self.constant(loop.iter)
                if isinstance(items, Sized):
                    return len(items)
        return 1
