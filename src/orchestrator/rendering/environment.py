"""The Jinja2 environment message templates run in: a sandbox that reads only files
inside the templates folder, escapes HTML in ``.html`` files (never in ``.txt``), treats
every missing variable as an error, and keeps every render within the limits of
:mod:`orchestrator.rendering.limits`.

Where those limits are checked, so that no template gets round them:

- every ``{% for %}`` loop iterates through a :class:`~.limits.BoundedIterator` (the
  code generator wraps the loop's iterable), as do the items filters produce;
- every call (``range()``, macros, string methods), the operators ``*``, ``**``, ``+``
  and ``%``, every filter and every ``~`` check the clock and the sizes they would make;
- every ``{{ ... }}`` output is sized before it becomes text, and every captured body
  (``{% set %}`` blocks, macros, ``{% filter %}``) before it is joined;
- ``range()`` is capped, and ``lipsum()`` (a loop of any length, of no use in a message)
  is not there.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, TemplateNotFound, nodes, select_autoescape
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.filters import make_attrgetter
from jinja2.loaders import split_template_path
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from markupsafe import Markup

from orchestrator.rendering.limits import (
    BoundedIterator,
    RenderLimits,
    SizeLimitExceeded,
    bounded_list,
    bounded_range,
    built,
    check_binop,
    check_format_spec,
    check_percent_format,
    check_printable,
    check_sequence,
    check_text,
    check_text_method,
    check_time,
    check_value,
    printed_length,
    replaced_length,
)
from orchestrator.rendering.variables import NamedUndefined

__all__ = ["BoundedEnvironment", "ConfinedLoader", "build_environment"]


class ConfinedLoader(BaseLoader):
    """Loads ``NAME/FILE`` (and whatever a template includes) from ``root`` only.

    Jinja's FileSystemLoader already refuses ``..``, but it follows symbolic links out
    of the folder; this loader resolves each path and refuses anything outside.
    """

    def __init__(self, root: Path):
        self.root = root
        self.served: set[str] = set()  # file names given to Jinja, to spot its frames

    def path_of(self, template: str) -> Path:
        return self.root.joinpath(*split_template_path(template))

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.path_of(template)
        try:
            resolved = path.resolve(strict=True)
            inside = resolved.is_relative_to(self.root.resolve(strict=True))
            if not inside or not resolved.is_file():
                raise TemplateNotFound(template)
            source = resolved.read_text(encoding="utf-8")
            modified = os.stat(resolved).st_mtime_ns
        except (OSError, UnicodeDecodeError, RuntimeError):
            raise TemplateNotFound(template) from None
        filename = str(path)
        self.served.add(filename)

        def up_to_date() -> bool:
            try:
                return os.stat(resolved).st_mtime_ns == modified
            except OSError:
                return False

        return source, filename, up_to_date


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every loop and every ``~`` going through the
    environment's checks."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_loop"), [loop.iter],
                                   [], None, None, lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        if frame.eval_ctx.volatile:
            self.write("), context.eval_ctx.autoescape)")
        else:
            self.write(f"), {bool(frame.eval_ctx.autoescape)})")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, within ``limits`` (see the module docstring for where they are
    checked)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = BoundedCodeGenerator

    def __init__(self, limits: RenderLimits, **options: Any):
        self.limits = limits
        super().__init__(finalize=self._sized_output, **options)
        self.concat = self._bounded_concat  # type: ignore[method-assign]
        self.globals["range"] = bounded_range(limits)
        self.globals.pop("lipsum", None)
        self.filters = {name: _bounded_filter(name, function, limits)
                        for name, function in self.filters.items()}

    # -- Hooks Jinja's sandbox offers

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_time()
        check_binop(operator, left, right, self.limits)
        return check_value(self.binop_table[operator](left, right), self.limits)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_time()
        if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (BoundedIterator(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes | bytearray):
            args = check_text_method(owner, getattr(__obj, "__name__", ""), args, kwargs,
                                     __self.limits)
        result = super().call(__context, __obj, *args, **kwargs)
        return check_value(result, __self.limits)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``, with a formatter that sizes each field."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
                value.__name__ not in ("format", "format_map")):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        text_type = type(text)
        is_format_map = value.__name__ == "format_map"
        formatter: SandboxedFormatter
        if isinstance(text, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=text.escape)
        else:
            formatter = _BoundedFormatter(self)

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(
                        f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs = args[0]
                args = ()
            return text_type(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(bounded_format, value)

    # -- Used by the generated code

    def bounded_loop(self, iterable: Iterable[Any]) -> BoundedIterator:
        return BoundedIterator(iterable)

    def bounded_join(self, values: tuple[Any, ...], markup: bool) -> str:
        check_time()
        check_printable(values, self.limits)
        return check_value(markup_join(values) if markup else str_join(values), self.limits)

    def _bounded_concat(self, pieces: Iterable[str]) -> str:
        collected = []
        total = 0
        for piece in pieces:
            total += len(piece)
            if total > self.limits.string:
                raise SizeLimitExceeded(f"the text would be longer than {self.limits.string} "
                                        "characters (MAX_STRING_LENGTH)")
            collected.append(piece)
        check_time()
        built(total)
        return "".join(collected)

    def _sized_output(self, value: Any) -> Any:
        check_time()
        check_printable((value,), self.limits, "the output")
        built(printed_length(value, self.limits.string))
        return value


class _BoundedFormatter(SandboxedFormatter):
    """Counts what ``str.format`` would produce, field by field, before it does."""

    _env: BoundedEnvironment

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._total = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_time()
        limits = self._env.limits
        width = check_format_spec(format_spec, limits)
        self._total += max(width, printed_length(value, limits.string))
        check_text(self._total, limits, "a formatted string")
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    pass


# -- Filters: each checks the clock; those that can make something much bigger than
# what they are given check its size first; iterators they return count as loops.

# Filters that turn their value into text (so a list of long strings must fit first).
_TEXT_FILTERS = frozenset({
    "capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower",
    "pprint", "replace", "safe", "string", "striptags", "title", "tojson", "trim",
    "truncate", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
})


def _as_text(value: Any, limits: RenderLimits) -> str:
    if isinstance(value, str):
        return value
    check_printable((value,), limits)
    return str(value)


def _check_center(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    width = arguments["width"]
    if isinstance(width, int):
        check_text(width, limits)


def _check_indent(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    text, width = _as_text(arguments["s"], limits), arguments["width"]
    indent = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    check_text(len(text) + (text.count("\n") + 1) * max(indent, 0), limits)


def _check_replace(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    text = _as_text(arguments["s"], limits)
    count = arguments["count"]
    check_text(replaced_length(text, _as_text(arguments["old"], limits),
                               _as_text(arguments["new"], limits),
                               -1 if count is None else count), limits)


def _check_format(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    check_percent_format(_as_text(arguments["value"], limits),
                         arguments["kwargs"] or arguments["args"], limits)


def _check_wordwrap(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    text = _as_text(arguments["s"], limits)
    wrap = arguments["wrapstring"]
    width = arguments["width"] if isinstance(arguments["width"], int) else 1
    if isinstance(wrap, str):
        check_text(len(text) + len(text) // max(width, 1) * len(wrap), limits)


def _check_batch(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    if arguments["fill_with"] is not None and isinstance(arguments["linecount"], int):
        check_sequence(arguments["linecount"], limits)


def _read_items(environment: Any, arguments: dict[str, Any], name: str) -> list[Any]:
    """The items of ``arguments[name]``, read once (counted as loop iterations) and, with
    an ``attribute``, looked up; the filter is then given them instead."""
    items = bounded_list(arguments[name])
    if arguments.get("attribute") is not None:
        getter = make_attrgetter(environment, arguments["attribute"])
        items = [getter(item) for item in items]
        arguments["attribute"] = None
    arguments[name] = items
    return items


def _check_join(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    items = _read_items(arguments["eval_ctx"].environment, arguments, "value")
    separator = _as_text(arguments["d"], limits)
    size = sum(printed_length(item, limits.string) for item in items)
    check_text(size + len(separator) * max(len(items) - 1, 0), limits)


def _check_sum(limits: RenderLimits, arguments: dict[str, Any]) -> None:
    start = arguments["start"]
    if isinstance(start, str | list | tuple):
        items = _read_items(arguments["environment"], arguments, "iterable")
        size = len(start) + sum(len(item) for item in items
                                if isinstance(item, str | list | tuple))
        (check_text if isinstance(start, str) else check_sequence)(size, limits)


_FILTER_CHECKS: dict[str, Callable[[RenderLimits, dict[str, Any]], None]] = {
    "batch": _check_batch, "center": _check_center, "format": _check_format,
    "indent": _check_indent, "join": _check_join, "replace": _check_replace,
    "sum": _check_sum, "wordwrap": _check_wordwrap,
}


def _bounded_filter(name: str, function: Callable[..., Any],
                    limits: RenderLimits) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    signature = inspect.signature(function) if check is not None else None
    # A filter marked pass_context, pass_eval_context or pass_environment gets that first.
    first = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
    textual = name in _TEXT_FILTERS

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check_time()
        if textual and len(args) > first and not isinstance(args[first], str):
            check_printable((args[first],), limits)
        if signature is not None and check is not None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check(limits, bound.arguments)
            args, kwargs = bound.args, bound.kwargs
        result = function(*args, **kwargs)
        if isinstance(result, Iterator) and not isinstance(result, BoundedIterator):
            return BoundedIterator(result)
        return check_value(result, limits)

    return bounded


def build_environment(root: Path,
                      limits: RenderLimits | None = None, *,
                      loader: Any = None) -> tuple[BoundedEnvironment, Any]:
    """The environment for the templates under ``root``, and its loader (by default a
    :class:`ConfinedLoader`; the pinned templates of a version use their own)."""
    loader = loader if loader is not None else ConfinedLoader(root)
    # Immutable: a template has no business changing the lists and dicts it is given.
    environment = BoundedEnvironment(
        limits or RenderLimits(),
        loader=loader,
        undefined=NamedUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm"),
                                     disabled_extensions=("txt",),
                                     default_for_string=False, default=False),
        # Text templates read naturally: a {% block %} line leaves no blank line behind.
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    return environment, loader

