"""How much one render may cost: the limits every message template runs under, and the
checks that keep a template inside them, whatever it does (docs/templates-limits.md).

A render is the rendering of one message (all its parts: subject, text, html). It may
take at most :data:`RENDER_TIME_LIMIT` seconds and :data:`MAX_LOOP_ITERATIONS` loop
iterations, produce at most :data:`MAX_OUTPUT_LENGTH` characters, build at most
:data:`MAX_BUILT_LENGTH` characters of strings in all (which bounds its memory), and never
build a string longer than :data:`MAX_STRING_LENGTH`, a list longer than
:data:`MAX_SEQUENCE_LENGTH`, a ``range()`` longer than :data:`MAX_RANGE_LENGTH` or an
integer wider than :data:`MAX_INTEGER_BITS`.

The checks are cooperative: no thread, no signal. Everything a template does goes
through the sandbox (loops, calls, operators, filters, output), which checks the clock
and the counters there. A single operation in C (``'a' * n``, ``10 ** n``,
``s.center(n)``) cannot be interrupted, so its size is worked out from its operands
*before* it runs and refused if too big; what is left then runs in milliseconds.

A limit crossed raises :class:`SizeLimitExceeded` (an ``OverflowError``) or
:class:`TimeLimitExceeded` (a ``TimeoutError``); the renderer reports either as a
:class:`~orchestrator.rendering.errors.TemplateLimitExceeded` naming the file and line.
Messages name sizes and the limit, never the values (they may be contact data).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.utils import Namespace

from orchestrator.rendering.variables import Variables

__all__ = [
    "MAX_BUILT_LENGTH",
    "MAX_INTEGER_BITS",
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_LENGTH",
    "MAX_RANGE_LENGTH",
    "MAX_SEQUENCE_LENGTH",
    "MAX_STRING_LENGTH",
    "RENDER_TIME_LIMIT",
    "BoundedIterator",
    "RenderBudget",
    "RenderLimitExceeded",
    "RenderLimits",
    "SizeLimitExceeded",
    "TimeLimitExceeded",
]

#: Seconds one message may take to render (all its parts), on the monotonic clock.
RENDER_TIME_LIMIT = 2.0
#: Characters one rendered message may have, all its parts together (a long HTML
#: email is some 100 000).
MAX_OUTPUT_LENGTH = 1_000_000
#: Characters of any one string a template builds (``*``, ``+``, ``~``, ``%``, filters,
#: string methods, ``{% set %}`` blocks, macros).
MAX_STRING_LENGTH = 1_000_000
#: Characters of all the strings one render builds, added up (and items of the lists it
#: builds): twenty strings of the longest kind. Without it a loop could keep making new
#: long strings (and keep them, in a list) until memory runs out, well within the time.
MAX_BUILT_LENGTH = 20_000_000
#: Items of a list or tuple a template builds with ``*`` or ``+``.
MAX_SEQUENCE_LENGTH = 100_000
#: Items of one ``range()`` (Jinja's own sandbox allows 100 000).
MAX_RANGE_LENGTH = 10_000
#: Loop iterations in one render, every ``{% for %}`` together (nested loops multiply),
#: with the items that filters such as ``map``, ``select`` or ``slice`` produce.
MAX_LOOP_ITERATIONS = 100_000
#: Bits of an integer arithmetic may produce: about 1 200 decimal digits.
MAX_INTEGER_BITS = 4096


@dataclass(frozen=True)
class RenderLimits:
    """The limits of one renderer; the defaults are the constants above."""

    time: float = RENDER_TIME_LIMIT
    output: int = MAX_OUTPUT_LENGTH
    string: int = MAX_STRING_LENGTH
    built: int = MAX_BUILT_LENGTH
    sequence: int = MAX_SEQUENCE_LENGTH
    range: int = MAX_RANGE_LENGTH
    iterations: int = MAX_LOOP_ITERATIONS
    integer_bits: int = MAX_INTEGER_BITS


class RenderLimitExceeded(Exception):
    """A template went over one of the render limits."""


class SizeLimitExceeded(RenderLimitExceeded, OverflowError):
    """Something would be too big: a string, a list, a range, an integer, the output,
    or the number of loop iterations."""


class TimeLimitExceeded(RenderLimitExceeded, TimeoutError):
    """The render took longer than its time limit."""


class RenderBudget:
    """What one render has used so far: time, loop iterations, characters built and
    characters of output."""

    def __init__(self, limits: RenderLimits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.time
        self.iterations = 0
        self.built = 0
        self.output = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TimeLimitExceeded(
                f"rendering took longer than {self.limits.time:g} s (RENDER_TIME_LIMIT)")

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            raise SizeLimitExceeded(
                f"more than {self.limits.iterations} loop iterations in one render "
                "(MAX_LOOP_ITERATIONS)")
        if not self.iterations & 0xFF:
            self.check_time()

    def build(self, characters: int) -> None:
        self.built += characters
        if self.built > self.limits.built:
            raise SizeLimitExceeded(
                f"the strings built in one render would add up to more than "
                f"{self.limits.built} characters (MAX_BUILT_LENGTH)")

    def emit(self, characters: int) -> None:
        self.output += characters
        if self.output > self.limits.output:
            raise SizeLimitExceeded(
                f"the message would be longer than {self.limits.output} characters "
                "(MAX_OUTPUT_LENGTH)")
        self.check_time()


_active: ContextVar[RenderBudget | None] = ContextVar("render_budget", default=None)


@contextlib.contextmanager
def budget_for(limits: RenderLimits) -> Iterator[RenderBudget]:
    """A fresh budget, the one every check uses until the block ends."""
    budget = RenderBudget(limits)
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def check_time() -> None:
    """Raise if the render in progress is over its time (no-op outside a render, as when
    Jinja folds constants while compiling)."""
    budget = _active.get()
    if budget is not None:
        budget.check_time()


def iterate() -> None:
    budget = _active.get()
    if budget is not None:
        budget.iterate()


def built(characters: int) -> None:
    """Count ``characters`` just built against the render's total."""
    budget = _active.get()
    if budget is not None:
        budget.build(characters)


