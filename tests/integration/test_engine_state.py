"""The engine carries on from its saved state (docs/engine-state.md) exactly as it would
after replaying the whole history: same facts, same messages, same reasons; and a saved
state that cannot be trusted (changed, from elsewhere, erased) is never used."""

from __future__ import annotations

import json
import os
import pickle
import random
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.support import consent, contact, purchase

from orchestrator.campaigns.runtime import snapshots
from orchestrator.campaigns.runtime.engine import ENGINE_STATE
from orchestrator.demo.population import DEMO_NOW, generate
from orchestrator.store import Store

REPOSITORY = Path(__file__).resolve().parents[2]
JOURNEYS = sorted(str(p) for p in (REPOSITORY / "examples" / "journeys").glob("*.yaml"))
TEMPLATES = str(REPOSITORY / "templates")
SNAPSHOT_EVERY = "ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY"


class World:
    """One store, run in steps, with the engine's state saved after every run (``every``
    1) or never saved (0: each run folds the whole log)."""

    def __init__(self, url: str, folder: Path, every: int):
        self.url = url
        self.folder = folder
        self.environ = {**os.environ, SNAPSHOT_EVERY: str(every)}
        self.outbox = folder / "outbox"

    def cli(self, *args: str):
        result = run_cli("--store", self.url, "--templates", TEMPLATES, *args,
                         environ=self.environ)
        assert result.code in (0, 1), (args, result.out, result.err)
        return result

    def ingest(self, path: Path) -> None:
        assert self.cli("ingest", str(path)).code == 0

    def run(self, until: str) -> None:
        self.cli("run", "--until", until, "--outbox", str(self.outbox))

    def history(self) -> dict[tuple[str, int], dict]:
        """The whole record, stream by stream: the dispatcher hands messages over in
        parallel, so outcomes of different messages may be recorded in another order,
        and its claim id is random."""
        events = [json.loads(line) for line in
                  self.cli("audit", "export", "--format", "jsonl").out.splitlines()]
        for event in events:
            event.pop("claimed_by", None)
            event.pop("position")
        return {(event["stream"], event["version"]): event for event in events}


def population(folder: Path, contacts: int, seed: int) -> Path:
    path = folder / f"population-{seed}.jsonl"
    with path.open("w") as out:
        generate(out, contacts=contacts, seed=seed)
    return path


def late_touchpoints(folder: Path, seed: int, at: str, n: int) -> Path:
    """Touchpoints recorded after the clock passed their ``at`` (taken at the clock)."""
    rng = random.Random(seed)
    lines = []
    for k in range(n):
        key = f"C{rng.randint(1, 60):06d}"
        lines.append(purchase(f"late-{seed}-{n}-{k}", at, key, amount=rng.randint(5, 90)))
    path = folder / f"late-{seed}-{at[:10]}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def steps(seed: int) -> list[str]:
    rng = random.Random(seed)
    month_start = DEMO_NOW - timedelta(days=30)
    cuts = sorted(rng.sample(range(1, 30 * 24), 4))
    return [(month_start + timedelta(hours=h)).isoformat() for h in cuts] + [
        DEMO_NOW.isoformat()]


@pytest.mark.parametrize("seed", [3, 11])
def test_runs_from_the_saved_state_record_what_a_full_replay_records(store_url, tmp_path,
                                                                     seed):
    data = population(tmp_path, 120, seed)
    month_start = (DEMO_NOW - timedelta(days=30)).isoformat()
    worlds = []
    for every in (1, 0):
        url = store_url if every else _second_store(store_url, tmp_path)
        world = World(url, tmp_path / f"w{every}", every)
        world.ingest(data)
        world.run(month_start)
        assert world.cli("journeys", "publish", *JOURNEYS).code == 0
        for n, until in enumerate(steps(seed)):
            world.run(until)
            world.ingest(late_touchpoints(tmp_path, seed, until, 3 + n))
        world.run((DEMO_NOW + timedelta(days=3)).isoformat())
        worlds.append(world)
    saved, replayed = worlds
    assert saved.history() == replayed.history()
    messages = json.loads(saved.cli("messages", "--json").out)
    assert len(messages) > 20 and len({m["status"] for m in messages}) > 1
    with Store.open(saved.url) as store:
        fold = snapshots.load(store, small_world_thresholds())
    assert fold is not None  # the saved state was read back whole, every section of it
    for name in fold.engine.packed_sections(ENGINE_STATE, lambda value: b""):
        assert getattr(fold.engine, name) is not None
    assert len(fold.engine.last_entry) and len(fold.memory.scheduled)
    assert all(state is not None for _, state in fold.history.contacts.items())
    assert fold.history.phone_owners is not None and fold.history.handle_owner is not None
    with Store.open(replayed.url) as store:
        assert snapshots.saved_position(store) is None  # that world never saved one


