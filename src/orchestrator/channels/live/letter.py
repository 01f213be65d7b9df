"""One printed letter: who sends it, to which address, on which day, saying what; and its
HTML rendering (the PDF is :mod:`orchestrator.channels.live.letter_pdf`).

Both renderings put the recipient's address where a window envelope shows it. The
layout follows DIN 5008 form B on A4, the most common European one, which also fits the
DL and C5/6 window envelopes of DIN 680 / ISO 269 used in the UK: the window sits 20 mm
from the left and 45 mm from the top of the sheet, 85 mm wide and 45 mm high; its top
17.7 mm hold a one-line return address, the rest up to six lines of address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

from markupsafe import Markup, escape

__all__ = ["Letter", "Paragraph", "address_lines", "body_paragraphs", "letter_html"]

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@dataclass(frozen=True)
class Letter:
    message_id: str
    brand_name: str
    sender_address: str
    recipient_lines: tuple[str, ...]
    day: date
    body_html: str

    @property
    def sender_lines(self) -> tuple[str, ...]:
        """The letterhead: the brand, then the postal address one part a line (the
        setting is one line, its parts separated by commas)."""
        parts = [part.strip() for part in self.sender_address.split(",") if part.strip()]
        if self.brand_name and (not parts or parts[0] != self.brand_name):
            parts.insert(0, self.brand_name)
        return tuple(parts)

    @property
    def return_address(self) -> str:
        """The sender on one line, for the top of the envelope window."""
        return " · ".join(self.sender_lines)

    @property
    def date_text(self) -> str:
        # Spelled out, not strftime("%B"), so the letter does not depend on the locale.
        return f"{self.day.day} {_MONTHS[self.day.month - 1]} {self.day.year}"


def address_lines(address: Mapping[str, str]) -> tuple[str, ...]:
    """The recipient's address block, at most six lines (what the window holds): name,
    line1, line2, city with region, postcode, country; empty parts left out."""
    city = ", ".join(part for part in (address.get("city"), address.get("region")) if part)
    lines = (address.get("name"), address.get("line1"), address.get("line2"), city,
             address.get("postcode"), address.get("country"))
    return tuple(line.strip() for line in lines if line and line.strip())


_LETTER_STYLE = """\
@page { size: A4; margin: 0; }
body { margin: 0; font-family: Helvetica, Arial, sans-serif; font-size: 10pt; }
.sheet { position: relative; width: 210mm; min-height: 297mm; }
.letterhead { position: absolute; top: 20mm; left: 125mm; width: 65mm; font-size: 9pt; }
.window { position: absolute; top: 45mm; left: 20mm; width: 85mm; height: 45mm; }
.return-address { position: absolute; top: 12mm; left: 5mm; width: 80mm; font-size: 6pt;
  white-space: nowrap; overflow: hidden; }
.recipient { position: absolute; top: 17.7mm; left: 5mm; width: 80mm; font-style: normal;
  line-height: 4.5mm; }
.date { position: absolute; top: 98mm; left: 125mm; width: 65mm; text-align: right;
  margin: 0; }
.body { padding: 110mm 20mm 20mm 25mm; }"""


def letter_html(letter: Letter) -> str:
    """The letter as a standalone A4 HTML page (the print house's preview, and what a
    browser prints). The body is the template's rendering, already escaped by it."""

    def lines(values: tuple[str, ...]) -> Markup:
        return Markup("<br>\n").join(escape(value) for value in values)

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Letter {escape(letter.message_id)}</title>\n"
        f"<style>\n{_LETTER_STYLE}\n</style>\n</head>\n<body>\n<div class=\"sheet\">\n"
        f'<div class="letterhead">{lines(letter.sender_lines)}</div>\n'
        '<div class="window">\n'
        f'<div class="return-address">{escape(letter.return_address)}</div>\n'
        f'<address class="recipient">{lines(letter.recipient_lines)}</address>\n'
        "</div>\n"
        f'<p class="date"><time datetime="{letter.day.isoformat()}">'
        f"{escape(letter.date_text)}</time></p>\n"
        f'<main class="body">\n{_inside_body(letter.body_html)}\n</main>\n'
        "</div>\n</body>\n</html>\n"
    )


def _inside_body(html: str) -> str:
    """The content of the template's ``<body>`` (a rendered template is often a whole
    document; the letter page has its own head and body)."""
    lower = html.lower()
    start = lower.find("<body")
    if start != -1:
        start = lower.find(">", start) + 1
        end = lower.rfind("</body>")
        return html[start:end if end >= start else len(html)].strip()
    return html.strip()


@dataclass(frozen=True)
class Paragraph:
    text: str
    heading: bool = False


_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "table", "tr", "blockquote", "section",
                     "article", "header", "footer", "main", "address", "pre", "hr",
                     "h1", "h2", "h3", "h4", "h5", "h6"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_INVISIBLE = frozenset({"head", "title", "style", "script", "template"})
_LINE_BREAK = "\x00"  # a <br>, kept apart from the whitespace that HTML collapses


def body_paragraphs(html: str) -> list[Paragraph]:
    """The letter body as paragraphs of plain text, for the PDF: block elements end a
    paragraph, ``<br>`` breaks a line, list items get a bullet, and nothing is fetched
    (images and links are not followed: a letter must not reach out to the network)."""
    reader = _ParagraphReader()
    reader.feed(_inside_body(html).replace(_LINE_BREAK, ""))
    reader.close()
    reader.flush()
    return reader.paragraphs


class _ParagraphReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[Paragraph] = []
        self._pieces: list[str] = []
        self._heading = False
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag == "br":
            self._pieces.append(_LINE_BREAK)
        elif tag in _BLOCKS:
            self.flush()
            self._heading = tag in _HEADINGS
            if tag == "li":
                self._pieces.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._pieces.append(data)

    def flush(self) -> None:
        raw = "".join(self._pieces)
        lines = (" ".join(line.split()) for line in raw.split(_LINE_BREAK))
        text = "\n".join(lines).strip()
        if text:
            self.paragraphs.append(Paragraph(text, heading=self._heading))
        self._pieces = []
        self._heading = False
