"""SMS segment counting: GSM-7 vs UCS-2, 160/153 and 70/67, pairs never split."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain.sms_segments import GSM7_BASIC, GSM7_EXTENSION, sms_segments

gsm_basic_text = st.text(alphabet=sorted(GSM7_BASIC), max_size=2000)
gsm_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=2000)
bmp_non_gsm = st.characters(min_codepoint=0x100, max_codepoint=0xD7FF).filter(
    lambda ch: ch not in GSM7_BASIC and ch not in GSM7_EXTENSION)
ucs2_bmp_text = st.lists(bmp_non_gsm, min_size=1, max_size=1000).map("".join)


@given(gsm_basic_text)
def test_plain_gsm_text_is_160_in_one_then_153_a_segment(text):
    segments = sms_segments(text)
    n = len(text)
    assert segments.encoding == "GSM-7"
    assert segments.units == n
    assert segments.count == (1 if n <= 160 else math.ceil(n / 153))


@given(ucs2_bmp_text)
def test_any_character_outside_gsm_makes_it_ucs2_70_then_67(text):
    segments = sms_segments(text)
    n = len(text)
    assert segments.encoding == "UCS-2"
    assert segments.count == (1 if n <= 70 else math.ceil(n / 67))


@given(gsm_text)
def test_extension_characters_count_two_septets(text):
    extension = sum(ch in GSM7_EXTENSION for ch in text)
    assert sms_segments(text).units == len(text) + extension


@given(gsm_text, st.sampled_from([*sorted(GSM7_BASIC | GSM7_EXTENSION), "ą", "😀", "中"]))
def test_adding_a_character_never_needs_fewer_segments(text, extra):
    assert sms_segments(text + extra).count >= sms_segments(text).count >= 1


def test_an_escape_pair_is_never_split_across_segments():
    # 152 septets then "€" (2): the pair does not fit in the first 153, so it moves on.
    assert sms_segments("a" * 152 + "€" + "a" * 150).count == 2
    assert sms_segments("a" * 152 + "€" + "a" * 152).count == 3


def test_a_surrogate_pair_is_never_split_across_segments():
    assert sms_segments("中" * 66 + "😀" + "中" * 66).count == 3
    assert sms_segments("😀" * 35).count == 1  # 70 code units still fit in one SMS


def test_ten_full_gsm_segments_is_1530_characters():
    assert sms_segments("x" * 1530).count == 10
    assert sms_segments("x" * 1531).count == 11
