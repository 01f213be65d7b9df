"""A realistic synthetic population, written as touchpoint JSON Lines.

Shaped like real markets (Ehrenberg's NBD): most buyers are light buyers who buy once or
twice a year, few are regulars. Most social mentions come from people we cannot tie to a
customer record; a few are hostile, or written by the press or a competitor. Seeded, so
the same arguments always give the same file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

DEMO_NOW = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=480)
KINDS = [("customer", 0.62), ("prospect", 0.33), ("partner", 0.01), ("employee", 0.01),
         ("press", 0.015), ("regulator", 0.002), ("competitor", 0.003)]
TIMEZONES = ["Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
             "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]
CITIES = [("London", "GB", "SW1A 1AA"), ("Paris", "FR", "75001"), ("Berlin", "DE", "10115"),
          ("New York", "US", "10001"), ("Chicago", "US", "60601"), ("Tokyo", "JP", "100-0001")]
PRAISE = ["Great service today, thank you!", "Loving the new range.", "Quick delivery, nice.",
          "Anyone tried the spring bundle?", "Support sorted my order in minutes."]
COMPLAINTS = ["Still waiting for my refund.", "Worst checkout ever.", "Order arrived broken."]
HOSTILE = ["This brand is a scam, boycott them.", "I will make sure everyone hears about this."]


def generate(out: IO[str], contacts: int = 10_000, seed: int = 7,
             now: datetime = DEMO_NOW, history: timedelta = HISTORY) -> int:
    """Write the population's touchpoints to ``out`` in time order; returns the count."""
    rng = random.Random(seed)
    lines = sorted(_touchpoints(rng, contacts, now, history), key=lambda t: (t["at"], t["id"]))
    for touchpoint in lines:
        out.write(json.dumps(touchpoint, separators=(",", ":")) + "\n")
    return len(lines)


def _touchpoints(rng: random.Random, contacts: int, now: datetime,
                 history: timedelta) -> Iterator[dict[str, Any]]:
    start = now - history
    counter = iter(range(1, 10**9))

    def moment(after: datetime = start) -> str:
        span = (now - after).total_seconds()
        return (after + timedelta(seconds=rng.uniform(0, span))).replace(
            microsecond=0).isoformat()

    def tid() -> str:
        return f"demo-{next(counter):07d}"

    kinds, weights = zip(*KINDS, strict=True)
    handles = []
    for n in range(1, contacts + 1):
        contact = f"C{n:06d}"
        kind = rng.choices(kinds, weights)[0]
        joined = moment()
        city, country, postcode = rng.choice(CITIES)
        yield {"id": tid(), "type": "contact.upserted", "at": joined, "contact": contact,
               "kind": kind, "email": f"person{n}@example.com",
               "phone": f"+4477009{n:05d}", "timezone": rng.choice(TIMEZONES),
               "locale": rng.choice(["en-GB", "en-US", "fr-FR", "de-DE"]),
               "address": {"line1": f"{n} High Street", "city": city, "postcode": postcode,
                           "country": country},
               "attributes": {"first_name": f"Person{n}"}}
        joined_at = datetime.fromisoformat(joined)
        if kind == "customer":
            # NBD-like: most buy once or twice a year, a few buy often.
            for _ in range(min(int(rng.paretovariate(1.6)), 12)):
                yield {"id": tid(), "type": "purchase.recorded", "at": moment(joined_at),
                       "contact": contact, "amount": round(rng.lognormvariate(3.3, 0.6), 2),
                       "currency": "GBP", "sku": rng.choice(["SKU-1", "SKU-2", "SKU-3"])}
            yield {"id": tid(), "type": "consent.granted", "at": joined, "contact": contact,
                   "channel": "email", "purpose": "transactional", "source": "checkout"}
        if kind in ("customer", "prospect"):
            for channel, share in (("email", 0.55), ("sms", 0.25), ("mail", 0.15)):
                if rng.random() < share:
                    granted = moment(joined_at)
                    yield {"id": tid(), "type": "consent.granted", "at": granted,
                           "contact": contact, "channel": channel, "purpose": "marketing",
                           "source": rng.choice(["web_form", "checkout", "store"]),
                           "evidence": f"form-{n}"}
                    if rng.random() < 0.08:
                        yield {"id": tid(), "type": "consent.withdrawn",
                               "at": moment(datetime.fromisoformat(granted)),
                               "contact": contact, "channel": channel, "purpose": "marketing",
                               "source": "preference_centre"}
        if rng.random() < 0.15:
            handle = f"@fan{n}"
            handles.append(handle)
            yield {"id": tid(), "type": "identity.linked", "at": moment(joined_at),
                   "contact": contact, "network": "mastodon", "handle": handle,
                   "verified_by": rng.choice(["oauth", "customer_confirmed", "agent"])}
        if rng.random() < 0.02:
            yield {"id": tid(), "type": "sms.inbound", "at": moment(joined_at),
                   "phone": f"+4477009{n:05d}", "body": rng.choice(["STOP", "Stop", "HELP"])}
    for m in range(contacts // 3):
        roll = rng.random()
        if roll < 0.04:
            stance, author_kind, text = "hostile", None, rng.choice(HOSTILE)
        elif roll < 0.07:
            # Journalists praise too; their posts are still not answered by a bot.
            stance = rng.choice(["positive", "neutral"])
            author_kind, text = "press", "Reporting on the shop's results."
        elif roll < 0.08:
            stance = rng.choice(["positive", "negative"])
            author_kind, text = "competitor", "Our prices are lower."
        elif roll < 0.25:
            stance, author_kind, text = "negative", None, rng.choice(COMPLAINTS)
        else:
            stance, author_kind, text = "positive", None, rng.choice(PRAISE)
        handle = rng.choice(handles) if handles and rng.random() < 0.3 else f"@visitor{m}"
        mention = {"id": tid(), "type": "social.mention", "at": moment(),
                   "network": "mastodon", "handle": handle, "text": text, "stance": stance}
        if author_kind:
            mention["author_kind"] = author_kind
        yield mention
