"""How many SMS segments a text needs, and in which encoding (GSM 03.38 / 3GPP 23.038).

A text made only of GSM-7 characters travels 7 bits a character: 160 in one SMS, or 153
a segment once it must be split (the user-data header takes 7). The extension characters
(``^{}\\[~]|€`` and form feed) are an escape plus a character, so they count 2 and are
never split across segments. Any other character forces UCS-2 for the whole text: 70
UTF-16 code units in one SMS, 67 a segment, a surrogate pair (an emoji) never split.

Carriers bill and deliver per segment, and many reassemble at most about ten, which is
why the SMS adapters refuse a longer text before calling any provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "MAX_SEGMENTS", "SmsSegments", "sms_segments"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

MAX_SEGMENTS = 10

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_CONCATENATED = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsSegments:
    """``encoding`` of the whole text, its size in ``units`` (septets for GSM-7, UTF-16
    code units for UCS-2) and the number of segments it is sent as (at least 1)."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int
    count: int


def sms_segments(text: str) -> SmsSegments:
    """The encoding and segment count of ``text`` as a carrier would send it."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    else:
        encoding = "UCS-2"
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # astral: a surrogate pair
    units = sum(sizes)
    if units <= _SINGLE[encoding]:
        return SmsSegments(encoding, units, 1)
    return SmsSegments(encoding, units, _pack(sizes, _CONCATENATED[encoding]))


def _pack(sizes: Iterable[int], capacity: int) -> int:
    """Segments needed when each character (of 1 or 2 units) must fit whole in one."""
    count, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            count, used = count + 1, 0
        used += size
    return count
