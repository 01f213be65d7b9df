"""`orchestrator preview TEMPLATE --contact C`: what that contact would get, on each channel
the template has, composed as a real send composes it; nothing sent, nothing recorded."""

from __future__ import annotations

import email
import hashlib
import json
import re
import shutil
from email import policy
from pathlib import Path

import pytest
from tests.journeys_support import THANKS_ON_PURCHASE
from tests.support import consent, contact, purchase, write_jsonl

from orchestrator.domain.unsubscribe_tokens import message_of

REPOSITORY = Path(__file__).resolve().parents[2]
AT = "2026-03-02T10:00:00+00:00"
LINK_SECRET = "preview-test-link-secret-0123456789abcdef"
ENVIRON = {"ORCHESTRATOR_LINK_SECRET": LINK_SECRET,
           "ORCHESTRATOR_PUBLIC_URL": "https://messages.shop.example",
           "ORCHESTRATOR_POSTAL_ADDRESS": "The shop, 2 Test Lane, York YO1 7HH, UK"}
TOKEN = re.compile(r"https://messages\.shop\.example/unsubscribe/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})")


class Shop:
    """A small store (two customers) and a copy of the repository's templates."""

    def __init__(self, cli, url: str, folder: Path):
        self.cli, self.url, self.folder = cli, url, folder
        self.templates = folder / "templates"
        shutil.copytree(REPOSITORY / "templates", self.templates)
        self.ingest(
            contact("t-ana", AT, contact="C1", email="ana@example.org", phone="+447700900123",
                    attributes={"first_name": "Ana"},
                    address={"line1": "1 High Street", "city": "York", "postcode": "YO1 1AA",
                             "country": "GB"}),
            consent("g-ana", AT, contact="C1"),
            contact("t-bo", AT, contact="C2"))

    def run(self, *args: str, environ: dict | None = None):
        return self.cli("--store", self.url, "--templates", str(self.templates), *args,
                        environ={**ENVIRON, **(environ or {})})

    def ingest(self, *touchpoints: dict) -> None:
        path = write_jsonl(self.folder / f"t{len(list(self.folder.glob('t*.jsonl')))}.jsonl",
                           *touchpoints)
        result = self.run("ingest", str(path))
        assert result.code == 0, result.err

    def preview(self, *args: str):
        return self.run("preview", *args)

    def preview_json(self, *args: str) -> dict:
        result = self.preview(*args, "--json")
        assert result.code == 0, result.err
        return json.loads(result.out)

    def template(self, name: str, files: dict[str, str]) -> None:
        folder = self.templates / name
        folder.mkdir(exist_ok=True)
        for file, text in files.items():
            (folder / file).write_text(text)


@pytest.fixture
def shop(cli, store_url, tmp_path):
    return Shop(cli, store_url, tmp_path)


@pytest.fixture
def sqlite_shop(cli, sqlite_url, tmp_path):
    return Shop(cli, sqlite_url, tmp_path)


def test_a_preview_shows_each_channel_with_the_contacts_data_and_a_real_unsubscribe_link(shop):
    result = shop.preview("thanks", "--contact", "C1")

    assert result.code == 0, result.err
    out = result.out
    assert "nothing was sent or recorded" in out
    # Both channels the template has, with the contact's attribute in each.
    assert "--- email: email.subject.txt ---\nThank you for shopping with The shop" in out
    assert "--- email: email.txt ---\nHello Ana," in out
    assert "<p>Hello Ana,</p>" in out
    assert re.search(r"--- sms: sms\.txt \(1 segment, GSM-7, \d+ characters\) ---\n"
                     r"The shop: thanks for your order, Ana!", out)
    assert "2 Test Lane" in out  # the sender's postal address from the settings
    # The unsubscribe link has the real shape: signed with the link secret, for the
    # preview's own message id (which `serve` knows is no message of ours).
    tokens = set(TOKEN.findall(out))
    assert len(tokens) == 1
    [token] = tokens
    assert message_of(token, LINK_SECRET.encode()).startswith("preview-")


