"""The example journeys and templates shipped with the product: every journey validates
against ``templates/``, and every template renders for each channel it supports into a
message that channel accepts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.campaigns.language.journey import (
    BranchStep,
    EndStep,
    ScheduleTrigger,
    SendStep,
    TouchpointTrigger,
    WaitStep,
)
from orchestrator.campaigns.language.validation import load_journey, validate_files
from orchestrator.channels.memory import MemoryChannel
from orchestrator.channels.message import InReplyTo, OutboundMessage
from orchestrator.rendering import TemplateRenderer

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates"
JOURNEYS = sorted((ROOT / "examples" / "journeys").glob("*.yaml"))
TEMPLATE_NAMES = sorted(path.name for path in TEMPLATES.iterdir() if path.is_dir())

BRAND = {"name": "The shop", "postal_address": "1 High Street, London N1 1AA, United Kingdom"}
UNSUBSCRIBE_URL = "https://shop.example/unsubscribe/m-1?token=abc"
ADA = {"first_name": "Ada", "email": "ada@example.com", "locale": "en-GB"}
RECIPIENT = {"email": "ada@example.com", "sms": "+447700900123", "social": None,
             "mail": {"name": "Ada Lovelace", "line1": "1 Square", "city": "London",
                      "postcode": "SW1Y 4JH", "country": "GB"}}


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


def journey(name: str):
    return load_journey(ROOT / "examples" / "journeys" / f"{name}.yaml", TEMPLATES)


def test_every_example_journey_validates_against_the_templates():
    journeys, problems = validate_files(JOURNEYS, TEMPLATES)
    assert problems == (), "\n".join(map(str, problems))
    assert sorted(item.id for item in journeys) == [
        "mention-replies", "monday-spotlight", "second-purchase"]


def test_every_template_a_journey_names_exists(renderer):
    journeys, _ = validate_files(JOURNEYS, TEMPLATES)
    named = {step.template for item in journeys for step in item.steps
             if isinstance(step, SendStep)}
    assert named == {"thanks", "bundle_offer", "weekly_spotlight", "regulars_note",
                     "thanks_for_mention"}
    assert all(renderer.channels(name) for name in named)


def test_monday_spotlight_posts_publicly_and_thanks_regulars_privately(renderer):
    spotlight = journey("monday-spotlight")
    assert isinstance(spotlight.trigger, ScheduleTrigger)
    assert (spotlight.trigger.cron, spotlight.trigger.timezone) == ("0 9 * * MON",
                                                                    "Europe/London")
    assert spotlight.trigger.segment.source == "contact.stage == 'regular_buyer'"
    post, note = spotlight.steps
    assert (post.intent, post.template, post.is_public) == ("activation",
                                                            "weekly_spotlight", True)
    assert (note.intent, note.template, note.is_public) == ("relationship",
                                                            "regulars_note", False)
    assert renderer.channels("weekly_spotlight") == {"social"}
    assert renderer.channels("regulars_note") == {"email", "sms", "mail"}


def test_second_purchase_follows_the_spec_example():
    second = journey("second-purchase")
    assert isinstance(second.trigger, TouchpointTrigger)
    assert second.trigger.on == "purchase.recorded"
    assert second.trigger.condition.source == "contact.stage == 'light_buyer'"
    assert second.reentry == timedelta(days=30)
    assert (second.goal.on, second.goal.within) == ("purchase.recorded", timedelta(days=21))
    assert second.exit_on == ("consent.withdrawn", "message.unsubscribed")
    assert [type(step) for step in second.steps] == [SendStep, WaitStep, BranchStep,
                                                     SendStep, EndStep]
    assert [step.id for step in second.steps] == ["thanks", "pause", "check", "offer", "done"]
    assert second.step("pause").duration == timedelta(days=3)
    assert second.step("offer").audience == "segment"
    assert not any(step.is_public for step in second.steps if isinstance(step, SendStep))


def test_mention_replies_showcase_positive_mentions_in_public(renderer):
    replies = journey("mention-replies")
    assert replies.trigger.on == "social.mention"
    assert replies.trigger.condition.source == "event.stance == 'positive'"
    assert replies.trigger.condition.evaluate({"event": {"stance": "positive"}})
    assert not replies.trigger.condition.evaluate({"event": {"stance": "hostile"}})
    (reply,) = replies.steps
    assert (reply.intent, reply.template, reply.audience) == ("showcase",
                                                              "thanks_for_mention", "public")
    assert renderer.channels("thanks_for_mention") == {"social"}


def context(channel: str, contact: dict | None) -> dict:
    message = {"id": "m-1", "unsubscribe_url": UNSUBSCRIBE_URL}
    if channel == "social":
        return {"brand": BRAND, "message": message}
    return {"contact": contact, "brand": BRAND, "message": message}


CASES = [(name, channel) for name in TEMPLATE_NAMES
         for channel in sorted(TemplateRenderer(TEMPLATES).channels(name))]


@pytest.mark.parametrize("contact", [ADA, {"email": "ada@example.com"}],
                         ids=["with-name", "without-name"])
@pytest.mark.parametrize("name, channel", CASES)
def test_every_template_renders_into_a_message_its_channel_accepts(renderer, name, channel,
                                                                   contact):
    rendered = renderer.render(name, channel, context(channel, contact))
    outbound = OutboundMessage(
        message_id="m-1", channel=channel, to_address=RECIPIENT[channel],
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=InReplyTo("mastodon", "1") if channel == "social" else None,
        unsubscribe_url=UNSUBSCRIBE_URL if channel == "email" else None,
        sender_postal_address=BRAND["postal_address"])
    assert not MemoryChannel.of(channel).send(outbound).repeated
    visible = " ".join(part for part in (rendered.subject, rendered.text, rendered.html)
                       if part)
    assert "None" not in visible and "{{" not in visible
    assert "The shop" in visible


@pytest.mark.parametrize("name", [name for name, channel in CASES if channel == "email"])
def test_example_emails_carry_the_postal_address_and_unsubscribe_link(renderer, name):
    rendered = renderer.render(name, "email", context("email", ADA))
    assert rendered.subject
    for body in (rendered.text, rendered.html):
        assert BRAND["postal_address"] in body
        assert UNSUBSCRIBE_URL in body


@pytest.mark.parametrize("name", [name for name, channel in CASES if channel == "sms"])
def test_example_sms_fit_one_message_and_say_how_to_opt_out(renderer, name):
    text = renderer.render(name, "sms", context("sms", ADA)).text
    assert len(text) <= 160
    assert text.endswith("Reply STOP to opt out.")


@pytest.mark.parametrize("name", [name for name, channel in CASES if channel == "social"])
def test_example_public_posts_use_no_contact_data(renderer, name):
    assert not renderer.uses_contact(name, "social")
