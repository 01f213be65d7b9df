"""A history recorded by earlier versions of the product must keep loading.

``history-2026-11.jsonl`` holds stored events exactly as they were written (topic and
state bytes), including a ``PurchaseRecorded`` in its first format (amount as a JSON
number, no sku). ``history-2026-11.keys.json`` holds the subject keys. Never regenerate
these files: add a new recorded history next to them when the format changes again.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from orchestrator.domain import events as ev
from orchestrator.domain.stages import StageThresholds
from orchestrator.store import Store
from orchestrator.store.reader import contact_state, read_log

HERE = Path(__file__).parent


def load_recorded_history(url: str) -> Store:
    store = Store.open(url)
    rows = [json.loads(line) for line in
            (HERE / "history-2026-11.jsonl").read_text().splitlines()]
    keys = json.loads((HERE / "history-2026-11.keys.json").read_text())
    with store.write() as unit:
        unit.tables.create_keys({UUID(k): base64.b64decode(v) for k, v in keys.items()})
        store.backend.insert_events(store.recorder, unit.cursor, [
            StoredEvent(originator_id=UUID(r["originator_id"]), originator_version=r["version"],
                        topic=r["topic"], state=r["state"].encode()) for r in rows])
    return store


def test_every_recorded_event_still_loads(store_url):
    with load_recorded_history(store_url) as store:
        events = [recorded.event for recorded in read_log(store)]

    assert len(events) == 11
    assert all(isinstance(e, ev.LedgerEvent) for e in events)
    mention = next(e for e in events if isinstance(e, ev.SocialMentionReceived))
    assert mention.text == "love the shop"


def test_the_first_purchase_format_is_upcast(store_url):
    with load_recorded_history(store_url) as store:
        purchases = [r.event for r in read_log(store) if isinstance(r.event, ev.PurchaseRecorded)]

    legacy = next(p for p in purchases if p.touchpoint_id == "legacy-1")
    assert legacy.amount == "19.99" and Decimal(legacy.amount) == Decimal("19.99")
    assert legacy.sku is None
    assert all(isinstance(p.amount, str) for p in purchases)


def test_the_recorded_contact_folds_to_the_same_state(store_url):
    as_of = datetime(2025, 10, 15, tzinfo=UTC)
    with load_recorded_history(store_url) as store:
        state = contact_state(store, "C1", as_of)

    assert state.email == "ann@example.com"
    assert state.stage(as_of, StageThresholds()) == "regular_buyer"
    assert len(state.purchases) == 5
    assert state.suppressions["sms"].reason == "sms_stop"
