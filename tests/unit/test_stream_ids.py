"""Stream ids are made without ``UUID.__init__``'s checks (one is made for every fact
recorded and every phone a read model keeps): they are still exactly ``uuid.uuid5``."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.domain import subjects


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_stream_ids_are_uuid5(name: str) -> None:
    made = subjects.uuid5(subjects.NAMESPACE, name)
    expected = uuid.uuid5(subjects.NAMESPACE, name)
    assert (made, made.hex, str(made), hash(made), made.version, made.variant,
            made.is_safe) == (expected, expected.hex, str(expected), hash(expected),
                              expected.version, expected.variant, expected.is_safe)


def test_the_subjects_streams_are_the_ones_recorded_before() -> None:
    # Ids recorded in stores made before: they must never change.
    assert subjects.contact_stream("C042") == uuid.uuid5(subjects.NAMESPACE, "contact:C042")
    assert subjects.phone_stream("+447700900123").hex == uuid.uuid5(
        subjects.NAMESPACE, "phone:+447700900123").hex