def _second_store(url: str, folder: Path) -> str:
    return f"sqlite:///{folder / 'replayed.db'}"  # the reference: SQLite, never saved


def make_small_world(folder: Path, every: int, name: str = "small") -> World:
    world = World(f"sqlite:///{folder / f'{name}.db'}", folder / name, every)
    at = "2026-03-02T10:00:00+00:00"
    lines = []
    for n in range(5):
        key = f"K{n}"
        lines += [contact(f"c{n}", at, key, email=f"k{n}@example.com"),
                  consent(f"g{n}", at, key), purchase(f"p{n}", at, key)]
    path = folder / "small.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    world.ingest(path)
    assert world.cli("journeys", "publish", *JOURNEYS).code == 0
    world.run("2026-03-03T00:00:00+00:00")
    return world


@pytest.fixture
def small_world(tmp_path):
    return make_small_world(tmp_path, 1)


def test_a_changed_snapshot_is_ignored_and_replaced(small_world):
    with Store.open(small_world.url) as store:
        with store.engine.begin() as conn:
            row = conn.execute(snapshots.snapshots.select()).mappings().one()
            sealed = bytearray(row["sealed"])
            sealed[-1] ^= 1
            conn.execute(snapshots.snapshots.update().values(sealed=bytes(sealed)))
        assert snapshots.load(store, small_world_thresholds()) is None
    small_world.run("2026-03-09T00:00:00+00:00")
    with Store.open(small_world.url) as store:
        assert snapshots.load(store, small_world_thresholds()) is not None  # a new one


def test_a_snapshot_of_other_classes_is_refused_even_when_sealed_right(small_world, tmp_path):
    """A row written by someone holding the key still cannot run code: the run that
    meets it drops it and folds the whole log instead."""
    marker = tmp_path / "ran"
    with Store.open(small_world.url) as store:
        fold = snapshots.load(store, small_world_thresholds())
        assert fold is not None
        fold.memory.undecided = {"msg-x": _Exploit(str(marker))}  # read by every run
        snapshots.save(store, fold, now=DEMO_NOW)
        assert snapshots.load(store, small_world_thresholds()) is not None  # sealed right
        planted = snapshots.key_subject(store)
    small_world.run("2026-03-09T00:00:00+00:00")
    assert not marker.exists()
    with Store.open(small_world.url) as store:
        assert snapshots.key_subject(store) not in (None, planted)  # dropped and replaced
    reference = make_small_world(tmp_path, 0, "reference")
    reference.run("2026-03-09T00:00:00+00:00")
    assert small_world.history() == reference.history()
    assert _unpickles(pickle.dumps({"history": _Exploit(str(marker))})) is None
    assert not marker.exists()


class _Exploit:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _unpickles(payload: bytes):
    try:
        return snapshots._unpack(payload)
    except snapshots.SnapshotUnreadable:
        return None


def test_forget_destroys_the_saved_state_and_the_next_one_holds_no_erased_data(small_world):
    with Store.open(small_world.url) as store:
        assert snapshots.saved_position(store) is not None
        subject = snapshots.key_subject(store)
    assert small_world.cli("forget", "K1").code == 0
    with Store.open(small_world.url) as store:
        assert snapshots.saved_position(store) is None
        with store.read() as tables:
            assert not tables.load_keys([subject]).get(subject)  # destroyed
    small_world.run("2026-03-09T00:00:00+00:00")
    with Store.open(small_world.url) as store:
        fold = snapshots.load(store, small_world_thresholds())
    assert fold is not None
    assert fold.history.contacts["K1"].email != "k1@example.com"
    assert fold.history.contacts["K2"].email == "k2@example.com"


