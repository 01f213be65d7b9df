"""The engine's state restored from a snapshot stays packed until first read, and reads
back exactly what was saved, whatever is read first or changed before a save."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.campaigns.runtime.history import ContactStates
from orchestrator.campaigns.runtime.packed import PackedSections
from orchestrator.domain.contact import ContactState


class Holder(PackedSections):
    def __init__(self, **sections):
        for name, value in sections.items():
            setattr(self, name, value)


values = st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                         max_size=5)
NAMES = ("alpha", "beta", "gamma")


@given(st.fixed_dictionaries({name: values for name in NAMES}),
       st.lists(st.sampled_from(NAMES), unique=True), st.data())
def test_sections_read_back_as_saved_whatever_is_read_or_changed_first(saved, read, data):
    unpacked = []

    def unpack(blob):
        unpacked.append(blob)
        return pickle.loads(blob)

    holder = Holder()
    holder.restore_packed({name: pickle.dumps(value) for name, value in saved.items()},
                          unpack)
    expected = dict(saved)
    for name in read:
        assert getattr(holder, name) == saved[name]
        if data.draw(st.booleans()):
            getattr(holder, name)["changed"] = 1
            expected[name] = {**saved[name], "changed": 1}
    assert len(unpacked) == len(read)  # only what was read was unpacked, once each
    for name in NAMES:
        assert holder.still_packed(name) == (name not in read)
    again = holder.packed_sections(NAMES, pickle.dumps)
    assert {name: pickle.loads(blob) for name, blob in again.items()} == expected


def test_a_section_set_before_it_was_read_is_saved_as_set():
    holder = Holder()
    holder.restore_packed({"alpha": pickle.dumps({"old": 1})}, pickle.loads)
    holder.alpha = {"new": 2}
    assert not holder.still_packed("alpha")
    assert pickle.loads(holder.packed_sections(["alpha"], pickle.dumps)["alpha"]) == {"new": 2}


@given(st.lists(st.sampled_from([f"C{n}" for n in range(6)]), unique=True),
       st.lists(st.sampled_from([f"C{n}" for n in range(9)])))
def test_contact_states_unpack_each_contact_on_first_use_only(saved, used):
    states = {key: ContactState(contact=key, kind="customer", known=True) for key in saved}
    unpacked = []

    def unpack(blob):
        unpacked.append(blob)
        return pickle.loads(blob)

    restored = ContactStates({key: pickle.dumps(state) for key, state in states.items()},
                             unpack)
    assert len(restored) == len(saved)
    for key in used:
        assert restored.get(key) == states.get(key)
        assert (key in restored) == (key in states)
    assert len(unpacked) == len(set(used) & set(saved))
    fresh = restored.setdefault("new", ContactState(contact="new"))
    assert restored["new"] is fresh
    assert {key for key, _ in restored.items()} == set(saved) | {"new"}
    packed = restored.packed(pickle.dumps)
    assert {key: pickle.loads(blob) for key, blob in packed.items()} == {
        **states, "new": ContactState(contact="new")}


def test_a_contact_packed_as_plain_values_reads_back_equal():
    from datetime import UTC, datetime, timedelta, timezone
    from decimal import Decimal

    from orchestrator.campaigns.runtime import snapshots
    from orchestrator.domain.contact import Consent, Identity, Suppression
    state = ContactState(
        contact="C1", kind="customer", email="[erased]", phone="+447700900001",
        address={"line1": "1 Road", "city": "Leeds"}, timezone="Europe/London", locale="en-GB",
        attributes={"tier": "gold", "n": 3}, known=True,
        identities=[Identity("mastodon", "@c1", "oauth", "2026-01-01T00:00:00+00:00", "t1")],
        consents={("email", "marketing"): Consent("email", "marketing", True,
                                                  "2026-01-02T00:00:00+01:00", "web", None,
                                                  "t2"),
                  ("sms", "transactional"): Consent("sms", "transactional", False,
                                                    "2026-01-03T00:00:00+00:00", "call",
                                                    "[erased]", "t3")},
        suppressions={"sms": Suppression("sms", "sms_stop", "2026-01-04T00:00:00+00:00", "t4")},
        purchases=[(datetime(2026, 2, 1, 9, tzinfo=UTC), Decimal("12.50"), "GBP"),
                   (datetime(2026, 2, 2, 9, tzinfo=timezone(timedelta(hours=-5))),
                    Decimal("0.1"), "USD")])
    assert snapshots._unpack_contact(snapshots._pack_contact(state)) == state
    empty = ContactState(contact="C2")
    assert snapshots._unpack_contact(snapshots._pack_contact(empty)) == empty
