"""Hypothesis strategies for hostile ingest input: random bytes, random JSON values, and
touchpoint lines that are mostly plausible with hostile values mixed in (every code point,
lone surrogates and NUL included; NaN and Infinity; huge numbers; times at the ends of what
datetime can hold)."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import strategies as st

from orchestrator.domain.vocabulary import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONTACT_KINDS,
    STANCES,
    VERIFICATION_METHODS,
)
from orchestrator.ingest.touchpoints import TYPES


def any_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Every code point, lone surrogates and NUL included."""
    return st.text(st.characters(exclude_categories=()), max_size=max_size)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats() | any_text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text(), children,
                                                                        max_size=3),
    max_leaves=12,
)

# Business times: plausible ones, the ends of the accepted range, and the ends of what
# datetime can hold (years 1 and 9999, offsets up to 23:59).
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.timezones()).map(datetime.isoformat) | st.sampled_from(
    ["1900-01-01T00:00:00+00:00", "2199-12-31T23:59:59.999999+00:00",
     "2026-03-01T09:00:00+23:59", "2026-03-01T09:00:00-23:59"])
hostile_moments = st.sampled_from(
    ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59+00:00",
     "2200-01-01T00:00:00+00:00"]) | st.datetimes(timezones=st.timezones()).map(
    datetime.isoformat)

_ADDRESS = {"line1": "1 High St", "city": "London", "postcode": "SW1A 1AA", "country": "GB"}
_NAMES = st.text(min_size=1, max_size=12).filter(str.strip) | any_text().filter(str.strip)
PLAUSIBLE: dict[str, st.SearchStrategy] = {
    "contact": st.sampled_from(["C1", "C2"]) | _NAMES,
    "kind": st.sampled_from(sorted(CONTACT_KINDS)),
    "email": st.just("ann@example.com"),
    "phone": st.sampled_from(["+447700900123", "+15005550006"]),
    "address": st.just(_ADDRESS),
    "timezone": st.sampled_from(["Europe/London", "UTC", "Pacific/Kiritimati", "Etc/GMT+12"]),
    "locale": st.just("en-GB"),
    "attributes": st.dictionaries(st.sampled_from(["first_name", "vip", "score"]),
                                  st.text(max_size=8) | st.booleans() | st.integers(),
                                  max_size=3)
    | st.dictionaries(st.sampled_from(["first_name", "vip"]) | any_text(), json_values,
                      max_size=3),
    "network": st.just("mastodon"),
    "handle": st.sampled_from(["@ann", "ann"]) | _NAMES,
    "verified_by": st.sampled_from(sorted(VERIFICATION_METHODS)),
    "channel": st.sampled_from(sorted(CONSENT_CHANNELS)),
    "purpose": st.sampled_from(sorted(CONSENT_PURPOSES)),
    "source": st.just("web_form"),
    "evidence": _NAMES,
    "amount": st.decimals(min_value=0, max_value=10**15 - 1, places=2).map(str)
    | st.sampled_from([19.99, 0, 25, "999999999999999.999999999999999999"]),
    "currency": st.sampled_from(["EUR", "USD"]),
    "sku": _NAMES,
    "text": _NAMES,
    "stance": st.sampled_from(sorted(STANCES)),
    "author_kind": st.sampled_from(sorted(CONTACT_KINDS)),
    "body": st.sampled_from(["STOP", "START", "HELP", "hello"]) | _NAMES,
    "message": st.sampled_from(["m1", "m2"]),
    "provider_id": st.just("SM1"),
    "reason": _NAMES,
}
HOSTILE: dict[str, st.SearchStrategy] = {
    "at": hostile_moments,
    "amount": st.decimals(allow_nan=True, allow_infinity=True).map(str) | st.floats()
    | st.integers(min_value=-(10**25), max_value=10**25) | st.just("1e999999999"),
    "timezone": st.sampled_from(["Europe", "America", "Europe/London/", "x" * 300]),
    "attributes": st.dictionaries(any_text(), json_values, max_size=4),
    "address": st.fixed_dictionaries({name: any_text() for name in _ADDRESS}),
}


@st.composite
def touchpoint_objects(draw) -> dict:
    """A touchpoint of a random type, its fields plausible (many valid, some risky), one or
    two of them sometimes made anything at all."""
    type_name = draw(st.sampled_from(sorted(TYPES)))
    obj = {"id": draw(st.sampled_from(["t1", "t2", "t3"]) | _NAMES), "type": type_name,
           "at": draw(moments | hostile_moments)}
    for field in TYPES[type_name].fields:
        if field.required or draw(st.booleans()):
            obj[field.name] = draw(PLAUSIBLE[field.name])
    if type_name.startswith("message.") and "message" not in obj and "provider_id" not in obj:
        obj["message"] = "m1"
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        name = draw(st.sampled_from(sorted(obj)) | any_text())
        obj[name] = draw(HOSTILE.get(name, json_values) | any_text() | json_values)
    return obj


@st.composite
def lines(draw) -> bytes:
    """One line as bytes, without its line ending."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    value = draw(json_values) if kind == 1 else draw(touchpoint_objects())
    # NaN and Infinity are written bare, as json.dumps does; a lone surrogate is written
    # either as an escape or, as raw bytes, when ensure_ascii is off.
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


jsonl_files = st.lists(lines(), min_size=1, max_size=4).map(lambda ls: b"\n".join(ls) + b"\n")