def test_the_preview_is_what_a_real_send_writes(sqlite_shop, tmp_path):
    # No address or link in the text part: the footer every email adapter adds shows.
    (sqlite_shop.templates / "thanks" / "email.txt").write_text(
        "Hello {{ contact.first_name }}, thank you.")
    path = tmp_path / "j.yaml"
    path.write_text(THANKS_ON_PURCHASE)
    assert sqlite_shop.run("journeys", "publish", str(path)).code == 0
    sqlite_shop.ingest(purchase("p-ana", AT, contact="C1"))
    outbox = tmp_path / "outbox"
    ran = sqlite_shop.run("run", "--until", "2026-03-02T11:00:00+00:00", "--outbox",
                          str(outbox))
    assert ran.code == 0, ran.out + ran.err
    [eml] = (outbox / "email").glob("*.eml")
    sent = email.message_from_bytes(eml.read_bytes(), policy=policy.default)

    shown = sqlite_shop.preview_json("thanks", "--contact", "C1", "--journey",
                                     "after-purchase")["channels"]["email"]

    def same_link(text: str) -> str:
        # The message ids differ, so the tokens do; the wire has CRLF line ends.
        text = TOKEN.sub("https://messages.shop.example/unsubscribe/TOKEN", text)
        return text.replace("\r\n", "\n").rstrip("\n")
    assert shown["subject"] == sent["Subject"]
    assert "2 Test Lane" in shown["text"] and "Unsubscribe: https://" in shown["text"]
    assert same_link(shown["text"]) == same_link(sent.get_body(("plain",)).get_content())
    assert same_link(shown["html"]) == same_link(sent.get_body(("html",)).get_content())


def test_json_gives_each_channels_parts_and_the_sms_segments(shop):
    shown = shop.preview_json("regulars_note", "--contact", "C1")

    assert shown["template"] == "regulars_note" and shown["contact"] == "C1"
    channels = shown["channels"]
    assert list(channels) == ["email", "sms", "mail"]
    assert set(channels["email"]) == {"subject", "text", "html", "warnings"}
    assert channels["email"]["warnings"] == []
    sms = channels["sms"]
    assert sms["segments"] == 1 and sms["encoding"] == "GSM-7"
    assert sms["characters"] == len(sms["text"])
    assert "Dear Ana" in channels["mail"]["html"]


def test_a_contact_without_an_address_for_a_channel_gets_a_warning_not_a_failure(shop):
    shown = shop.preview_json("thanks", "--contact", "C2")

    email_part = shown["channels"]["email"]
    assert "Hello there," in email_part["text"]  # the template's default for no name
    assert email_part["warnings"] == [
        "contact C2 has no email address: a real send could not go on email"]
    assert shown["channels"]["sms"]["warnings"] == [
        "contact C2 has no phone number: a real send could not go on sms"]


def test_channel_limits_one_channel_and_a_long_sms_is_counted_and_flagged(shop):
    shop.template("long", {"sms.txt": "{{ 'x' * 200 }} {{ contact.first_name }} ~" * 8})

    shown = shop.preview_json("long", "--contact", "C1", "--channel", "sms")

    assert list(shown["channels"]) == ["sms"]
    sms = shown["channels"]["sms"]
    assert sms["encoding"] == "GSM-7" and sms["segments"] == 11
    assert any("the SMS channel refuses more than 10" in w for w in sms["warnings"])


def test_a_public_template_renders_without_contact_data(shop):
    shown = shop.preview_json("thanks_for_mention", "--contact", "C1")

    social = shown["channels"]["social"]
    assert social["text"].startswith("Thank you for the kind words!")
    assert "Ana" not in json.dumps(shown)


