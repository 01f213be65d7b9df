"""A template that would run forever or eat the memory neither hangs `run` nor blocks the
messages after it: its message is `failed` once, with the reason, and the next ones are
sent (issue 14). What would go over a limit every time cannot be published."""

from __future__ import annotations

import json

import pytest
from tests.journeys_support import JourneyWorld
from tests.support import consent, contact, purchase

EARLY, LATE = "2026-03-02T10:00:00+00:00", "2026-03-02T11:00:00+00:00"
UNTIL, LATER = "2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00"

ON_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: TEMPLATE}
"""

# Each passes `journeys publish` (how big it gets depends on the contact's data) and goes
# over one limit for a contact whose attribute n is large.
DATA_DRIVEN = {
    "loops": ("{% for i in range(contact.attributes.n) %}"
              "{% for j in range(contact.attributes.n) %}{% endfor %}{% endfor %}",
              1000, "MAX_LOOP_ITERATIONS"),
    "string": ("{{ 'x' * contact.attributes.n }}", 2_000_000, "MAX_STRING_LENGTH"),
    "integer": ("{{ 10 ** contact.attributes.n }}", 2000, "MAX_INTEGER_BITS"),
    # About 30 s of work without the time limit; no other limit is reached first.
    "time": ("{% set s = 'x' * 1000000 %}{% for i in range(contact.attributes.n) %}"
             "{% for j in range(9) %}{{ s.count('y') }}{% endfor %}{% endfor %}",
             10_000, "RENDER_TIME_LIMIT"),
}


@pytest.fixture
def world(cli, store_url, tmp_path):
    return JourneyWorld(cli, store_url, tmp_path)


def two_customers(world, heavy_n: int, *consents: dict) -> None:
    """C1 buys first and has the large n; C2 buys an hour later with a small one."""
    world.ingest(
        contact("c1", EARLY, "C1", email="c1@example.com", attributes={"n": heavy_n}),
        contact("c2", EARLY, "C2", email="c2@example.com", attributes={"n": 3}),
        consent("g1", EARLY, "C1"), consent("g2", EARLY, "C2"), *consents,
        purchase("p1", EARLY, "C1"), purchase("p2", LATE, "C2"))


def use_template(world, name: str, body: str) -> None:
    folder = world.templates / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "email.subject.txt").write_text("Your order")
    (folder / "email.txt").write_text(f"Thank you.\n{body}\n")


def outcomes(world) -> dict[str, dict]:
    return {message["contact"]: message for message in world.messages()}


@pytest.mark.parametrize("kind", DATA_DRIVEN)
def test_a_render_over_a_limit_fails_once_and_the_next_message_is_sent(world, kind):
    body, heavy_n, limit = DATA_DRIVEN[kind]
    use_template(world, "heavy", body)
    world.publish(ON_PURCHASE.replace("TEMPLATE", "heavy"))
    two_customers(world, heavy_n)

    world.run(UNTIL)
    world.run(LATER)  # a later run neither retries it nor sends the other twice

    heavy, light = outcomes(world)["C1"], outcomes(world)["C2"]
    assert heavy["status"] == "failed"
    assert heavy["reason"].startswith(
        f"TemplateLimitExceeded: {world.templates / 'heavy' / 'email.txt'}:2: ")
    assert f"({limit})" in heavy["reason"]
    assert light["status"] == "sent"
    assert (world.outbox / "email" / f"{light['id']}.eml").exists()
    assert not (world.outbox / "email" / f"{heavy['id']}.eml").exists()
    assert [e["message"] for e in world.events("MessageFailed")] == [heavy["id"]]
    assert [e["message"] for e in world.events("MessageSent")] == [light["id"]]


def test_a_template_edited_after_publishing_to_go_over_a_limit_is_not_what_renders(world):
    # A published version pins its templates' text (SPEC "Journeys: YAML"): an edit made
    # after publishing, even one that would go over a render limit, is not rendered.
    use_template(world, "heavy", "Kind regards")
    world.publish(ON_PURCHASE.replace("TEMPLATE", "heavy"))
    use_template(world, "heavy", "{{ 'a' * 2000000 }}")
    two_customers(world, 1)

    world.run(UNTIL)

    statuses = sorted((m["contact"], m["status"]) for m in world.messages())
    assert statuses == [("C1", "sent"), ("C2", "sent")]
    emails = [path.read_text() for path in (world.outbox / "email").glob("*.eml")]
    assert len(emails) == 2 and all("Kind regards" in email for email in emails)


ISSUE_TEMPLATES = {
    "nested": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
               "{% endfor %}", "MAX_RANGE_LENGTH"),
    "string": ("{{ 'a'*1000000000 }}", "MAX_STRING_LENGTH"),
    "power": ("{{ 10**100000000 }}", "MAX_INTEGER_BITS"),
}


@pytest.mark.parametrize("kind", ISSUE_TEMPLATES)
def test_publish_refuses_a_template_over_a_limit_whatever_the_data(world, kind):
    body, limit = ISSUE_TEMPLATES[kind]
    use_template(world, "heavy", body)
    path = world.folder / "journey.yaml"
    path.write_text(ON_PURCHASE.replace("TEMPLATE", "heavy"))

    result = world.run_cli("journeys", "publish", str(path))

    assert result.code == 2
    assert f"{world.templates / 'heavy' / 'email.txt'}:2:1: " in result.err
    assert f"({limit})" in result.err
    listed = world.run_cli("journeys", "list", "--json")
    assert json.loads(listed.out) == []
