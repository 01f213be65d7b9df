"""A letter as an A4 PDF with fpdf2, laid out for a window envelope (see
:mod:`orchestrator.channels.live.letter` for the geometry) with DIN 5008 fold marks.

The body is set as plain-text paragraphs taken from the template's HTML, not through
fpdf2's HTML renderer: that one fetches ``<img src>`` URLs and stops at tags it does not
know, and a letter must render the same way every time, offline.

Output is deterministic: the creation date is the send time, and fpdf2 derives the file
id from the content, so the same letter gives the same bytes.

Fonts: the PDF core font (Helvetica) covers Windows-1252, i.e. Western European text;
other characters are replaced by their unaccented form or "?". For other scripts pass
``font_path``, a TrueType font that has them (e.g. DejaVuSans.ttf), which is embedded.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from orchestrator.channels.live.letter import Letter, body_paragraphs

__all__ = ["letter_pdf"]

logger = logging.getLogger(__name__)

# Millimetres on an A4 sheet (210 x 297), from its top-left corner.
_LEFT, _RIGHT, _BOTTOM, _TOP = 25.0, 20.0, 20.0, 20.0
_LETTERHEAD_X, _LETTERHEAD_Y, _LETTERHEAD_WIDTH = 125.0, 20.0, 65.0
_WINDOW_X, _WINDOW_Y, _WINDOW_WIDTH = 20.0, 45.0, 85.0
_WINDOW_PADDING = 5.0
_RETURN_ADDRESS_Y = _WINDOW_Y + 12.0  # at the foot of the 17.7 mm return-address zone
_ADDRESS_Y = _WINDOW_Y + 17.7
_ADDRESS_LINE = 4.5  # six lines fill the 27.3 mm address zone
_DATE_Y = 98.0
_BODY_Y = 110.0
_BODY_LINE = 5.0
_FOLD_MARKS_Y = (105.0, 210.0)  # DIN 5008 form B: fold to fit a DL window envelope
_HOLE_MARK_Y = 148.5

_CORE_FONT = "helvetica"
_CORE_ENCODING = "windows-1252"
_EMBEDDED_FONT = "letter"


def letter_pdf(letter: Letter, created_at: datetime, *, font_path: Path | None = None) -> bytes:
    """The PDF of ``letter``; ``created_at`` becomes its creation date."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(created_at)
    pdf.set_title(f"Letter {letter.message_id}")
    pdf.set_creator("orchestrator print batch")
    pdf.set_margins(_LEFT, _TOP, _RIGHT)
    pdf.set_auto_page_break(auto=True, margin=_BOTTOM)
    text = _Typesetter(pdf, font_path, letter.message_id)
    pdf.add_page()
    _fold_marks(pdf)

    text.font(9)
    pdf.set_xy(_LETTERHEAD_X, _LETTERHEAD_Y)
    pdf.multi_cell(_LETTERHEAD_WIDTH, 4.0, text.printable("\n".join(letter.sender_lines)),
                   align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)

    inner_width = _WINDOW_WIDTH - 2 * _WINDOW_PADDING
    return_address = text.printable(letter.return_address)
    text.font_to_fit(return_address, inner_width, largest=7, smallest=5)
    pdf.set_xy(_WINDOW_X + _WINDOW_PADDING, _RETURN_ADDRESS_Y)
    pdf.cell(inner_width, 3.0, return_address, border="B")

    text.font(10)
    pdf.set_xy(_WINDOW_X + _WINDOW_PADDING, _ADDRESS_Y)
    for line in letter.recipient_lines:
        pdf.cell(inner_width, _ADDRESS_LINE, text.printable(line),
                 new_x=XPos.LEFT, new_y=YPos.NEXT)

    pdf.set_xy(_LETTERHEAD_X, _DATE_Y)
    pdf.cell(_LETTERHEAD_WIDTH, _BODY_LINE, text.printable(letter.date_text), align="R")

    pdf.set_xy(_LEFT, _BODY_Y)
    for paragraph in body_paragraphs(letter.body_html):
        text.font(12 if paragraph.heading else 10.5)
        pdf.multi_cell(0, _BODY_LINE, text.printable(paragraph.text),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(_BODY_LINE / 2)
    text.report()
    return bytes(pdf.output())


def _fold_marks(pdf: FPDF) -> None:
    pdf.set_line_width(0.2)
    for y in _FOLD_MARKS_Y:
        pdf.line(4, y, 9, y)
    pdf.line(4, _HOLE_MARK_Y, 11, _HOLE_MARK_Y)


class _Typesetter:
    """The font of one PDF, and what its text must be to print with it."""

    def __init__(self, pdf: FPDF, font_path: Path | None, message_id: str):
        self._pdf = pdf
        self._message_id = message_id
        self._replaced = 0
        if font_path is not None:
            pdf.add_font(_EMBEDDED_FONT, fname=str(font_path))
            self._family = _EMBEDDED_FONT
            self._embedded = True
        else:
            pdf.core_fonts_encoding = _CORE_ENCODING
            self._family = _CORE_FONT
            self._embedded = False

    def font(self, size: float) -> None:
        self._pdf.set_font(self._family, size=size)

    def font_to_fit(self, line: str, width: float, *, largest: float, smallest: float) -> None:
        """The largest size from ``largest`` down to ``smallest`` at which ``line`` (made
        printable already) fits in ``width``."""
        size = largest
        self.font(size)
        while size > smallest and self._pdf.get_string_width(line) > width:
            size -= 0.5
            self.font(size)

    def printable(self, text: str) -> str:
        # Control characters other than line breaks have no glyph in any font.
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
        if self._embedded:
            return text
        return "".join(self._core_font_character(ch) for ch in text)

    def _core_font_character(self, ch: str) -> str:
        if _encodable(ch):
            return ch
        plain = "".join(c for c in unicodedata.normalize("NFKD", ch)
                        if not unicodedata.combining(c))
        self._replaced += 1
        return plain if plain and all(_encodable(c) for c in plain) else "?"

    def report(self) -> None:
        if self._replaced:
            # Count only: the characters may be part of the recipient's name.
            logger.warning("letter %s: %d characters are outside the PDF's font and were "
                           "replaced; configure a TrueType font that has them",
                           self._message_id, self._replaced)


def _encodable(ch: str) -> bool:
    try:
        ch.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True
