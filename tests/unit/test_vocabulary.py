"""One vocabulary: the word lists other modules keep for their own use agree with
``domain.vocabulary`` and ``domain.message_lifecycle``."""

from __future__ import annotations

from orchestrator.domain import journey_events as je
from orchestrator.domain import message_lifecycle as lifecycle
from orchestrator.domain import vocabulary as words
from orchestrator.domain.policy import vocabulary as policy_words
from orchestrator.ingest.touchpoints import TYPES
from orchestrator.rendering.layout import CHANNEL_LAYOUTS


def test_ingest_accepts_exactly_the_touchpoint_types():
    assert tuple(TYPES) == words.TOUCHPOINT_TYPES


def test_every_decision_status_is_a_message_status():
    assert set(je.DECISION_CLASSES) == set(policy_words.POLICY_STATUSES)
    assert set(je.DECISION_CLASSES) <= set(lifecycle.STATUSES)


def test_every_channel_has_a_template_layout():
    assert set(CHANNEL_LAYOUTS) == set(words.CHANNELS) == set(policy_words.ALL_CHANNELS)


def test_intents_are_public_or_private_and_marketing_is_not_service():
    assert set(words.INTENTS) == set(words.PUBLIC_INTENTS) | set(words.PRIVATE_INTENTS)
    assert not set(words.MARKETING_INTENTS) & set(words.SERVICE_INTENTS)
    assert set(policy_words.INTENTS) == set(words.INTENTS)
