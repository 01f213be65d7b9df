"""`orchestrator forget`: personal data unreadable everywhere, history and proof intact."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import TEST_NOW
from tests.support import consent, contact, export_lines, purchase, write_jsonl

AT = "2026-02-01T10:00:00+00:00"
EMAIL, PHONE = "erin.erased@example.com", "+447700900777"
OTHER_EMAIL = "kept.person@example.com"


@pytest.fixture
def recorded(cli, store_url, tmp_path):
    lines = [
        contact("e1", AT, contact="ERIN", email=EMAIL, phone=PHONE, timezone="Europe/London",
                attributes={"first_name": "Erin"}),
        purchase("e2", AT, contact="ERIN"),
        consent("e3", AT, contact="ERIN", channel="sms"),
        {"id": "e4", "type": "identity.linked", "at": AT, "contact": "ERIN",
         "network": "mastodon", "handle": "@erin_e", "verified_by": "oauth"},
        {"id": "e5", "type": "social.mention", "at": AT, "network": "mastodon",
         "handle": "@erin_e", "text": "Erin here, loving it", "stance": "positive"},
        {"id": "e6", "type": "sms.inbound", "at": AT, "phone": PHONE, "body": "STOP"},
        contact("k1", AT, contact="KEPT", email=OTHER_EMAIL),
    ]
    assert cli("--store", store_url, "ingest", write_jsonl(tmp_path / "a.jsonl", *lines)).code == 0
    return store_url


def test_after_forget_every_view_shows_erased_and_the_chain_holds(cli, recorded):
    result = cli("--store", recorded, "forget", "ERIN", "--by", "dpo@example.com",
                 "--reference", "DSAR-42", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["keys_destroyed"] == 3  # contact, phone, handle

    after_erasure = (TEST_NOW + timedelta(days=1)).isoformat()
    view = json.loads(cli("--store", recorded, "audit", "contact", "ERIN", "--as-of",
                          after_erasure, "--json").out)
    exported = export_lines(cli, recorded)
    text = json.dumps(exported)

    assert view["details"]["email"] == "[erased]" and view["details"]["phone"] == "[erased]"
    assert view["erased"] is True
    assert {s["reason"] for s in view["suppressions"]} == {"erased"}
    assert view["stage"] == "light_buyer"  # the purchase still counts: facts survive
    for secret in (EMAIL, PHONE, "@erin_e", "Erin"):
        assert secret not in text
    assert OTHER_EMAIL in text  # other contacts untouched
    erasure = exported[-1]
    assert erasure["type"] == "ContactErased"
    assert (erasure["requested_by"], erasure["request_reference"]) == ("dpo@example.com",
                                                                        "DSAR-42")
    assert cli("--store", recorded, "audit", "verify").code == 0


def test_counts_and_facts_survive_erasure(cli, recorded):
    cli("--store", recorded, "forget", "ERIN")

    view = json.loads(cli("--store", recorded, "audit", "contact", "ERIN", "--as-of",
                          "2026-03-01T00:00:00+00:00", "--json").out)

    assert view["purchases_in_window"] == 1 and view["stage"] == "light_buyer"
    assert [(c["channel"], c["status"]) for c in view["consents"]] == [("sms", "granted")]


def test_forgetting_an_unknown_contact_is_bad_input(cli, recorded):
    result = cli("--store", recorded, "forget", "NOBODY")

    assert result.code == 2
    assert "no history for contact 'NOBODY'" in result.err


def test_no_plain_copy_and_no_key_is_left_in_the_sqlite_files(cli, sqlite_url):
    from orchestrator.domain import subjects
    from orchestrator.store import Store
    tmp = Path(sqlite_url.removeprefix("sqlite:///")).parent
    lines = [contact("e1", AT, contact="ERIN", email=EMAIL, phone=PHONE),
             {"id": "e6", "type": "sms.inbound", "at": AT, "phone": PHONE, "body": "hi there"}]
    cli("--store", sqlite_url, "ingest", write_jsonl(tmp / "a.jsonl", *lines))
    with Store.open(sqlite_url) as store, store.read() as tables:
        keys = tables.load_keys([subjects.contact_stream("ERIN"), subjects.phone_stream(PHONE)])
    assert len(keys) == 2

    assert cli("--store", sqlite_url, "forget", "ERIN").code == 0

    files = [p for p in tmp.iterdir() if p.name.startswith("store.db")]
    assert files and any(p.name == "store.db" for p in files)
    content = b"".join(p.read_bytes() for p in files)
    for secret in (EMAIL.encode(), PHONE.encode(), b"hi there", *keys.values()):
        assert secret not in content


def test_forget_with_an_outbox_removes_the_contacts_dry_run_files(cli, store_url, tmp_path):
    from tests.journeys_support import THANKS_ON_PURCHASE, JourneyWorld
    world = JourneyWorld(cli, store_url, tmp_path)
    world.publish(THANKS_ON_PURCHASE)
    people = {"ERIN": (EMAIL, PHONE, "email"), "KEPT": (OTHER_EMAIL, "+447700900555", "sms")}
    for key, (email, phone, channel) in people.items():
        world.ingest(contact(f"c-{key}", AT, contact=key, email=email, phone=phone,
                             timezone="Europe/London"),
                     consent(f"g-{key}", AT, contact=key, channel=channel),
                     purchase(f"p-{key}", AT, contact=key))
    world.run("2026-02-03T00:00:00+00:00")
    ids = {m["contact"]: m["id"] for m in world.messages()}
    assert (world.outbox / "email" / f"{ids['ERIN']}.eml").exists()

    result = world.run_cli("forget", "ERIN", "--outbox", str(world.outbox), "--json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["outbox_removed"] == 1
    assert not (world.outbox / "email" / f"{ids['ERIN']}.eml").exists()
    everything = "".join(p.read_text() for p in world.outbox.rglob("*") if p.is_file())
    assert EMAIL not in everything and "Erin" not in everything
    assert ids["KEPT"] in (world.outbox / "sms.jsonl").read_text()  # others untouched


def test_facts_about_an_erased_subject_after_forget_keep_nothing_personal(cli, recorded,
                                                                           tmp_path):
    """The person texts again, and the CRM sends the contact again, after the erasure:
    the store stays readable by every command, and nothing personal comes back."""
    assert cli("--store", recorded, "forget", "ERIN").code == 0
    later = "2026-03-01T10:00:00+00:00"
    again = write_jsonl(tmp_path / "again.jsonl",
                        {"id": "e7", "type": "sms.inbound", "at": later, "phone": PHONE,
                         "body": "START please Erin here"},
                        contact("e8", later, contact="ERIN", email="erin.new@example.com"))

    assert cli("--store", recorded, "ingest", str(again)).code == 0
    for command in (("run", "--until", "2026-03-02T00:00:00+00:00"), ("audit", "summary"),
                    ("projections", "rebuild"), ("audit", "verify"), ("contacts", "--json"),
                    ("audit", "contact", "ERIN", "--json")):
        result = cli("--store", recorded, *command)
        assert result.code == 0, (command, result.err)
    text = json.dumps(export_lines(cli, recorded))
    for secret in ("erin.new@example.com", "Erin here", PHONE):
        assert secret not in text
