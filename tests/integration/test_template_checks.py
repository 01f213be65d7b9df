"""Templates checked at ``journeys validate`` and ``publish``: each problem names the
template file and line, exit 2, nothing published; at run time a template that still
fails is a ``failed`` message and ``run`` exits 1."""

from __future__ import annotations

import pytest
from tests.journeys_support import PUBLIC_MENTION_REPLY, THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

D0 = "2026-03-02T10:00:00+00:00"


@pytest.fixture
def world(cli, sqlite_url, tmp_path):
    return JourneyWorld(cli, sqlite_url, tmp_path)


PROBLEMS = {
    "syntax": ("thanks", "email.txt", "Hello\n{{ contact.first_name ", 2, "unexpected"),
    "unknown name": ("thanks", "email.txt", "Hi\n\n{{ customer.first_name }}", 3,
                     "unknown variable 'customer'"),
    "unknown attribute": ("thanks", "sms.txt", "Hi {{ contact.firstname }}", 1,
                          "unknown variable 'contact.firstname'"),
    "public uses contact": ("reply", "social.txt", "Thanks\n{{ contact.first_name }}!", 2,
                            "must not use 'contact'"),
    "sms too long": ("thanks", "sms.txt", "Long " * 400 + "{{ contact.first_name }}", 1,
                     "segments"),
    "subject line break": ("thanks", "email.subject.txt", "Thank you\r\nBcc: x@y", 1,
                           "CR/LF"),
}


@pytest.mark.parametrize("case", PROBLEMS)
def test_each_template_problem_is_refused_at_validate_and_publish_with_its_position(
        world, case):
    name, file, text, line, words = PROBLEMS[case]
    (world.templates / name / file).write_text(text)
    journey = world.folder / "j.yaml"
    journey.write_text(PUBLIC_MENTION_REPLY if name == "reply" else THANKS_ON_PURCHASE)

    for command in ("validate", "publish"):
        result = world.run_cli("journeys", command, str(journey))
        assert result.code == 2, (command, result.out, result.err)
        where = f"{world.templates / name / file}:{line}:1: "
        [problem] = [row for row in result.err.splitlines() if row.startswith(where)]
        assert words in problem
    assert world.events("JourneyPublished") == []


def test_a_template_with_known_names_only_validates(world):
    (world.templates / "thanks" / "email.txt").write_text(
        "{% set who = contact.first_name or 'there' %}Hi {{ who }}, "
        "{{ contact.attributes.tier }} {{ brand.name }} {{ message.unsubscribe_url }}\n"
        "{% for i in range(3) %}{{ loop.index }}{% endfor %}")
    (world.templates / "reply" / "social.txt").write_text("Thanks from {{ brand.name }}")
    journey = world.folder / "j.yaml"
    journey.write_text(THANKS_ON_PURCHASE)
    result = world.run_cli("journeys", "validate", str(journey))
    assert result.code == 0, result.err


def test_a_template_that_fails_at_run_time_is_failed_and_run_exits_1(world):
    # Valid statically; fails with the data (an int filter over a word).
    (world.templates / "thanks" / "email.txt").write_text(
        "You have {{ 10 // contact.attributes.n }} points")
    world.publish(THANKS_ON_PURCHASE)
    world.ingest(contact("t1", D0, email="c1@example.org", attributes={"n": 0}),
                 consent("g1", D0), purchase("p1", D0))
    result = world.run_cli("run", "--until", "2026-03-02T11:00:00+00:00",
                           "--outbox", str(world.outbox))
    assert result.code == 1, (result.out, result.err)
    assert "failed" in result.out
    [message] = world.messages()
    assert message["status"] == "failed"
    assert message["reason"].startswith("TemplateRenderFailed: ")
