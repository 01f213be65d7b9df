"""Touchpoint lines (JSON Lines, contract): validation into typed facts.

One table says, per touchpoint ``type``, which fields exist, which are required and how
each is checked. A line either becomes a ``ValidTouchpoint`` (the event class, the stream it
belongs to and the event's fields) or a list of ``Problem`` naming the field and what was
expected. Unknown fields are refused: a typo such as ``"chanel"`` must not silently drop
a consent.
"""

from __future__ import annotations

import hashlib
import json
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from uuid import UUID

from orchestrator.domain import events as ev
from orchestrator.domain import subjects
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


class Invalid(ValueError):
    """A field value that does not fit; the message says what was expected."""


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
            raise Invalid(f"{value!r} is not one of {allowed}")
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
        raise Invalid(f"{value!r} is not an IANA time zone (e.g. Europe/London)")
    return value


@cache
def _is_timezone(name: str) -> bool:
    if name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
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
        raise Invalid(f"unknown key(s) {', '.join(unknown)}; allowed: "
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
        raise Invalid(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise Invalid("must be a finite number, zero or more")
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
        raise Invalid(f"{value!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{value!r} has no UTC offset; add one, e.g. 2026-03-01T09:30:00+00:00")
    return moment


def validate(obj: Any) -> ValidTouchpoint | list[Problem]:
    """Check one decoded JSON line; every problem of the line is reported at once."""
    if not isinstance(obj, dict):
        return [Problem("line", f"expected a JSON object, got {_json_type(obj)}")]
    problems: list[Problem] = []
    touchpoint_id = _checked(obj, "id", key, problems)
    type_name = obj.get("type")
    spec = TYPES.get(type_name) if isinstance(type_name, str) else None
    if "type" not in obj:
        problems.append(Problem("type", "missing"))
    elif spec is None:
        problems.append(Problem("type", f"unknown touchpoint type {type_name!r}; expected one of "
                                        f"{', '.join(TYPES)}"))
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
            problems.append(Problem(name, f"unknown field for {type_name}; expected "
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
