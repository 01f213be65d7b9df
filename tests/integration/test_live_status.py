"""`orchestrator status` (JSON shape, text, read-only), who dispatches (`run --dispatch`),
the dispatch queue's rules a worker follows (paused journeys, parked doubts), and the
same figures on `/metrics` of `serve`."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import psycopg
from tests.conftest import TEST_NOW, fixed_clock, run_cli
from tests.journeys_support import TWO_NOTES, JourneyWorld
from tests.serve_support import environ, served
from tests.support import consent, contact, purchase

from orchestrator.projections import dispatch_queue
from orchestrator.projections.members import STALE_AFTER, Membership
from orchestrator.store import Store

AT = "2026-03-02T10:00:00+00:00"
UNTIL = "2026-03-06T00:00:00+00:00"


def world_with_choices(url, folder, contacts: int = 3, dispatch: str = "workers"):
    world = JourneyWorld(run_cli, url, folder)
    world.publish(TWO_NOTES)
    lines = []
    for n in range(contacts):
        key = f"C{n}"
        lines += [contact(f"c{n}", AT, key, email=f"c{n}@example.com"),
                  consent(f"g{n}", AT, key), purchase(f"p{n}", AT, key)]
    world.ingest(*lines)
    result = world.run_cli("run", "--until", UNTIL, "--dispatch", dispatch,
                           "--outbox", str(world.outbox))
    assert result.code == 0, result.err
    return world, result


def join(url: str, role: str = "worker", *, leader: bool = False) -> Membership:
    with Store.open(url) as store:
        member = Membership(store.engine, role, fixed_clock())
        member.join()
        if leader:
            member.beat(leader=True)
        return member


def test_status_json_names_leader_workers_lag_and_the_queue(store_url, tmp_path):
    world, _ = world_with_choices(store_url, tmp_path)
    status = json.loads(world.run_cli("status", "--json").out)
    assert set(status) >= {"at", "head", "leader", "workers", "workers_alive", "lag", "due",
                           "in_doubt", "dead_letters", "in_flight", "retry_later", "held"}
    assert status["leader"] is None and status["workers"] == []
    assert (status["due"], status["in_doubt"], status["dead_letters"]) == (6, 0, 0)
    assert status["lag"]["read_model"] == {"position": status["head"], "behind": 0}
    engine = status["lag"]["engine"]
    assert engine["clock"] == UNTIL and 0 < engine["position"] < status["head"]
    assert engine["behind"] == status["head"] - engine["position"]

    scheduler = join(store_url, "scheduler", leader=True)
    worker = join(store_url)
    status = json.loads(world.run_cli("status", "--json").out)
    assert status["leader"]["member"] == scheduler.member
    assert [w["member"] for w in status["workers"]] == [worker.member]
    assert status["workers"][0]["state"] == "running" and status["workers_alive"] == 1
    later = fixed_clock(TEST_NOW + STALE_AFTER + timedelta(seconds=1))
    gone = json.loads(run_cli("--store", store_url, "status", "--json", clock=later).out)
    assert gone["leader"] is None and gone["workers"][0]["state"] == "gone"
    text = world.run_cli("status").out
    assert "leader: " + scheduler.member in text and worker.member in text
    assert "6 due, 0 in flight, 0 in doubt" in text


def test_status_reads_with_a_role_that_cannot_write(postgres_url, tmp_path):
    world_with_choices(postgres_url, tmp_path)
    join(postgres_url)
    schema = postgres_url.split("schema=")[1]
    role = f"viewer_{uuid.uuid4().hex[:8]}"
    admin_url = postgres_url.split("?")[0]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
        admin.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    try:
        result = run_cli("--store", postgres_url.replace("postgres@", f"{role}@"), "status",
                         "--json")
        assert result.code == 0, result.err
        status = json.loads(result.out)
        assert status["due"] == 6 and status["workers_alive"] == 1
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}')
            admin.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}')
            admin.execute(f"DROP ROLE {role}")


def test_run_leaves_dispatch_to_live_workers_only_when_told_or_when_one_is_alive(
        sqlite_url, tmp_path):
    url = sqlite_url
    # No worker alive: auto sends itself.
    world, result = world_with_choices(url, tmp_path / "a", dispatch="auto")
    assert "left to" not in result.out and len(list(world.outbox.glob("email/*"))) == 6
    # A worker alive: auto leaves the next choices to it.
    join(url)
    more = "2026-03-07T10:00:00+00:00"
    world.ingest(contact("c9", more, "C9", email="c9@example.com"), consent("g9", more, "C9"),
                 purchase("p9", more, "C9"))
    result = world.run_cli("run", "--until", "2026-03-08T00:00:00+00:00",
                           "--outbox", str(world.outbox))
    assert result.code == 0 and "1 chosen message(s) left to" in result.out, result.out
    assert len(list(world.outbox.glob("email/*"))) == 6
    # --dispatch self: the run sends anyway.
    result = world.run_cli("run", "--until", "2026-03-08T00:00:00+00:00", "--dispatch",
                           "self", "--outbox", str(world.outbox))
    assert result.code == 0 and "left to" not in result.out
    assert len(list(world.outbox.glob("email/*"))) == 7


def test_a_worker_leaves_a_paused_journey_and_sends_it_after_resume(sqlite_url, tmp_path):
    world, _ = world_with_choices(sqlite_url, tmp_path, contacts=2)
    assert world.run_cli("journeys", "pause", "two-notes").code == 0
    status = json.loads(world.run_cli("status", "--json").out)
    assert (status["due"], status["held"]) == (0, 4)
    drained = world.run_cli("worker", "--drain", "--outbox", str(world.outbox))
    assert drained.code == 0 and "0 sent" in drained.out, drained.out
    assert world.run_cli("journeys", "resume", "two-notes").code == 0
    drained = world.run_cli("worker", "--drain", "--outbox", str(world.outbox))
    assert "4 sent" in drained.out, drained.out
    assert {m["status"] for m in world.messages()} == {"sent"}


def test_a_parked_doubt_does_not_hold_its_contacts_line(sqlite_url, tmp_path):
    """An SMS left in doubt (parked by a worker) is not due until its park ends, and the
    contact's next message may go meanwhile."""
    world_with_choices(sqlite_url, tmp_path, contacts=1)
    with Store.open(sqlite_url) as store:
        first, *_ = dispatch_queue.pick(store.engine, "w1", TEST_NOW, 10, timedelta(minutes=5))
        assert dispatch_queue.pick(store.engine, "w2", TEST_NOW, 10,
                                   timedelta(minutes=5)) == []  # the line is taken
        dispatch_queue.give_back(store.engine, "w1")
        dispatch_queue.park(store.engine, [first], TEST_NOW + timedelta(minutes=15))
        second = dispatch_queue.pick(store.engine, "w2", TEST_NOW, 10, timedelta(minutes=5))
        assert len(second) == 1 and second != [first]
        figures = dispatch_queue.figures(store.engine, TEST_NOW)
        assert (figures.in_doubt, figures.in_flight) == (1, 1)


def test_metrics_show_the_live_service_figures_at_scrape_time(sqlite_url, tmp_path):
    world, _ = world_with_choices(sqlite_url, tmp_path)
    worker = join(sqlite_url)
    with served(environ(sqlite_url)) as client:
        before = client.get("/metrics").text
        assert world.run_cli("worker", "--drain", "--outbox", str(world.outbox)).code == 0
        after = client.get("/metrics").text
    assert "orchestrator_live_status_up 1.0" in before
    assert "orchestrator_messages_due 6.0" in before
    assert "orchestrator_messages_due 0.0" in after
    assert "orchestrator_messages_in_doubt 0.0" in after
    assert "orchestrator_dead_letters 0.0" in after
    assert "orchestrator_leader 0.0" in after
    assert 'orchestrator_workers{state="running"} 1.0' in after  # the joined one
    assert 'orchestrator_workers{state="stopped"} 1.0' in after  # the drained one
    assert 'orchestrator_consumer_lag_events{consumer="read_model"} 0.0' in after
    assert 'orchestrator_consumer_lag_events{consumer="engine"}' in after
    assert (f'orchestrator_worker_messages{{kind="sent",worker="{worker.member}"}}'
            not in after)  # it beat no counts
