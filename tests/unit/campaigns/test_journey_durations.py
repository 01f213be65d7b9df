from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.campaigns.language.durations import (
    LONGEST,
    DurationInvalid,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
    ],
)
def test_durations_read_as_written(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is not a duration"),
        ("30", "followed by a unit"),
        ("d", "is not a duration"),
        ("30D", "is not a duration"),
        ("3 d", "is not a duration"),
        ("12h1d", "largest unit first"),
        ("1.5d", "whole number"),
        ("-3d", "is not a duration"),
        ("0d", "must be longer than zero"),
        ("36500d", "longest duration allowed"),
        ("9999999999d", "is not a duration"),
    ],
)
def test_bad_durations_say_what_was_expected(text, fragment):
    with pytest.raises(DurationInvalid, match=fragment):
        parse_duration(text)


def test_a_number_is_not_a_duration():
    with pytest.raises(DurationInvalid, match="got 30"):
        parse_duration(30)  # type: ignore[arg-type]


def test_durations_are_written_in_their_shortest_form():
    assert format_duration(timedelta(days=1, hours=12)) == "1d12h"
    assert format_duration(timedelta(days=14)) == "2w"
    assert format_duration(timedelta(seconds=90)) == "1m30s"


@given(st.integers(min_value=1, max_value=int(LONGEST.total_seconds())))
def test_durations_round_trip(seconds):
    duration = timedelta(seconds=seconds)
    text = format_duration(duration)
    assert parse_duration(text) == duration
    assert format_duration(parse_duration(text)) == text


@given(st.text(max_size=12))
def test_any_text_is_a_duration_or_a_duration_error(text):
    try:
        duration = parse_duration(text)
    except DurationInvalid:
        return
    assert timedelta(0) < duration <= LONGEST
