"""Reading the log a page at a time, each row with its subject's key in the same query,
gives exactly the events the library's own path gives (its notifications decoded by the
mapper one by one, keys looked up through the key ring): personal fields opened, erased
ones marked, an unknown key tombstoned, upcasters applied, the same order and positions."""

from __future__ import annotations

from tests.support import consent, contact, purchase, write_jsonl

from orchestrator.domain import events as ev
from orchestrator.store import Store
from orchestrator.store.reader import event_pages, read_log, read_log_pages

LINES = [
    contact("l1", "2026-01-01T10:00:00+00:00", contact="A", phone="+447700900001"),
    contact("l2", "2026-01-01T11:00:00+00:00", contact="B", phone="+447700900002"),
    purchase("l3", "2026-01-02T10:00:00+00:00", contact="A"),
    consent("l4", "2026-01-02T10:00:00+00:00", contact="B"),
    {"id": "l5", "type": "sms.inbound", "at": "2026-01-03T10:00:00+00:00",
     "phone": "+447700900002", "body": "STOP"},
    {"id": "l6", "type": "social.mention", "at": "2026-01-03T11:00:00+00:00",
     "network": "mastodon", "handle": "@someone", "text": "hello", "stance": "positive"},
    {"id": "l7", "type": "identity.linked", "at": "2026-01-04T10:00:00+00:00",
     "contact": "A", "network": "mastodon", "handle": "@a", "verified_by": "agent"},
]


def _library_path(store: Store) -> list[tuple[int, dict]]:
    found = []
    for notification in store.recorder.select_notifications(1, 10_000):
        event = store.ledger.mapper.to_domain_event(notification)
        found.append((notification.id, type(event), dict(vars(event))))
    return found


def _ours(store: Store, page_size: int) -> list[tuple[int, dict]]:
    return [(recorded.position, type(recorded.event), dict(vars(recorded.event)))
            for page in read_log_pages(store, page_size=page_size) for recorded in page]


def test_pages_of_rows_with_keys_decode_as_the_library_does(cli, store_url, tmp_path):
    assert cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl",
                                                           *LINES)).code == 0
    assert cli("--store", store_url, "forget", "B").code == 0  # keys become tombstones
    assert cli("--store", store_url, "ingest", write_jsonl(tmp_path / "b.jsonl", contact(
        "l8", "2026-02-01T10:00:00+00:00", contact="B", email="b@example.com"))).code == 0

    with Store.open(store_url) as store:
        expected = _library_path(store)
        for page_size in (1, 3, 2000):
            assert _ours(store, page_size) == expected
        assert [(r.position, dict(vars(r.event))) for r in read_log(store, after=2, upto=6)] \
            == [(p, e) for p, _, e in expected if 2 < p <= 6]
        pages = list(event_pages(store, after=1, page_size=4))
        positions = [p for p, _, _ in expected if p > 1]
        assert [last for last, _ in pages] == [positions[i:i + 4][-1]
                                               for i in range(0, len(positions), 4)]
        assert [dict(vars(e)) for _, events in pages for e in events] == [
            e for p, _, e in expected if p > 1]

    by_touchpoint = {e.get("touchpoint_id"): e for _, _, e in expected}
    assert by_touchpoint["l1"]["phone"] == "+447700900001"      # opened
    assert by_touchpoint["l6"]["handle"] == "@someone"
    assert by_touchpoint["l2"]["phone"] == ev.ERASED             # forgotten
    assert by_touchpoint["l8"]["email"] == ev.ERASED             # recorded after forget
