"""Templates pinned with the journey version (SPEC "Journeys: YAML"): what runs is what
was published, until the journey is published again."""

from __future__ import annotations

import json

import pytest
from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
from tests.support import consent, contact, purchase

D0 = "2026-03-02T10:00:00+00:00"


@pytest.fixture
def world(cli, store_url, tmp_path):
    return JourneyWorld(cli, store_url, tmp_path)


def _emails(world) -> list[str]:
    return sorted(path.read_text() for path in (world.outbox / "email").glob("*.eml"))


def _buyer(key: str, at: str) -> list[dict]:
    return [contact(f"t-{key}", at, contact=key, email=f"{key}@example.org"),
            consent(f"g-{key}", at, contact=key), purchase(f"p-{key}", at, contact=key)]


def test_a_template_edited_after_publishing_changes_nothing_until_published_again(world):
    world.publish(THANKS_ON_PURCHASE, "j.yaml")
    (world.templates / "thanks" / "email.txt").write_text("EDITED body.")
    (world.templates / "thanks" / "email.subject.txt").write_text("EDITED subject")
    world.ingest(*_buyer("c1", D0))
    world.run("2026-03-02T11:00:00+00:00")
    [first] = _emails(world)
    assert "Thanks for your order." in first and "EDITED" not in first

    path = world.folder / "j.yaml"
    again = world.run_cli("journeys", "publish", str(path))
    assert again.code == 0, again.err
    world.ingest(*_buyer("c2", "2026-03-02T12:00:00+00:00"))
    world.run("2026-03-02T13:00:00+00:00")
    versions = sorted({m["version"] for m in world.messages()})
    assert versions == [1, 2]
    second = [text for text in _emails(world) if text != first]
    assert len(second) == 1 and "EDITED body." in second[0]


def test_publishing_unchanged_files_makes_no_new_version_and_a_template_edit_does(world):
    world.publish(THANKS_ON_PURCHASE, "j.yaml")
    path = world.folder / "j.yaml"
    same = world.run_cli("journeys", "publish", str(path))
    assert same.code == 0
    published = world.events("JourneyPublished")
    assert [e["version"] for e in published] == [1]
    assert published[0]["templates"]["thanks/email.txt"] == "Thanks for your order."

    (world.templates / "thanks" / "sms.txt").write_text("Thanks again.")
    world.run_cli("journeys", "publish", str(path))
    published = world.events("JourneyPublished")
    assert [e["version"] for e in published] == [1, 2]
    assert published[0]["digest"] != published[1]["digest"]
    assert published[1]["templates"]["thanks/sms.txt"] == "Thanks again."


def test_an_included_file_is_pinned_too(world):
    (world.templates / "parts").mkdir()
    (world.templates / "parts" / "footer.txt").write_text("Kind regards")
    (world.templates / "thanks" / "email.txt").write_text(
        "Thanks.\n{% include 'parts/footer.txt' %}")
    world.publish(THANKS_ON_PURCHASE, "j.yaml")
    (world.templates / "parts" / "footer.txt").write_text("EDITED footer")
    world.ingest(*_buyer("c1", D0))
    world.run("2026-03-02T11:00:00+00:00")
    [email] = _emails(world)
    assert "Kind regards" in email and "EDITED" not in email
    [published] = world.events("JourneyPublished")
    assert published["templates"]["parts/footer.txt"] == "Kind regards"


def test_audit_why_shows_the_template_digest_and_what_was_sent_until_forget(world):
    (world.templates / "thanks" / "email.txt").write_text("Hello {{ contact.first_name }}!")
    world.publish(THANKS_ON_PURCHASE, "j.yaml")
    world.ingest(contact("t1", D0, contact="C1", email="ann@example.org",
                         attributes={"first_name": "Ann"}),
                 consent("g1", D0, contact="C1"), purchase("p1", D0, contact="C1"))
    world.run("2026-03-02T11:00:00+00:00")
    [message] = world.messages()
    assert message["status"] == "sent"

    why = world.run_cli("audit", "why", message["id"], "--json")
    assert why.code == 0, why.err
    rendered = json.loads(why.out)["rendered"]
    assert rendered["template"] == "thanks"
    assert len(rendered["template_digest"]) == 64
    assert (rendered["subject"], rendered["text"]) == ("Thank you", "Hello Ann!")
    [sent] = (world.outbox / "email").glob("*.eml")
    assert "Hello Ann!" in sent.read_text()

    assert world.run_cli("forget", "C1").code == 0
    assert "Hello Ann!" not in world.run_cli("audit", "export").out
    after = json.loads(world.run_cli("audit", "why", message["id"], "--json").out)["rendered"]
    assert after["template_digest"] == rendered["template_digest"]
    assert (after["subject"], after["text"], after["html"]) == ("[erased]",) * 3
    assert world.run_cli("audit", "verify").code == 0


def test_the_channels_a_version_can_use_are_those_of_its_pinned_files(world):
    """A channel file added to the folder after publishing is not in force: the policy
    does not pick a channel the pinned templates cannot render."""
    (world.templates / "thanks" / "sms.txt").unlink(missing_ok=True)
    world.publish(THANKS_ON_PURCHASE, "j.yaml")
    (world.templates / "thanks" / "sms.txt").write_text("Thanks, by SMS.")
    world.ingest(contact("t-c1", D0, contact="c1", phone="+447700900123"),
                 consent("g-c1", D0, contact="c1", channel="sms"),
                 purchase("p-c1", D0, contact="c1"))
    world.run("2026-03-02T11:00:00+00:00")
    [message] = world.messages("c1")
    assert message["status"] == "suppressed", message
    assert message["channel"] is None
    assert "sms: this message has no sms template" in message["reason"]
    assert not (world.outbox / "sms").exists() or not list((world.outbox / "sms").iterdir())
