"""Tampering `audit verify` used to miss, and the export crash it left (issue 14, item 6).

- a truncation that takes the checkpoints with it, and events appended after the last
  signed checkpoint: with a pinned public key, a signed checkpoint must cover the head;
- the key table (not chained): swapped, deleted or mismatched keys are found by opening
  every sealed blob, and `audit export` marks what does not open instead of crashing;
- an erasure (and a key made again later for the same phone) still verifies and exports;
- the JSON of a broken chain says which events did verify.

Tampering is raw SQL on the tables, as in test_tamper_evidence.py (PostgreSQL's
append-only triggers disabled first, as a superuser can).
"""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from tests.integration.test_tamper_evidence import Tamper, _recompute_chain
from tests.replay.test_recorded_history import HERE as REPLAY
from tests.replay.test_recorded_history import load_recorded_history
from tests.support import contact, purchase, write_jsonl

from orchestrator.domain import subjects
from orchestrator.persistence.checkpoints import new_key_pair

AT = "2026-03-01T10:00:00+00:00"
UNREADABLE = "[unreadable: tampered]"


class RawStore(Tamper):
    """Raw SQL on the key and checkpoint tables too."""

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.postgres else name

    def subject(self, stream):
        return stream if self.postgres else stream.hex

    def key_of(self, stream) -> bytes:
        [(key,)] = self.run(f"SELECT key FROM {self.table('subject_keys')} WHERE subject_id = ?",
                            (self.subject(stream),))
        return bytes(key)

    def set_key(self, stream, key: bytes) -> None:
        self.run(f"UPDATE {self.table('subject_keys')} SET key = ? WHERE subject_id = ?",
                 (key, self.subject(stream)))

    def delete_key(self, stream) -> None:
        self.run(f"DELETE FROM {self.table('subject_keys')} WHERE subject_id = ?",
                 (self.subject(stream),))

    def delete_checkpoints(self) -> None:
        self.run(f"DELETE FROM {self.table('checkpoints')}")

    def truncate_after(self, position: int) -> None:
        self.run(f"DELETE FROM {self.events} WHERE {self.position} > ?", (position,))
        self.run(f"DELETE FROM {self.chain} WHERE position > ?", (position,))


@pytest.fixture
def signing(monkeypatch) -> tuple[str, str]:
    """Writers sign their checkpoints; returns (private, public), the public key being the
    one an auditor pins."""
    private, public = new_key_pair()
    monkeypatch.setenv("ORCHESTRATOR_SIGNING_KEY", private)
    return private, public


def ingest(cli, url, path: Path, *lines) -> None:
    result = cli("--store", url, "ingest", write_jsonl(path, *lines))
    assert result.code == 0, result.err


def purchases(first: int, count: int) -> list[dict]:
    return [purchase(f"p{i}", AT, contact=f"C{i % 4}") for i in range(first, first + count)]


def verify_json(cli, url, *args) -> tuple[int, dict]:
    result = cli("--store", url, "audit", "verify", "--json", *args)
    return result.code, json.loads(result.out)


def export(cli, url) -> tuple[int, list[dict], str]:
    result = cli("--store", url, "audit", "export", "--format", "jsonl")
    return result.code, [json.loads(line) for line in result.out.splitlines()], result.err


# --- truncation and the signed head ---------------------------------------------------------

def test_a_truncation_that_takes_the_checkpoints_with_it_fails_with_a_pinned_key(
        cli, store_url, tmp_path, signing, monkeypatch):
    _, public = signing
    ingest(cli, store_url, tmp_path / "a.jsonl", *purchases(0, 30))
    assert cli("--store", store_url, "audit", "verify", "--public-key", public).code == 0

    RawStore(store_url).truncate_after(20)
    RawStore(store_url).delete_checkpoints()

    # What is left agrees with itself: without a key to trust, nothing can tell.
    assert cli("--store", store_url, "audit", "verify").code == 0
    code, report = verify_json(cli, store_url, "--public-key", public)
    assert code == 1
    assert report["first_broken_position"] == 20
    assert "no signed checkpoint covers the head (position 20)" in report["problem"]
    assert "found none signed by the given public key" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (0, 0)
    # A key pinned through the environment is the same pin.
    monkeypatch.setenv("ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY", public)
    text = cli("--store", store_url, "audit", "verify")
    assert text.code == 1
    assert "BROKEN at position 20: no signed checkpoint covers the head" in text.out


