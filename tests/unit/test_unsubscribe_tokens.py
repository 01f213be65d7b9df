"""Unsubscribe tokens (domain/unsubscribe_tokens.py): good for one message, made only with
the secret, URL-safe, never a bare message id."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain.unsubscribe_tokens import message_of, token_for

SECRET = b"s" * 32
URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


@given(st.text(min_size=1, max_size=200))
def test_a_token_names_its_message_and_is_url_safe(message):
    token = token_for(message, SECRET)
    assert message_of(token, SECRET) == message
    assert URL_SAFE.fullmatch(token)
    assert token != message


def test_the_same_message_always_gets_the_same_token_and_others_another():
    assert token_for("msg-1", SECRET) == token_for("msg-1", SECRET)
    assert token_for("msg-1", SECRET) != token_for("msg-2", SECRET)
    assert token_for("msg-1", SECRET) != token_for("msg-1", b"t" * 32)


def test_a_token_is_not_good_for_another_message_nor_with_another_secret():
    first, second = token_for("msg-1", SECRET), token_for("msg-2", SECRET)
    swapped = first.split(".")[0] + "." + second.split(".")[1]
    assert message_of(swapped, SECRET) is None
    assert message_of(first, b"t" * 32) is None


@given(st.integers(0, 60), st.sampled_from("AbZ9_-."))
def test_any_change_to_a_token_breaks_it(position, character):
    token = token_for("msg-0123456789abcdef01234567", SECRET)
    position %= len(token)
    changed = token[:position] + character + token[position + 1:]
    if changed != token:
        assert message_of(changed, SECRET) is None


def test_what_is_not_a_token_is_refused_without_error():
    for text in ["", "msg-1", ".", "a.b", "msg-1." + "A" * 43, "é." + "A" * 43,
                 "x" * 10_000, token_for("msg-1", SECRET) + "."]:
        assert message_of(text, SECRET) is None