def test_out_writes_one_file_a_part_and_leaves_no_stale_part(shop, tmp_path):
    folder = tmp_path / "preview"
    folder.mkdir()
    (folder / "letter.html").write_text("from an earlier preview")

    result = shop.preview("thanks", "--contact", "C1", "--out", str(folder))

    assert result.code == 0, result.err
    assert sorted(p.name for p in folder.iterdir()) == [
        "email.html", "email.subject.txt", "email.txt", "preview.json", "sms.txt"]
    assert (folder / "email.subject.txt").read_text() == "Thank you for shopping with The shop"
    assert (folder / "email.txt").read_text().startswith("Hello Ana,")
    assert "<p>Hello Ana,</p>" in (folder / "email.html").read_text()
    assert (folder / "sms.txt").read_text().startswith("The shop: thanks for your order, Ana!")
    assert json.loads((folder / "preview.json").read_text())["channels"]["sms"]["segments"] == 1
    assert "sms: (1 segment, GSM-7" in result.out


def test_journey_renders_the_pinned_text_and_the_default_the_folder_as_it_is(shop, tmp_path):
    path = tmp_path / "j.yaml"
    path.write_text(THANKS_ON_PURCHASE)
    assert shop.run("journeys", "publish", str(path)).code == 0
    (shop.templates / "thanks" / "sms.txt").write_text("EDITED after publishing")

    pinned = shop.preview_json("thanks", "--contact", "C1", "--journey", "after-purchase",
                               "--channel", "sms")
    folder = shop.preview_json("thanks", "--contact", "C1", "--channel", "sms")

    assert pinned["journey"] == "after-purchase" and pinned["version"] == 1
    assert "thanks for your order, Ana!" in pinned["channels"]["sms"]["text"]
    assert folder["channels"]["sms"]["text"] == "EDITED after publishing"
    other = shop.preview("regulars_note", "--contact", "C1", "--journey", "after-purchase")
    assert other.code == 2
    assert "does not use template 'regulars_note' (it pins thanks)" in other.err


@pytest.mark.parametrize(("args", "expected"), [
    (("nothing", "--contact", "C1"), "no template 'nothing' in"),
    (("thanks", "--contact", "C404"), "no history for contact 'C404'"),
    (("thanks", "--contact", "C1", "--channel", "mail"),
     "--channel mail: template 'thanks' has no letter.html (it has email, sms)"),
    (("thanks", "--contact", "C1", "--journey", "nope"), "no journey 'nope' is published"),
    (("../thanks", "--contact", "C1"), "no template '../thanks'"),
])
def test_bad_input_is_a_clear_error_with_exit_2(shop, args, expected):
    result = shop.preview(*args)
    assert result.code == 2
    assert expected in result.err
    assert result.out == ""


@pytest.mark.parametrize(("sms", "expected"), [
    ("Hi {{ contact.nickname }}",
     r"sms: a real send of 'broken' to C1 would fail here: "
     r".*broken/sms\.txt:1: variable 'contact\.nickname' is undefined"),
    ("line one\n{{ brand.__class__.__mro__ }}", r"broken/sms\.txt:2: the sandbox refused it"),
    ("{% for i in range(10**6) %}x{% endfor %}",
     r"broken/sms\.txt:1: OverflowError: .*\(MAX_RANGE_LENGTH\)"),
])
def test_a_render_error_fails_as_a_real_send_would_with_exit_2_and_writes_nothing(
        shop, tmp_path, sms, expected):
    shop.template("broken", {"sms.txt": sms})
    folder = tmp_path / "out"

    result = shop.preview("broken", "--contact", "C1", "--out", str(folder))

    assert result.code == 2
    assert re.search(expected, result.err), result.err
    assert not folder.exists()


def test_previews_record_nothing_and_leave_the_store_bytes_as_they_were(sqlite_shop, tmp_path):
    database = Path(sqlite_shop.url.removeprefix("sqlite:///"))
    exported = sqlite_shop.run("audit", "export").out
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    sqlite_shop.template("broken", {"sms.txt": "{{ contact.nickname }}"})

    for args in (("thanks", "--contact", "C1"), ("regulars_note", "--contact", "C2", "--json"),
                 ("thanks", "--contact", "C1", "--out", str(tmp_path / "o")),
                 ("broken", "--contact", "C1"), ("thanks", "--contact", "C404")):
        sqlite_shop.preview(*args)

    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert sqlite_shop.run("audit", "export").out == exported
    verified = sqlite_shop.run("audit", "verify")
    assert verified.code == 0, verified.out + verified.err