def test_events_after_the_last_signed_checkpoint_are_not_proven(cli, store_url, tmp_path,
                                                               signing, monkeypatch):
    private, public = signing
    ingest(cli, store_url, tmp_path / "a.jsonl", *purchases(0, 10))
    monkeypatch.delenv("ORCHESTRATOR_SIGNING_KEY")  # a writer without the key (or a forger)
    ingest(cli, store_url, tmp_path / "b.jsonl", *purchases(10, 5))

    code, report = verify_json(cli, store_url, "--public-key", public)

    assert code == 1
    assert report["first_broken_position"] == 15
    assert "the last one signed by the given public key covers position 10" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (10, 10)
    assert verify_json(cli, store_url)[0] == 0  # unpinned, the unsigned head is accepted
    # The next signed write covers the head again.
    monkeypatch.setenv("ORCHESTRATOR_SIGNING_KEY", private)
    ingest(cli, store_url, tmp_path / "c.jsonl", *purchases(15, 1))
    code, report = verify_json(cli, store_url, "--public-key", public)
    assert code == 0, report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (16, 16)


def test_a_checkpoint_kept_outside_must_be_covered_by_the_chain(cli, store_url, tmp_path,
                                                               signing):
    _, public = signing
    ingest(cli, store_url, tmp_path / "a.jsonl", *purchases(0, 30))
    kept = tmp_path / "checkpoint.json"
    assert cli("--store", store_url, "audit", "checkpoint", "--out", kept).code == 0
    RawStore(store_url).truncate_after(20)
    RawStore(store_url).delete_checkpoints()

    code, report = verify_json(cli, store_url, "--checkpoint", kept, "--public-key", public)

    assert code == 1
    assert report["first_broken_position"] == 21
    assert "history truncated: a checkpoint covers position 30" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (20, 20)


# --- the key table --------------------------------------------------------------------------

EMAILS = {"A": "ann.a@example.com", "B": "bob.b@example.com", "C": "cat.c@example.com"}


@pytest.fixture
def three_contacts(cli, store_url, tmp_path):
    """Positions 1-3: contacts A, B, C with an email each (sealed); 4-6: a purchase each."""
    ingest(cli, store_url, tmp_path / "a.jsonl",
           *[contact(f"c{name}", AT, contact=name, email=email) for name, email in EMAILS.items()],
           *[purchase(f"p{name}", AT, contact=name) for name in EMAILS])
    assert cli("--store", store_url, "audit", "verify").code == 0
    return store_url


def test_two_swapped_keys_are_tampering_and_the_export_goes_on(cli, three_contacts):
    tamper = RawStore(three_contacts)
    a, b = subjects.contact_stream("A"), subjects.contact_stream("B")
    key_a, key_b = tamper.key_of(a), tamper.key_of(b)
    tamper.set_key(a, key_b)
    tamper.set_key(b, key_a)

    code, report = verify_json(cli, three_contacts)
    assert code == 1
    assert report["first_broken_position"] == 1
    assert "does not open with its subject's key" in report["problem"]
    assert "a key swapped or replaced" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (0, 0)

    code, lines, err = export(cli, three_contacts)
    assert code == 1
    assert "first at position 1" in err and UNREADABLE in err
    assert [line["position"] for line in lines] == [1, 2, 3, 4, 5, 6]  # nothing left out
    emails = {line["contact"]: line["email"] for line in lines if "email" in line}
    assert emails == {"A": UNREADABLE, "B": UNREADABLE, "C": EMAILS["C"]}
    for secret in (key_a, key_b):
        assert secret.hex() not in err + json.dumps(report) and secret.hex() not in str(lines)


def test_a_key_deleted_outside_forget_is_tampering(cli, three_contacts):
    RawStore(three_contacts).delete_key(subjects.contact_stream("B"))

    code, report = verify_json(cli, three_contacts)
    assert code == 1
    assert report["first_broken_position"] == 2
    assert "a key was deleted outside `orchestrator forget`" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (1, 1)

    code, lines, err = export(cli, three_contacts)
    assert code == 1 and "first at position 2" in err
    assert [line["email"] for line in lines[:3]] == [EMAILS["A"], UNREADABLE, EMAILS["C"]]


def test_a_blob_moved_to_another_subject_does_not_open_there(cli, three_contacts):
    """The subject id and version are the blob's associated data: someone who moves A's
    sealed email into B's event and recomputes every link still leaves a blob that opens
    with no key but A's, at A's version."""
    tamper = RawStore(three_contacts)
    state_a, state_b = json.loads(tamper.state_at(1)), json.loads(tamper.state_at(2))
    state_b["_sealed"] = state_a["_sealed"]
    tamper.set_state(2, json.dumps(state_b, separators=(",", ":")).encode())
    _recompute_chain(tamper)
    tamper.delete_checkpoints()

    code, report = verify_json(cli, three_contacts)
    assert code == 1
    assert report["first_broken_position"] == 2
    assert "does not open with its subject's key" in report["problem"]

    code, lines, _ = export(cli, three_contacts)
    assert code == 1
    assert [line["email"] for line in lines[:3]] == [EMAILS["A"], UNREADABLE, EMAILS["C"]]


