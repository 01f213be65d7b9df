"""The batched reads the dispatcher uses (many streams, many contacts in one go) give
exactly what the one-at-a-time reads give, erased contacts and unknown ones included."""

from __future__ import annotations

import json

from tests.conftest import run_cli

from orchestrator.demo.population import generate
from orchestrator.domain import subjects
from orchestrator.store import Store, reader


def test_batched_reads_equal_the_single_reads(store_url, tmp_path, monkeypatch):
    population = tmp_path / "population.jsonl"
    with population.open("w") as out:
        generate(out, contacts=60, seed=3)
    assert run_cli("--store", store_url, "ingest", str(population)).code == 0
    lines = population.read_text().splitlines()
    keys = sorted({line["contact"] for line in map(json.loads, lines) if line.get("contact")})
    assert run_cli("--store", store_url, "forget", keys[0], "--by", "test").code == 0
    monkeypatch.setattr(reader, "STREAMS_A_QUERY", 7)  # several queries, not one
    asked = [*keys, "NOBODY"]
    with Store.open(store_url) as store:
        one_by_one = {key: reader.contact_state(store, key, None) for key in asked}
        assert reader.contact_states(store, reversed(asked)) == one_by_one
        assert one_by_one["NOBODY"] is None
        assert any(state.phone for state in one_by_one.values() if state)
        streams = [subjects.contact_stream(key) for key in asked]
        together = reader.streams_events(store, streams)
        assert together == {s: reader.stream_events(store, s) for s in streams}
