"""Touchpoint lines (JSON Lines, contract): validation into typed facts.

One table says, per touchpoint ``type``, which fields exist, which are required and how
each is checked. A line either becomes a ``ValidTouchpoint`` (the event class, the stream it
belongs to and the event's fields) or a list of ``Problem`` naming the field and what was
expected. Unknown fields are refused: a typo such as ``"chanel"`` must not silently drop
a consent.

A line is checked in two stages. ``parse_line`` takes the raw bytes and refuses what could
hurt the store or the commands that read it later, before or while parsing: a line too
long, bytes that are not UTF-8, nesting too deep, NaN or Infinity, numbers too large to
represent, strings too long, U+0000 and lone surrogates. ``validate`` then checks the
decoded object against the table. The limits are documented in docs/ingest-limits.md.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import accumulate
from typing import Any
from uuid import UUID

from orchestrator.domain import events as ev
from orchestrator.domain import subjects, time_range
from orchestrator.domain.vocabulary import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONTACT_KINDS,
    STANCES,
    VERIFICATION_METHODS,
    sms_keyword,
)

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_TEXT = 10_000
MAX_ID = 200

# Limits on a line as a whole (docs/ingest-limits.md). A line at the limit still holds the
# longest text field (MAX_TEXT characters) even if every character is written as a
# 12-byte escaped surrogate pair, with room for the other fields.
MAX_LINE_BYTES = 256 * 1024       # not counting the line ending
MAX_DEPTH = 20                    # nested arrays/objects; the line's own object is 1
MAX_STRING = MAX_TEXT             # characters in any string value, anywhere
MAX_KEY = MAX_ID                  # characters in any object key, anywhere
MAX_INT_DIGITS = 20               # every 64-bit integer, signed or unsigned, fits
# Business times, after conversion to UTC: [EARLIEST_AT, LATEST_AT), the product's one
# time range (domain/time_range.py, also what --as-of and --until accept).
EARLIEST_AT = time_range.EARLIEST
LATEST_AT = time_range.LATEST
# Amounts: at most this many digits before and after the decimal point.
AMOUNT_INTEGER_DIGITS = 15
AMOUNT_DECIMALS = 18
SHOWN = 40                        # characters of a refused value echoed in a problem


class Invalid(ValueError):
    """A field value that does not fit; the message says what was expected."""


def shown(value: Any, limit: int = SHOWN) -> str:
    """A value as it may appear in a problem: ``repr`` (so control characters and lone
    surrogates are escaped, never printed), cut to ``limit`` characters."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text_ = repr(value)
    return text_ if len(text_) <= limit + 2 else f"{text_[:limit]}..."


def label(name: str) -> str:
    """A field name as it may start a problem line: as is when it is short and printable,
    otherwise shown like a value."""
    if len(name) <= SHOWN and name.isprintable() and name.strip() == name and name:
        return name
    return shown(name)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ValidTouchpoint:
    id: str
    type: str
    at: datetime
    event_class: type[ev.TouchpointRecorded]
    stream: UUID
    fields: dict[str, Any]
    digest: bytes


# --- field checks ---------------------------------------------------------------------------

