"""POST /webhooks/twilio/status and /inbound: signed with the auth token over the public
URL as Twilio called it; one touchpoint per SID and status; STOP stops SMS."""

from __future__ import annotations

import json

import pytest
from tests.serve_support import PHONE, SentWorld, environ, served, twilio_headers

STATUS, INBOUND = "/webhooks/twilio/status", "/webhooks/twilio/inbound"
SID = "SM" + "a" * 32


@pytest.fixture
def world(cli, sqlite_url, tmp_path):
    return SentWorld(cli, sqlite_url, tmp_path, channel="sms")


@pytest.fixture
def both(cli, store_url, tmp_path):
    return SentWorld(cli, store_url, tmp_path, channel="sms")


def status_params(state: str, sid: str = SID, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": state, "SmsStatus": state,
            "AccountSid": "AC" + "0" * 32, "From": "+15017122661", "To": PHONE,
            "ApiVersion": "2010-04-01", **extra}


def post(client, path: str, params: dict[str, str], signed_for: str | None = None):
    return client.post(path, data=params,
                       headers=twilio_headers(signed_for or path, params))


def test_a_signed_status_callback_with_our_message_id_is_recorded(both):
    path = f"{STATUS}?message={both.message['id']}"
    with served(environ(both.url)) as client:
        response = post(client, path, status_params("delivered"))

    assert response.status_code == 200 and response.json()["recorded"] == 1
    assert both.status() == "delivered"
    [touchpoint] = both.touchpoints("twilio:")
    assert (touchpoint["touchpoint_id"], touchpoint["provider_id"]) == (
        f"twilio:{SID}:delivered", SID)


def test_without_our_id_the_sid_recorded_at_send_finds_the_message(world):
    sid = f"dry-run:sms:{world.message['id']}"  # what the dry-run adapter recorded at send
    with served(environ(world.url)) as client:
        assert post(client, STATUS, status_params("read", sid=sid)).status_code == 200

    assert world.status() == "opened"


@pytest.mark.parametrize("tamper", ["forged", "missing", "other query", "other token"])
def test_a_bad_signature_gets_403_and_records_nothing(world, tamper):
    path = f"{STATUS}?message={world.message['id']}"
    params = status_params("delivered")
    headers = twilio_headers(path, params)
    if tamper == "forged":
        params = {**params, "MessageStatus": "failed"}
    elif tamper == "missing":
        headers = {}
    elif tamper == "other query":
        path = f"{STATUS}?message=msg-someone-else"
    else:
        headers = twilio_headers(path, params, token="another-token")
    with served(environ(world.url)) as client:
        response = client.post(path, data=params, headers=headers)

    assert response.status_code == 403
    assert world.touchpoints("twilio:") == []


def test_statuses_out_of_order_and_repeated_record_once_and_never_move_back(both):
    path = f"{STATUS}?message={both.message['id']}"
    with served(environ(both.url)) as client:
        for state in ["delivered", "sent", "delivered", "queued", "delivered"]:
            assert post(client, path, status_params(state)).status_code == 200

    assert [t["touchpoint_id"] for t in both.touchpoints("twilio:")] == [
        f"twilio:{SID}:delivered"]  # sent and queued are acknowledged, not recorded
    assert both.status() == "delivered"
    result = both.run_cli("messages", "--json")
    assert json.loads(result.out)[0]["status"] == "delivered"


@pytest.mark.parametrize(("code", "suppressed"), [("30005", {"sms": "hard_bounce"}),
                                                   ("21610", {"sms": "hard_bounce"}),
                                                   ("30003", {})])
def test_an_undelivered_sms_bounces_and_a_permanent_code_stops_sms(world, code, suppressed):
    path = f"{STATUS}?message={world.message['id']}"
    with served(environ(world.url)) as client:
        post(client, path, status_params("undelivered", ErrorCode=code))

    assert world.status() == "bounced"
    [touchpoint] = world.touchpoints("twilio:")
    assert touchpoint["reason"] == f"twilio {code}: undelivered"
    assert world.suppressions() == suppressed


def inbound(body: str, sid: str = "SM" + "b" * 32, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": PHONE,
            "To": "+15017122661", "Body": body, **extra}


def test_stop_by_sms_suppresses_sms_and_twilio_is_told_to_send_nothing(both):
    with served(environ(both.url)) as client:
        response = post(client, INBOUND, inbound("STOP"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == "<Response/>"
    assert both.suppressions() == {"sms": "sms_stop"}
    assert both.next_purchase_message()["status"] == "suppressed"


def test_twilio_advanced_opt_out_type_wins_over_the_body(world):
    with served(environ(world.url)) as client:
        post(client, INBOUND, inbound("ARRET", OptOutType="STOP"))
        assert world.suppressions() == {"sms": "sms_stop"}
        post(client, INBOUND, inbound("yes please", sid="SM" + "c" * 32, OptOutType="START"))

    assert world.suppressions() == {}
    [stop, start] = world.touchpoints("twilio:")
    assert (stop["keyword"], start["keyword"]) == ("opt_out", "opt_in")


def test_a_repeated_inbound_message_is_recorded_once(world):
    with served(environ(world.url)) as client:
        for _ in range(3):
            assert post(client, INBOUND, inbound("hello")).status_code == 200

    assert len(world.touchpoints("twilio:")) == 1


def test_without_an_auth_token_the_routes_answer_503_not_configured(world):
    with served(environ(world.url, TWILIO_AUTH_TOKEN="")) as client:
        for path in (STATUS, INBOUND):
            response = client.post(path, data=inbound("STOP"))
            assert response.status_code == 503
            assert "TWILIO_AUTH_TOKEN" in response.text
