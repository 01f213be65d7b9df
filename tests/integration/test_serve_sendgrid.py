"""POST /webhooks/sendgrid over real stores: only signed, fresh batches are recorded, each
event once whatever the retries, and a status never moves back."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest
from tests.conftest import TEST_NOW
from tests.serve_support import SendGridSigner, SentWorld, environ, sendgrid_event, served

ROUTE = "/webhooks/sendgrid"


@pytest.fixture
def signer():
    return SendGridSigner()


@pytest.fixture
def world(cli, sqlite_url, tmp_path):
    """Checks that do not depend on the backend run on SQLite; what the store's own
    idempotency and transactions guarantee runs on both (``both``)."""
    return SentWorld(cli, sqlite_url, tmp_path)


@pytest.fixture
def both(cli, store_url, tmp_path):
    return SentWorld(cli, store_url, tmp_path)


@pytest.fixture
def client(world, signer):
    with served(environ(world.url, signer)) as client:
        yield client


@pytest.fixture
def both_client(both, signer):
    with served(environ(both.url, signer)) as client:
        yield client


def post(client, signer, events, **sign):
    raw = json.dumps(events)
    return client.post(ROUTE, content=raw, headers=signer.headers(raw, **sign))


def test_a_signed_delivered_event_moves_our_message_to_delivered(both, signer, both_client):
    response = post(both_client, signer, [sendgrid_event(both.message["id"])])

    assert response.status_code == 200
    assert response.json() == {"recorded": 1, "duplicates": 0, "ignored": 0}
    assert both.status() == "delivered"
    [touchpoint] = both.touchpoints("sendgrid:")
    assert touchpoint["touchpoint_id"] == "sendgrid:ev1"
    assert touchpoint["at"] == "2026-03-02T10:00:00+00:00"  # the event's own timestamp


@pytest.mark.parametrize("tamper", ["forged", "missing", "other key"])
def test_a_bad_or_missing_signature_gets_403_and_records_nothing(world, signer, client,
                                                                 tamper):
    raw = json.dumps([sendgrid_event(world.message["id"])])
    headers = signer.headers(raw)
    if tamper == "forged":
        raw = raw.replace("delivered", "open")  # signed for another body
    elif tamper == "missing":
        headers = {"Content-Type": "application/json"}
    else:
        headers = SendGridSigner().headers(raw)

    assert client.post(ROUTE, content=raw, headers=headers).status_code == 403
    assert world.touchpoints("sendgrid:") == []
    assert "orchestrator_webhook_signature_failures_total" in client.get("/metrics").text


@pytest.mark.parametrize("skew", [timedelta(minutes=-11), timedelta(minutes=11)])
def test_a_timestamp_over_ten_minutes_away_is_refused_like_a_forgery(world, signer, client,
                                                                     skew):
    response = post(client, signer, [sendgrid_event(world.message["id"])], at=TEST_NOW + skew)

    assert response.status_code == 403
    assert world.touchpoints("sendgrid:") == []


def test_within_ten_minutes_is_accepted(world, signer, client):
    response = post(client, signer, [sendgrid_event(world.message["id"])],
                    at=TEST_NOW - timedelta(minutes=9))
    assert response.status_code == 200 and response.json()["recorded"] == 1


def test_a_replayed_body_records_nothing_new(both, signer, both_client):
    raw = json.dumps([sendgrid_event(both.message["id"])])
    headers = signer.headers(raw)

    first = both_client.post(ROUTE, content=raw, headers=headers)
    again = both_client.post(ROUTE, content=raw, headers=headers)

    assert first.json()["recorded"] == 1
    assert again.status_code == 200
    assert again.json() == {"recorded": 0, "duplicates": 1, "ignored": 0}
    assert len(both.touchpoints("sendgrid:")) == 1


def test_the_same_events_fifty_times_in_any_order_record_once_each(both, signer, both_client):
    message = both.message["id"]
    events = [sendgrid_event(message, "delivered", "ev-d"),
              sendgrid_event(message, "open", "ev-o", timestamp=1772449200),
              sendgrid_event(message, "processed", "ev-p", timestamp=1772442000)]
    shuffled = random.Random(7)
    for _ in range(50):
        batch = events * 2
        shuffled.shuffle(batch)
        assert post(both_client, signer, batch).status_code == 200

    assert sorted(t["touchpoint_id"] for t in both.touchpoints("sendgrid:")) == [
        "sendgrid:ev-d", "sendgrid:ev-o"]  # processed is acknowledged, not recorded
    assert both.status() == "opened"


def test_a_late_processed_or_delivered_does_not_move_a_status_back(both, signer, both_client):
    message = both.message["id"]
    post(both_client, signer, [sendgrid_event(message, "open", "ev-o", timestamp=1772449200)])
    post(both_client, signer, [sendgrid_event(message, "delivered", "ev-d"),
                          sendgrid_event(message, "processed", "ev-p")])

    assert both.status() == "opened"


def test_events_without_our_message_key_are_acknowledged_and_ignored(world, signer, client):
    response = post(client, signer, [sendgrid_event(None, event_id="theirs"),
                                     sendgrid_event("msg-not-in-this-store", event_id="x"),
                                     sendgrid_event(world.message["id"], "deferred", "d")])

    assert response.status_code == 200
    assert response.json() == {"recorded": 0, "duplicates": 0, "ignored": 3}
    assert world.touchpoints("sendgrid:") == []
    metrics = client.get("/metrics").text
    assert 'orchestrator_received_events_total{outcome="ignored",source="sendgrid"} 3.0' \
        in metrics


@pytest.mark.parametrize("raw", ["{not json", '{"event": "delivered"}', "\xff"])
def test_a_malformed_body_with_a_valid_signature_gets_400(world, signer, client, raw):
    response = client.post(ROUTE, content=raw.encode("utf-8"), headers=signer.headers(raw))

    assert response.status_code == 400
    assert world.touchpoints("sendgrid:") == []


@pytest.mark.parametrize(("event", "extra", "suppressed"), [
    ("bounce", {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 user unknown"},
     {"email": "hard_bounce"}),
    ("bounce", {"type": "blocked", "status": "4.7.1", "reason": "421 try again later"}, {}),
    ("dropped", {"reason": "Bounced Address"}, {"email": "hard_bounce"}),
    ("spamreport", {}, {"email": "complaint"}),
    ("group_unsubscribe", {"asm_group_id": 1}, {"email": "unsubscribed"}),
])
def test_bounces_complaints_and_unsubscribes_suppress_as_the_domain_says(
        world, signer, client, event, extra, suppressed):
    response = post(client, signer, [sendgrid_event(world.message["id"], event, **extra)])

    assert response.json()["recorded"] == 1
    assert world.suppressions() == suppressed
    [touchpoint] = world.touchpoints("sendgrid:")
    if event in ("bounce", "dropped"):
        assert world.status() == "bounced"
        assert touchpoint["reason"].startswith(f"sendgrid {extra.get('type', event)}: ")


def test_a_batch_is_all_or_nothing(both, signer, both_client, monkeypatch):
    from orchestrator.ingest import service as ingest_service

    message = both.message["id"]
    batch = [sendgrid_event(message, "delivered", "a"), sendgrid_event(message, "open", "b")]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # The store fails while appending: neither event may be left recorded.
    monkeypatch.setattr(ingest_service._BatchRecorder, "record", broken)
    with pytest.raises(RuntimeError):
        post(both_client, signer, batch)
    monkeypatch.undo()
    assert both.touchpoints("sendgrid:") == []
    assert post(both_client, signer, batch).json()["recorded"] == 2


def test_without_a_public_key_the_route_answers_503_not_configured(world):
    with served(environ(world.url)) as client:
        response = client.post(ROUTE, content="[]")

    assert response.status_code == 503
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in response.text


def test_concurrent_posts_of_the_same_event_record_it_once(both, signer, both_client):
    raw = json.dumps([sendgrid_event(both.message["id"], "open", "ev-race")])
    headers = signer.headers(raw)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def deliver():
        start.wait()
        statuses.append(both_client.post(ROUTE, content=raw, headers=headers).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [200] * 8
    assert [t["touchpoint_id"] for t in both.touchpoints("sendgrid:")] == ["sendgrid:ev-race"]
