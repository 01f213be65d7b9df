"""The values a template sees, and what it gets for a name the context lacks.

Mappings in the context are wrapped in :class:`Variables`, which remembers its dotted
path (``contact``, ``brand.address``), so that a missing key is reported by its full
name, ``'contact.first_name' is undefined``, instead of Jinja's ``'dict object' has no
attribute 'first_name'``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, UndefinedError
from jinja2.utils import missing

__all__ = ["MissingVariable", "NamedUndefined", "Variables", "wrap"]


class Variables(Mapping[str, Any]):
    """A read-only view of one mapping of the context, named by its path."""

    __slots__ = ("_path", "_values")

    def __init__(self, values: Mapping[str, Any], path: str):
        self._values = values
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __getitem__(self, key: str) -> Any:
        return wrap(self._values[key], f"{self._path}.{key}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Variables({self._path})"


def wrap(value: Any, path: str) -> Any:
    """``value`` as a template sees it: mappings (also inside lists) become
    :class:`Variables` named ``path``."""
    if isinstance(value, Variables):
        return value
    if isinstance(value, Mapping):
        return Variables(value, path)
    if isinstance(value, list | tuple):
        return tuple(wrap(item, f"{path}[{index}]") for index, item in enumerate(value))
    return value


class MissingVariable(UndefinedError):
    """A template used ``variable``, which the context does not have."""

    def __init__(self, message: str, *, variable: str):
        self.variable = variable
        super().__init__(message)


class NamedUndefined(StrictUndefined):
    """Jinja's StrictUndefined (any use of a missing name is an error, except ``is
    defined`` and ``default``), raising :class:`MissingVariable` with the dotted name."""

    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = missing, name: str | None = None,
                 exc: type[Exception] = UndefinedError):
        super().__init__(hint, obj, name, exc)
        # A hint means Jinja has its own reason (the sandbox's "unsafe" attribute, with
        # its SecurityError); only a plain missing name becomes a MissingVariable.
        if hint is None and exc is UndefinedError:
            self._undefined_exception = functools.partial(  # type: ignore[assignment]
                MissingVariable, variable=self._dotted_name())

    def _dotted_name(self) -> str:
        owner, name = self._undefined_obj, self._undefined_name
        if isinstance(owner, Variables):
            return f"{owner.path}.{name}"
        return str(name)