class BoundedIterator:
    """Iterates ``iterable``, counting each item against the render's loop budget. Has a
    length when the iterable has one (Jinja's ``loop.length`` then needs no copy)."""

    __slots__ = ("_items", "_source")

    def __init__(self, iterable: Iterable[Any]):
        self._source = iterable
        self._items = iter(iterable)

    def __iter__(self) -> BoundedIterator:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        iterate()
        return item

    def __len__(self) -> int:
        return len(self._source)  # type: ignore[arg-type]  # TypeError if unsized: Jinja expects it


def bounded_list(iterable: Iterable[Any]) -> list[Any]:
    """``list(iterable)``, each item counted against the loop budget."""
    if isinstance(iterable, list | tuple | str | BoundedIterator):
        return list(iterable)  # already counted, or no loop at all
    return list(BoundedIterator(iterable))


# -- Sizes


def printed_length(value: Any, limit: int, _depth: int = 0) -> int:
    """A lower bound of ``len(str(value))``, worked out without building the string;
    stops counting once past ``limit``."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 4
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 1  # log10(2) > 0.3
    if _depth > 50 or isinstance(value, Variables):
        return 1  # Variables print as their path
    if isinstance(value, Namespace):
        with contextlib.suppress(AttributeError):
            value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, Mapping):
        items: Iterable[Any] = (part for pair in value.items() for part in pair)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 1
    total = 2
    for item in items:
        total += printed_length(item, limit - total, _depth + 1) + 2
        if total > limit:
            break
    return total


def check_text(length: int, limits: RenderLimits, what: str = "a string") -> None:
    if length > limits.string:
        raise SizeLimitExceeded(f"{what} of {length} characters would be longer than "
                                f"{limits.string} (MAX_STRING_LENGTH)")


def check_sequence(length: int, limits: RenderLimits) -> None:
    if length > limits.sequence:
        raise SizeLimitExceeded(f"a list of {length} items would be longer than "
                                f"{limits.sequence} (MAX_SEQUENCE_LENGTH)")


def check_integer_bits(bits: int, limits: RenderLimits) -> None:
    if bits > limits.integer_bits:
        raise SizeLimitExceeded(f"an integer of {bits} bits would be wider than "
                                f"{limits.integer_bits} bits (MAX_INTEGER_BITS)")


def check_value(value: Any, limits: RenderLimits) -> Any:
    """``value``, if it is within the limits (for what an operation has produced);
    strings and lists count towards what the render has built."""
    if isinstance(value, str | bytes | bytearray):
        check_text(len(value), limits)
        built(len(value))
    elif isinstance(value, list | tuple):
        built(len(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        check_integer_bits(value.bit_length(), limits)
    return value


def check_printable(values: Iterable[Any], limits: RenderLimits,
                    what: str = "the text") -> None:
    """Refuse to turn ``values`` into one string if it would be over the string limit."""
    total = 0
    for value in values:
        total += printed_length(value, limits.string - total)
        if total > limits.string:
            raise SizeLimitExceeded(f"{what} would be longer than {limits.string} "
                                    "characters (MAX_STRING_LENGTH)")


def bounded_range(limits: RenderLimits) -> Any:
    def range_(*args: int) -> range:
        items = range(*args)
        try:
            length = len(items)
        except OverflowError:
            length = None
        if length is None or length > limits.range:
            size = "more items than this machine can count" if length is None else (
                f"{length} items")
            raise SizeLimitExceeded(f"a range of {size} is longer than {limits.range} "
                                    "(MAX_RANGE_LENGTH)")
        return items

    range_.__name__ = "range"
    return range_


# -- Operators: sizes worked out from the operands, before the operation runs


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_binop(operator: str, left: Any, right: Any, limits: RenderLimits) -> None:
    """Raise if ``left OPERATOR right`` would be over a limit."""
    if operator == "*":
        _check_multiply(left, right, limits)
    elif operator == "**":
        _check_power(left, right, limits)
    elif operator == "+":
        _check_add(left, right, limits)
    elif operator == "%" and isinstance(left, str | bytes):
        check_percent_format(left, right, limits)


def _check_multiply(left: Any, right: Any, limits: RenderLimits) -> None:
    if _is_integer(left) and _is_integer(right):
        check_integer_bits(left.bit_length() + right.bit_length(), limits)
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and times > 0:
            if isinstance(sequence, str | bytes | bytearray):
                check_text(len(sequence) * times, limits)
            elif isinstance(sequence, list | tuple):
                check_sequence(len(sequence) * times, limits)


def _check_power(base: Any, exponent: Any, limits: RenderLimits) -> None:
    if _is_integer(base) and _is_integer(exponent) and exponent > 0 and abs(base) > 1:
        # |base| >= 2**(bits - 1), so the result has at least (bits - 1) * exponent bits.
        check_integer_bits((abs(base).bit_length() - 1) * exponent + 1, limits)


def _check_add(left: Any, right: Any, limits: RenderLimits) -> None:
    if isinstance(left, str | bytes | bytearray) and isinstance(right, str | bytes | bytearray):
        check_text(len(left) + len(right), limits)
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        check_sequence(len(left) + len(right), limits)


# One conversion of printf-style formatting: %(key)-08.3f
_CONVERSION = re.compile(rb"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?"
                         rb"(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<type>.)", re.DOTALL)


def check_percent_format(form: str | bytes, args: Any, limits: RenderLimits) -> None:
    """Raise if ``form % args`` would be over the string limit: each conversion takes at
    least its width, its precision and (for %s, %r, %a) the text of its value."""
    data = form.encode("utf-8", "surrogatepass") if isinstance(form, str) else form
    positional = list(args) if isinstance(args, tuple) else [args]
    keyed = args if isinstance(args, Mapping) else None
    next_arg = 0

    def take() -> Any:
        nonlocal next_arg
        next_arg += 1
        return positional[next_arg - 1] if next_arg <= len(positional) else None

    total = len(form)
    for conversion in _CONVERSION.finditer(data):
        if conversion["type"] == b"%":
            continue
        sizes = []
        for part in (conversion["width"], conversion["precision"]):
            number = take() if part == b"*" else (int(part) if part else 0)
            sizes.append(abs(number) if _is_integer(number) else 0)
        if conversion["key"] is not None and keyed is not None:
            value = keyed.get(conversion["key"].decode("utf-8", "replace"))
        else:
            value = take()
        text = printed_length(value, limits.string) if conversion["type"] in b"sra" else 1
        total += max(sizes[0], sizes[1], text)
        if total > limits.string:
            break
    check_text(total, limits, "a % format")


def check_format_spec(spec: str, limits: RenderLimits) -> int:
    """The largest width or precision a ``str.format`` spec asks for; raise if it is
    over the string limit (``'{:>1000000000}'``)."""
    largest = 0
    for number in re.findall(r"\d+", spec):
        if len(number) > 12 or int(number) > limits.string:
            raise SizeLimitExceeded(f"a format width or precision of {number} is over "
                                    f"{limits.string} (MAX_STRING_LENGTH)")
        largest = max(largest, int(number))
    return largest


# -- Methods of strings (and bytes) that can make a much longer string than their own


def check_text_method(text: str | bytes | bytearray, method: str, args: tuple[Any, ...],
                      kwargs: Mapping[str, Any], limits: RenderLimits) -> tuple[Any, ...]:
    """Raise if ``text.METHOD(*args, **kwargs)`` would be over the string limit; returns
    the arguments to call it with (an iterable given to ``join`` is read once, here)."""
    if method in ("center", "ljust", "rjust", "zfill") and args and _is_integer(args[0]):
        check_text(max(args[0], len(text)), limits)
    elif method == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        size = size if _is_integer(size) else 8
        tab = "\t" if isinstance(text, str) else b"\t"
        check_text(len(text) + text.count(tab) * max(size, 0), limits)  # type: ignore[arg-type]
    elif method == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        check_text(replaced_length(text, args[0], args[1], count), limits)
    elif method == "join" and args:
        items = bounded_list(args[0])
        size = sum(printed_length(item, limits.string) for item in items)
        check_text(size + len(text) * max(len(items) - 1, 0), limits)
        return (items, *args[1:])
    elif method == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(value) for value in args[0].values()
                       if isinstance(value, str | bytes)), default=1)
        check_text(len(text) * max(longest, 1), limits)
    return args


def replaced_length(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    """The length of ``text.replace(old, new, count)``, without replacing."""
    if not (isinstance(text, str | bytes | bytearray) and isinstance(old, type(text))
            and isinstance(new, type(text))):
        return len(text) if isinstance(text, str | bytes | bytearray) else 0
    found = text.count(old)
    if _is_integer(count) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))