def small_world_thresholds():
    from orchestrator.domain.stages import StageThresholds
    return StageThresholds()


WEEKLY_NOTE = """
journey: weekly-note
trigger: {schedule: "0 9 * * MON", timezone: UTC, segment: "contact.kind == 'customer'"}
steps:
  - id: note
    send: {intent: relationship, template: regulars_note}
"""
THANKS = """
journey: thanks-each-time
trigger: {on: purchase.recorded}
reentry: 1d
steps:
  - id: thanks
    send: {intent: relationship, template: thanks}
"""
FIRST_MONDAY = DEMO_NOW.replace(month=1, day=5)  # 2026-01-05, a Monday


def test_a_state_that_dropped_settled_messages_still_records_what_a_full_replay_records(
        store_url, tmp_path):
    """Over months, the saved state forgets messages settled more than 35 days before
    (docs/engine-state.md: what a long-running service holds follows its contacts, not
    its history). Feedback that then arrives about one of them (an unsubscribe, a hard
    bounce) still reaches the right contact and channel, and the caps still count what
    they should: every fact is the one a full replay records."""
    contacts = [f"W{n}" for n in range(8)]
    start = (FIRST_MONDAY - timedelta(days=3)).isoformat()
    lines = [line for n, key in enumerate(contacts) for line in (
        contact(f"wc{n}", start, key, email=f"w{n}@example.com"),
        consent(f"wg{n}", start, key))]
    journeys = tmp_path / "weekly.yaml", tmp_path / "thanks.yaml"
    journeys[0].write_text(WEEKLY_NOTE)
    journeys[1].write_text(THANKS)
    worlds = []
    for every in (1, 0):
        url = store_url if every else _second_store(store_url, tmp_path)
        world = World(url, tmp_path / f"w{every}", every)
        world.folder.mkdir()
        world.ingest(_jsonl(world.folder / "people.jsonl", lines))
        assert world.cli("journeys", "publish", *map(str, journeys)).code == 0
        for week in range(14):
            monday = FIRST_MONDAY + timedelta(weeks=week)
            # Purchases each week: thank-you notes that the weekly caps meet.
            buys = [purchase(f"b{week}-{k}", (monday + timedelta(hours=10 + k)).isoformat(),
                             contacts[(week + k) % len(contacts)]) for k in range(3)]
            if week == 9:  # about the first week's notes, 9 weeks on
                first = {m["contact"]: m["id"] for m in _messages(world)
                         if m["journey"] == "weekly-note" and m["contact"] in ("W1", "W2")
                         and m["at"] < (FIRST_MONDAY + timedelta(days=1)).isoformat()}
                at = (monday + timedelta(hours=1)).isoformat()
                buys += [{"id": "unsub", "type": "message.unsubscribed", "at": at,
                          "message": first["W1"]},
                         {"id": "bounce", "type": "message.bounced", "at": at,
                          "message": first["W2"], "reason": "550 5.1.1 no such user"}]
            world.ingest(_jsonl(world.folder / f"week{week}.jsonl", buys))
            world.run((monday + timedelta(days=2)).isoformat())
        worlds.append(world)
    saved, replayed = worlds
    assert saved.history() == replayed.history()
    later = [m for m in _messages(saved) if m["contact"] == "W1"
             and m["at"] > (FIRST_MONDAY + timedelta(weeks=10)).isoformat()]
    assert later and all(m["status"] == "suppressed" for m in later)  # the unsubscribe held
    with Store.open(saved.url) as store:
        fold = snapshots.load(store, small_world_thresholds())
    assert fold is not None and fold.sends_kept_for == timedelta(days=7)
    held = len(fold.memory.scheduled)
    assert 0 < held < len(_messages(saved)) / 2  # most settled messages were dropped
    assert all(at > fold.clock - timedelta(days=8)
               for sends in fold.memory.sends.values() for _, at in sends)


def _jsonl(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _messages(world: World) -> list[dict]:
    return json.loads(world.cli("messages", "--json").out)
