"""Attributes a snapshot restores packed (bytes) and unpacks on first read, so a restart
pays only for the state its first runs use (``campaigns/runtime/snapshots.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class PackedSections:
    """Mixin: after ``restore_packed``, each named attribute is absent until first read;
    ``__getattr__`` (only called for absent attributes) unpacks it then, and from there on
    it is a plain attribute again, at no cost."""

    def restore_packed(self, sections: dict[str, bytes], unpack: Callable[[bytes], Any]
                       ) -> None:
        for name in sections:
            self.__dict__.pop(name, None)
        self.__dict__["_packed_sections"] = dict(sections)
        self.__dict__["_unpack_section"] = unpack

    def still_packed(self, name: str) -> bool:
        return name not in self.__dict__ and name in self.__dict__.get("_packed_sections", {})

    def packed_sections(self, names: Iterable[str], pack: Callable[[Any], bytes]
                        ) -> dict[str, bytes]:
        """Each section as bytes: as restored if never read, else packed afresh."""
        return {name: self.__dict__["_packed_sections"][name] if self.still_packed(name)
                else pack(getattr(self, name)) for name in names}

    def __getattr__(self, name: str) -> Any:
        packed = self.__dict__.get("_packed_sections")
        if packed is not None and name in packed:
            value = self.__dict__["_unpack_section"](packed.pop(name))
            setattr(self, name, value)
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
