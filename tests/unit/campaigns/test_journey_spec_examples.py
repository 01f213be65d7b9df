"""The two journeys of the SPEC ("Journeys: YAML"), copied verbatim, load as described."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.campaigns.support import make_templates

from orchestrator.campaigns.language.journey import (
    BranchStep,
    EndStep,
    ScheduleTrigger,
    SendStep,
    TouchpointTrigger,
    WaitStep,
)
from orchestrator.campaigns.language.validation import load_journey, validate_files

EXAMPLES = Path(__file__).parent / "spec_examples"


@pytest.fixture(scope="module")
def spec_templates(tmp_path_factory):
    """Only the templates the SPEC's examples name, each with one fitting channel."""
    directory = tmp_path_factory.mktemp("spec_templates")
    for name, file in [("thanks", "email.txt"), ("bundle_offer", "email.html"),
                       ("weekly_spotlight", "social.txt"), ("regulars_note", "sms.txt")]:
        (directory / name).mkdir()
        (directory / name / file).write_text(
            "{{ brand.name }}\n" if file == "social.txt" else "{{ contact.first_name }}\n")
    return directory


def test_second_purchase_loads_as_described(spec_templates):
    journey = load_journey(EXAMPLES / "second-purchase.yaml", spec_templates)
    assert journey.id == "second-purchase"
    assert journey.description == "Deepen the relationship after a first purchase"
    assert isinstance(journey.trigger, TouchpointTrigger)
    assert journey.trigger.on == "purchase.recorded"
    assert journey.trigger.condition.source == "contact.stage == 'light_buyer'"
    assert journey.reentry == timedelta(days=30)
    assert (journey.goal.on, journey.goal.within) == ("purchase.recorded", timedelta(days=21))
    assert journey.exit_on == ("consent.withdrawn", "message.unsubscribed")
    assert not journey.is_broadcast
    thanks, pause, check, offer, done = journey.steps
    assert thanks == SendStep("thanks", "relationship", "thanks", "personal")
    assert pause == WaitStep("pause", timedelta(days=3))
    assert isinstance(check, BranchStep)
    assert [case.goto for case in check.cases] == ["done", "offer"]
    assert check.cases[1].condition is None
    assert offer == SendStep("offer", "relationship", "bundle_offer", "segment")
    assert done == EndStep("done")


def test_monday_spotlight_loads_as_described(spec_templates):
    journey = load_journey(EXAMPLES / "monday-spotlight.yaml", spec_templates)
    assert journey.is_broadcast
    assert isinstance(journey.trigger, ScheduleTrigger)
    assert (journey.trigger.cron, journey.trigger.timezone) == ("0 9 * * MON", "Europe/London")
    assert journey.trigger.segment.source == "contact.stage == 'regular_buyer'"
    post, thank_regulars = journey.steps
    assert post.is_public and post.template == "weekly_spotlight"
    assert not thank_regulars.is_public
    assert journey.goal is None and journey.exit_on == () and journey.reentry is None


def test_monday_spotlight_fires_on_mondays_at_nine_in_london(spec_templates):
    journey = load_journey(EXAMPLES / "monday-spotlight.yaml", spec_templates)
    after = datetime(2026, 7, 1, tzinfo=UTC)  # a Wednesday, in British Summer Time
    fire = journey.trigger.cron_trigger().get_next_fire_time(None, after)
    assert fire.astimezone(UTC) == datetime(2026, 7, 6, 8, 0, tzinfo=UTC)


def test_the_branch_of_second_purchase_chooses_by_purchases(spec_templates):
    journey = load_journey(EXAMPLES / "second-purchase.yaml", spec_templates)

    class Contact:
        stage = "light_buyer"

        def __init__(self, purchases):
            self.purchases = purchases

        def purchases_within(self, duration):
            return self.purchases

    check = journey.step("check")
    assert check.choose({"contact": Contact(2)}) == "done"
    assert check.choose({"contact": Contact(1)}) == "offer"


def test_both_examples_validate_together(spec_templates):
    journeys, problems = validate_files(sorted(EXAMPLES.glob("*.yaml")), spec_templates)
    assert problems == ()
    assert sorted(journey.id for journey in journeys) == ["monday-spotlight", "second-purchase"]


def test_the_examples_also_load_with_the_shared_templates(tmp_path):
    templates = make_templates(tmp_path / "templates")
    for path in EXAMPLES.glob("*.yaml"):
        assert load_journey(path, templates).source_path == str(path)