def text(value: Any, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {_json_type(value)}")
    if not value.strip():
        raise Invalid("must not be empty")
    if len(value) > limit:
        raise Invalid(f"longer than {limit} characters")
    return value


def key(value: Any) -> str:
    return text(value, limit=MAX_ID)


def one_of(choices: frozenset[str]) -> Callable[[Any], str]:
    allowed = ", ".join(sorted(choices))

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected one of {allowed}; got {_json_type(value)}")
        if value not in choices:
            raise Invalid(f"{shown(value)} is not one of {allowed}")
        return value

    return check


def email(value: Any) -> str:
    value = text(value, limit=320)
    if not EMAIL.match(value):
        raise Invalid("expected an email address like name@example.com")
    return value


def phone(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected an E.164 phone number as a string, got {_json_type(value)}")
    if not E164.match(value):
        raise Invalid("expected an E.164 phone number like +447700900123 "
                      "(a '+', the country code, no spaces)")
    return value


def iana_timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected an IANA time zone name, got {_json_type(value)}")
    if not _is_timezone(value):
        raise Invalid(f"{shown(value)} is not an IANA time zone (e.g. Europe/London)")
    return value


TIMEZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")


@lru_cache(maxsize=1024)
def _is_timezone(name: str) -> bool:
    if len(name) > 64 or not TIMEZONE_NAME.match(name) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the time zone database ("Europe"), a name too long
        return False
    return True


def locale(value: Any) -> str:
    if not isinstance(value, str) or not LOCALE.match(value):
        raise Invalid("expected a locale tag like en-GB")
    return value


def mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"expected an object, got {_json_type(value)}")
    return value


def address(value: Any) -> dict[str, str]:
    value = mapping(value)
    allowed = {"line1", "line2", "city", "postcode", "country", "region"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        names = ", ".join(label(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise Invalid(f"unknown key(s) {names}; allowed: "
                      "line1, line2, city, postcode, country, region")
    for required in ("line1", "city", "postcode", "country"):
        if required not in value:
            raise Invalid(f"missing {required!r} (line1, city, postcode and country are needed)")
    for name, part in value.items():
        if not isinstance(part, str) or not part.strip():
            raise Invalid(f"{name!r} must be a non-empty string")
    if not COUNTRY.match(value["country"]):
        raise Invalid("'country' must be an ISO 3166 two-letter code like GB")
    return value


def amount(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(f"expected a number, got {_json_type(value)}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{shown(value)} is not a number") from None
    if not number.is_finite() or number < 0:
        raise Invalid("must be a finite number, zero or more")
    if number >= 10 ** AMOUNT_INTEGER_DIGITS:
        raise Invalid(f"must be less than 10^{AMOUNT_INTEGER_DIGITS} (at most "
                      f"{AMOUNT_INTEGER_DIGITS} digits before the decimal point)")
    _, digits, exponent = number.as_tuple()
    trailing_zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    if number != 0 and exponent + trailing_zeros < -AMOUNT_DECIMALS:
        raise Invalid(f"at most {AMOUNT_DECIMALS} digits after the decimal point")
    return str(number)


def currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise Invalid("expected an ISO 4217 code like EUR")
    return value


def optional_text(value: Any) -> str:
    return text(value)


# --- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    name: str
    check: Callable[[Any], Any]
    required: bool = True


@dataclass(frozen=True)
class TouchpointType:
    event_class: type[ev.TouchpointRecorded]
    fields: tuple[Field, ...]
    stream: Callable[[dict[str, Any]], UUID]
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    check_whole: Callable[[dict[str, Any]], list[Problem]] | None = None


def _contact(fields: dict[str, Any]) -> UUID:
    return subjects.contact_stream(fields["contact"])


def _message(fields: dict[str, Any]) -> UUID:
    if fields.get("message"):
        return subjects.message_stream(fields["message"])
    return subjects.provider_message_stream(fields["provider_id"])


def _needs_message_reference(fields: dict[str, Any]) -> list[Problem]:
    if fields.get("message") is None and fields.get("provider_id") is None:
        return [Problem("message", "either 'message' (our message id) or 'provider_id' "
                                   "is required")]
    return []


CONSENT_FIELDS = (
    Field("contact", key), Field("channel", one_of(CONSENT_CHANNELS)),
    Field("purpose", one_of(CONSENT_PURPOSES)), Field("source", text),
    Field("evidence", optional_text, required=False),
)
FEEDBACK_FIELDS = (
    Field("message", key, required=False), Field("provider_id", key, required=False),
    Field("reason", optional_text, required=False),
)

TYPES: dict[str, TouchpointType] = {
    "contact.upserted": TouchpointType(ev.ContactDetailsRecorded, (
        Field("contact", key), Field("kind", one_of(CONTACT_KINDS)),
        Field("email", email, required=False), Field("phone", phone, required=False),
        Field("address", address, required=False),
        Field("timezone", iana_timezone, required=False),
        Field("locale", locale, required=False), Field("attributes", mapping, required=False),
    ), _contact),
    "identity.linked": TouchpointType(ev.IdentityLinked, (
        Field("contact", key), Field("network", key), Field("handle", key),
        Field("verified_by", one_of(VERIFICATION_METHODS)),
    ), _contact),
    "consent.granted": TouchpointType(ev.ConsentGranted, CONSENT_FIELDS, _contact),
    "consent.withdrawn": TouchpointType(ev.ConsentWithdrawn, CONSENT_FIELDS, _contact),
    "purchase.recorded": TouchpointType(ev.PurchaseRecorded, (
        Field("contact", key), Field("amount", amount), Field("currency", currency),
        Field("sku", key, required=False),
    ), _contact),
    "social.mention": TouchpointType(ev.SocialMentionReceived, (
        Field("network", key), Field("handle", key), Field("text", text),
        Field("stance", one_of(STANCES), required=False),
        Field("author_kind", one_of(CONTACT_KINDS), required=False),
    ), lambda f: subjects.handle_stream(f["network"], f["handle"])),
    "sms.inbound": TouchpointType(ev.InboundSmsReceived, (
        Field("phone", phone), Field("body", text),
    ), lambda f: subjects.phone_stream(f["phone"]),
        derive=lambda f: {"keyword": sms_keyword(f["body"])}),
    **{
        f"message.{name}": TouchpointType(cls, FEEDBACK_FIELDS, _message,
                                          check_whole=_needs_message_reference)
        for name, cls in (
            ("delivered", ev.MessageDelivered), ("bounced", ev.MessageBounced),
            ("opened", ev.MessageOpened), ("clicked", ev.MessageClicked),
            ("complained", ev.MessageComplained), ("unsubscribed", ev.MessageUnsubscribed),
        )
    },
}
ENVELOPE = ("id", "type", "at")


def parse_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Invalid(f"expected an ISO-8601 timestamp string, got {_json_type(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{shown(value)} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{shown(value)} has no UTC offset; add one, "
                      "e.g. 2026-03-01T09:30:00+00:00")
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        in_utc = None
    if in_utc is None or not EARLIEST_AT <= in_utc < LATEST_AT:
        raise Invalid(f"{shown(value)} is out of range: business times must be from "
                      f"{EARLIEST_AT:%Y-%m-%dT%H:%MZ} up to (not including) "
                      f"{LATEST_AT:%Y-%m-%dT%H:%MZ}, in UTC")
    return moment


# --- a raw line --------------------------------------------------------------------------------

class _Refused:
    """Stands in, in the decoded value, for a number the line must not carry (NaN, a
    number too large); the walk after parsing reports it under the field it is in."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _refuse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number; numbers must be finite")


def _bounded_int(digits: str) -> int | _Refused:
    length = len(digits.lstrip("-"))
    if length > MAX_INT_DIGITS:
        return _Refused(f"an integer of {length} digits; at most {MAX_INT_DIGITS} allowed")
    return int(digits)


def _finite_float(digits: str) -> float | _Refused:
    number = float(digits)
    if not math.isfinite(number):
        return _Refused(f"the number {shown(digits, 20)} is too large to represent")
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_bounded_int,
                            parse_float=_finite_float)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def parse_line(raw: bytes) -> ValidTouchpoint | list[Problem]:
    """Check one line of a JSON Lines file, as bytes (its line ending may be included).

    Nothing in a line, however hostile, raises: it becomes a ``ValidTouchpoint`` or a list
    of ``Problem``."""
    body = raw.rstrip(b"\r\n")
    if len(body) > MAX_LINE_BYTES:
        return [Problem("line", f"{len(body)} bytes long; at most {MAX_LINE_BYTES} "
                                "bytes a line")]
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8):]
    try:
        # Strict UTF-8: also refuses surrogates written as bytes (ED A0 80).
        line = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return [Problem("line", f"not UTF-8 text (byte {error.start + 1} of the line)")]
    if _too_deep(body):
        return [Problem("line", f"arrays and objects nested more than {MAX_DEPTH} deep")]
    try:
        decoded = _DECODER.decode(line)
    except json.JSONDecodeError as error:
        return [Problem("json", f"invalid JSON: {error.msg} (column {error.colno})")]
    except RecursionError:  # not expected: _too_deep counts what the decoder recurses into
        return [Problem("line", f"arrays and objects nested more than {MAX_DEPTH} deep")]
    walk = _Walk(nul=b"\\u0000" in body, surrogates=bool(_SURROGATE_ESCAPE.search(body)))
    if not isinstance(decoded, dict):
        refused = walk.first_refusal(decoded, "")
        return [Problem("line", refused)] if refused else validate(decoded)
    refused: dict[str, str] = {}
    for name, value in decoded.items():
        reason = walk.string(name, MAX_KEY, "name ") or walk.first_refusal(value, name)
        if reason:
            refused[name] = reason
    if not refused:
        return validate(decoded)
    problems = [Problem(label(name), reason) for name, reason in refused.items()]
    rest = validate({k: v for k, v in decoded.items() if k not in refused})
    if isinstance(rest, list):
        problems.extend(p for p in rest if p.field not in refused)
    return problems


def _too_deep(body: bytes) -> bool:
    """Nesting depth, found before parsing: brackets outside strings, counted."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return bool(brackets) and max(accumulate(map(_BRACKET_STEP.__getitem__, brackets))) \
        > MAX_DEPTH


class _Walk:
    """Looks at every value of a decoded line, without recursion; says what is refused.

    The checks for U+0000 and lone surrogates run only when the raw line holds the escape
    that can produce them (raw control characters and invalid UTF-8 never get this far)."""

    def __init__(self, *, nul: bool, surrogates: bool):
        self.nul = nul
        self.surrogates = surrogates

    def string(self, value: str, limit: int, what: str = "") -> str | None:
        if len(value) > limit:
            return f"{what}longer than {limit} characters ({len(value)})"
        if self.nul and "\x00" in value:
            return f"{what}contains U+0000 (NUL), which cannot be stored"
        if self.surrogates and _SURROGATE.search(value):
            return f"{what}contains a lone surrogate (U+D800 to U+DFFF), which is not text"
        return None

    def first_refusal(self, value: Any, name: str) -> str | None:
        stack: list[tuple[Any, str]] = [(value, name)]
        while stack:
            item, path = stack.pop()
            reason = None
            if isinstance(item, str):
                reason = self.string(item, MAX_STRING, "" if path == name else "a string ")
            elif isinstance(item, _Refused):
                reason = item.reason
            elif isinstance(item, dict):
                for key_, inner in item.items():
                    reason = self.string(key_, MAX_KEY, "a key ")
                    if reason:
                        break
                    stack.append((inner, f"{path}{_step(key_)}"))
            elif isinstance(item, list):
                stack.extend((inner, f"{path}[{i}]") for i, inner in enumerate(item))
            if reason:
                if path == name:
                    return reason
                return f"{reason} (at {path if len(path) <= 80 else path[:80] + '...'})"
        return None


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


def _step(key_: str) -> str:
    return f".{key_}" if _PLAIN_KEY.match(key_) else f"[{shown(key_, 20)}]"


def validate(obj: Any) -> ValidTouchpoint | list[Problem]:
    """Check one decoded JSON line; every problem of the line is reported at once.

    The limits on what a value may hold (NaN, huge numbers, U+0000, lone surrogates, sizes)
    are ``parse_line``'s: give this what ``json.loads`` or ``parse_line`` made of a line."""
    if not isinstance(obj, dict):
        return [Problem("line", f"expected a JSON object, got {_json_type(obj)}")]
    problems: list[Problem] = []
    touchpoint_id = _checked(obj, "id", key, problems)
    type_name = obj.get("type")
    spec = TYPES.get(type_name) if isinstance(type_name, str) else None
    if "type" not in obj:
        problems.append(Problem("type", "missing"))
    elif spec is None:
        problems.append(Problem("type", f"unknown touchpoint type {shown(type_name)}; "
                                        f"expected one of {', '.join(TYPES)}"))
    at = _checked(obj, "at", parse_at, problems)
    if spec is None:
        return problems
    fields: dict[str, Any] = {}
    for field in spec.fields:
        if field.name in obj and obj[field.name] is not None:
            fields[field.name] = _checked(obj, field.name, field.check, problems)
        elif field.required:
            problems.append(Problem(field.name, f"missing (required for {type_name})"))
        else:
            fields[field.name] = None
    known = {f.name for f in spec.fields}
    for name in obj:
        if name not in known and name not in ENVELOPE:
            problems.append(Problem(label(name), f"unknown field for {type_name}; expected "
                                                 f"{', '.join(f.name for f in spec.fields)}"))
    if spec.check_whole and not problems:
        problems.extend(spec.check_whole(fields))
    if problems:
        return problems
    if spec.derive:
        fields.update(spec.derive(fields))
    return ValidTouchpoint(
        id=touchpoint_id, type=type_name, at=at, event_class=spec.event_class,
        stream=spec.stream(fields), fields=fields, digest=content_digest(obj),
    )


def content_digest(obj: dict[str, Any]) -> bytes:
    """Same content, whatever the key order or spacing, gives the same digest."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).digest()


def _checked(obj: dict[str, Any], name: str, check: Callable[[Any], Any],
             problems: list[Problem]) -> Any:
    if name not in obj:
        problems.append(Problem(name, "missing"))
        return None
    try:
        return check(obj[name])
    except Invalid as invalid:
        problems.append(Problem(name, str(invalid)))
        return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
