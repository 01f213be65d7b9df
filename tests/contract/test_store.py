"""One contract for the event store, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from eventsourcing.domain import Aggregate, event

from orchestrator.domain import events as ev
from orchestrator.domain.events import ERASED
from orchestrator.errors import UsageError
from orchestrator.persistence import chain
from orchestrator.store import Store

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


def details(stream, version, email="ann@example.com", phone="+447700900123"):
    return ev.ContactDetailsRecorded(
        originator_id=stream, originator_version=version, timestamp=NOW,
        touchpoint_id=f"t{version}", at=NOW.isoformat(), contact="C1", kind="customer",
        email=email, phone=phone, address=None, timezone="Europe/London", locale=None,
        attributes={"first_name": "Ann"})


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as opened:
        yield opened


def test_appended_events_read_back_with_their_fields(store):
    stream = uuid.uuid4()
    with store.write() as unit:
        positions = unit.append([details(stream, 1), details(stream, 2, email="b@example.com")])

    events = list(store.ledger.events.get(stream))

    assert positions == sorted(positions) and len(positions) == 2
    assert [e.email for e in events] == ["ann@example.com", "b@example.com"]
    assert events[0].attributes == {"first_name": "Ann"}


def test_personal_fields_never_reach_the_stored_bytes(store):
    stream = uuid.uuid4()
    with store.write() as unit:
        unit.append([details(stream, 1)])

    with store.read() as tables:
        [(_, _, _, _, state)] = tables.raw_events(0, 10)

    assert b"ann@example.com" not in state
    assert b"+447700900123" not in state
    assert b"Ann" not in state
    assert b"Europe/London" in state  # not personal: needed to respect quiet hours


def test_every_event_is_chained_in_notification_order(store):
    with store.write() as unit:
        unit.append([details(uuid.uuid4(), 1) for _ in range(3)])
    with store.write() as unit:
        unit.append([details(uuid.uuid4(), 1)])

    with store.read() as tables:
        rows = tables.raw_events(0, 100)
        links = tables.chain_links(0, 100)

    head, previous = chain.GENESIS, 0
    expected = []
    for position, stream, version, topic, state in rows:
        head = chain.link(head, position, stream, version, topic, state)
        expected.append((position, previous, head))
        previous = position
    assert links == expected


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str):
        self.text = text


def test_the_librarys_own_save_path_is_chained_too(store):
    store.ledger.save(Note(text="a"), Note(text="b"))

    with store.read() as tables:
        assert [p for p, _, _ in tables.chain_links(0, 10)] == [
            p for p, *_ in tables.raw_events(0, 10)]
        assert len(tables.chain_links(0, 10)) == 2


def test_a_failed_write_leaves_nothing_behind(store):
    stream = uuid.uuid4()
    with pytest.raises(RuntimeError), store.write() as unit:
        unit.append([details(stream, 1)])
        raise RuntimeError("boom")

    with store.read() as tables:
        assert tables.raw_events(0, 10) == []
        assert tables.chain_links(0, 10) == []
        assert tables.load_keys([stream]) == {}


def test_a_version_conflict_rolls_back_the_whole_write(store):
    stream = uuid.uuid4()
    with store.write() as unit:
        unit.append([details(stream, 1)])

    with pytest.raises(Exception, match=r"(?i)unique|integrity|duplicate"), store.write() as unit:
        unit.append([details(uuid.uuid4(), 1), details(stream, 1)])

    with store.read() as tables:
        assert len(tables.raw_events(0, 10)) == 1
        assert len(tables.chain_links(0, 10)) == 1


def test_without_its_key_a_subject_reads_as_erased_and_others_are_untouched(store):
    erased, kept = uuid.uuid4(), uuid.uuid4()
    with store.write() as unit:
        unit.append([details(erased, 1), details(kept, 1, email="kim@example.com")])
    with store.write() as unit:
        unit.tables.delete_keys([erased])
    store.ledger.keys.forget([erased])

    [gone] = store.ledger.events.get(erased)
    [still] = store.ledger.events.get(kept)

    assert (gone.email, gone.phone, gone.attributes) == (ERASED, ERASED, ERASED)
    assert gone.kind == "customer" and gone.timezone == "Europe/London"
    assert still.email == "kim@example.com"


def test_a_read_only_store_refuses_to_write(store_url):
    with Store.open(store_url) as writer, writer.write() as unit:
        unit.append([details(uuid.uuid4(), 1)])

    with Store.open(store_url, read_only=True) as reader:
        assert reader.max_position() == 1
        with pytest.raises(UsageError, match="read-only"), reader.write():
            pass