PHONE = "+447700900123"


def test_an_erasure_still_verifies_when_its_phone_writes_again(cli, store_url, tmp_path):
    ingest(cli, store_url, tmp_path / "a.jsonl",
           contact("e1", AT, contact="ERIN", phone=PHONE),
           {"id": "s1", "type": "sms.inbound", "at": AT, "phone": PHONE, "body": "hello there"})
    assert cli("--store", store_url, "forget", "ERIN").code == 0
    # The same number writes again: no new key is made for an erased subject, so the old
    # blobs stay erased and the new fact keeps nothing personal.
    ingest(cli, store_url, tmp_path / "b.jsonl",
           {"id": "s2", "type": "sms.inbound", "at": "2026-03-02T10:00:00+00:00",
            "phone": PHONE, "body": "hi again"})

    code, lines, err = export(cli, store_url)
    assert code == 0, err
    assert [line.get("body") for line in lines if line["type"] == "InboundSmsReceived"] == [
        "[erased]", "[erased]"]
    assert "hello there" not in json.dumps(lines) and "hi again" not in json.dumps(lines)
    code, report = verify_json(cli, store_url)
    assert code == 0, report["problem"]
    assert report["sealed_checked"] == 2  # the two erased blobs are looked at, not skipped


# --- what a broken chain's JSON says --------------------------------------------------------

def test_a_broken_chain_reports_the_events_that_verified(cli, store_url, tmp_path):
    ingest(cli, store_url, tmp_path / "a.jsonl", *purchases(0, 30))
    tamper = RawStore(store_url)
    state = bytearray(tamper.state_at(15))
    state[len(state) // 2] ^= 0x01
    tamper.set_state(15, bytes(state))

    code, report = verify_json(cli, store_url)

    assert code == 1 and report["first_broken_position"] == 15
    assert (report["verified_events"], report["verified_up_to"]) == (14, 14)


def test_a_rewritten_history_verifies_only_up_to_the_last_checkpoint_that_held(
        cli, store_url, tmp_path):
    ingest(cli, store_url, tmp_path / "a.jsonl", *purchases(0, 10))  # checkpoint at 10
    ingest(cli, store_url, tmp_path / "b.jsonl", *purchases(10, 20))  # checkpoint at 30
    tamper = RawStore(store_url)
    state = bytearray(tamper.state_at(20))
    state[len(state) // 2] ^= 0x01
    tamper.set_state(20, bytes(state))
    _recompute_chain(tamper)

    code, report = verify_json(cli, store_url)

    assert code == 1 and report["first_broken_position"] == 30
    assert "no longer matches its checkpoint" in report["problem"]
    assert (report["verified_events"], report["verified_up_to"]) == (10, 10)


# --- the recorded history (an earlier event format) -----------------------------------------

def _sealed_in_recorded_history() -> int:
    rows = (REPLAY / "history-2026-11.jsonl").read_text().splitlines()
    return sum('"_sealed"' in json.loads(row)["state"] for row in rows)


def test_the_recorded_history_verifies_with_every_blob_opened(cli, store_url):
    with load_recorded_history(store_url):
        pass

    code, report = verify_json(cli, store_url)

    assert code == 0, report["problem"]
    assert report["events"] == 11
    assert report["sealed_checked"] == _sealed_in_recorded_history() > 0


def test_swapped_keys_in_the_recorded_history_are_found(cli, store_url):
    with load_recorded_history(store_url):
        pass
    keys = json.loads((REPLAY / "history-2026-11.keys.json").read_text())
    first, second = (UUID(subject) for subject in list(keys)[:2])
    rows = [json.loads(row) for row in
            (REPLAY / "history-2026-11.jsonl").read_text().splitlines()]
    expected = min(row["position"] for row in rows if '"_sealed"' in row["state"]
                   and UUID(row["originator_id"]) in (first, second))
    tamper = RawStore(store_url)
    key_first, key_second = tamper.key_of(first), tamper.key_of(second)
    tamper.set_key(first, key_second)
    tamper.set_key(second, key_first)

    code, report = verify_json(cli, store_url)

    assert code == 1
    assert report["first_broken_position"] == expected
    assert "does not open with its subject's key" in report["problem"]
