"""GET and POST /unsubscribe/TOKEN (RFC 8058): GET changes nothing; POST unsubscribes at
once and the next run does not email that contact; a token is good for its message only."""

from __future__ import annotations

import pytest
from tests.serve_support import LINK_SECRET, SentWorld, environ, served

from orchestrator.domain.unsubscribe_tokens import token_for

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def world(cli, sqlite_url, tmp_path):
    return SentWorld(cli, sqlite_url, tmp_path)


def link(message_id: str, secret: str = LINK_SECRET) -> str:
    return f"/unsubscribe/{token_for(message_id, secret.encode())}"


def test_get_shows_a_page_with_a_button_and_changes_nothing(world):
    with served(environ(world.url)) as client:
        page = client.get(link(world.message["id"]))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Hopper Coffee" in page.text and '<form method="post">' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert world.touchpoints("unsubscribe:") == []
    assert world.suppressions() == {}


def test_post_unsubscribes_at_once_and_the_next_run_sends_no_email(cli, store_url, tmp_path):
    world = SentWorld(cli, store_url, tmp_path)
    with served(environ(world.url)) as client:
        done = client.post(link(world.message["id"]), data=ONE_CLICK)
        again = client.post(link(world.message["id"]))  # the page's button, later

    assert done.status_code == again.status_code == 200
    assert "Hopper Coffee" in done.text and "unsubscribed" in done.text
    [touchpoint] = world.touchpoints("unsubscribe:")
    assert touchpoint["touchpoint_id"] == f"unsubscribe:{world.message['id']}"
    assert world.suppressions() == {"email": "unsubscribed"}
    later = world.next_purchase_message()
    assert (later["status"], later["channel"]) == ("suppressed", None)
    assert later["reason"].startswith("suppression.wins")


@pytest.mark.parametrize("make", [
    lambda m: f"/unsubscribe/{m}",                                      # a bare message id
    lambda m: link("msg-" + "0" * 24),                                  # not in this store
    lambda m: link(m, secret="another-secret-of-at-least-32-chars!!"),  # not our secret
    lambda m: link(m)[:-1] + ("A" if link(m)[-1] != "A" else "B"),      # tampered
    lambda m: link(m).replace(".", "x.", 1),                            # another message
])
def test_a_token_not_made_by_us_for_a_message_of_ours_gets_404(world, make):
    path = make(world.message["id"])
    with served(environ(world.url)) as client:
        shown, posted = client.get(path), client.post(path, data=ONE_CLICK)

    assert shown.status_code == posted.status_code == 404
    assert world.touchpoints("unsubscribe:") == []
    assert world.suppressions() == {}
