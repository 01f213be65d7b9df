"""Running `serve`: health and metrics, the body size limit, refusing to start without a
link secret, secrets never shown, and a real process that stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.conftest import run_cli
from tests.serve_support import (
    LINK_SECRET,
    TWILIO_TOKEN,
    SendGridSigner,
    SentWorld,
    environ,
    sendgrid_event,
    served,
    twilio_headers,
)

from orchestrator.domain.unsubscribe_tokens import token_for

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def world(cli, sqlite_url, tmp_path):
    return SentWorld(cli, sqlite_url, tmp_path)


def test_healthz_answers_a_tiny_json_when_the_store_is_reachable(sqlite_url):
    with served(environ(sqlite_url)) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "reachable"}


def test_metrics_count_requests_by_route_template_and_outcome(world):
    message = world.message["id"]
    with served(environ(world.url)) as client:
        client.get("/healthz")
        client.get(f"/unsubscribe/{message}")  # not a token: 404
        client.get("/nowhere")
        text = client.get("/metrics").text

    assert 'orchestrator_http_requests_total{outcome="200",route="/healthz"} 1.0' in text
    assert ('orchestrator_http_requests_total{outcome="404",route="/unsubscribe/{token}"} 1.0'
            in text)
    assert 'orchestrator_http_requests_total{outcome="404",route="unmatched"} 1.0' in text
    assert message not in text


@pytest.mark.parametrize("route", ["/webhooks/sendgrid", "/webhooks/twilio/inbound",
                                   "/unsubscribe/"])
def test_a_body_over_one_mebibyte_gets_413_and_records_nothing(cli, store_url, tmp_path,
                                                              route):
    world = SentWorld(cli, store_url, tmp_path)
    if route == "/unsubscribe/":
        route += token_for(world.message["id"], LINK_SECRET.encode())
    signer = SendGridSigner()
    raw = json.dumps([sendgrid_event(world.message["id"], event_id="big",
                                     padding="x" * 10_000_000)])
    with served(environ(world.url, signer)) as client:
        declared = client.post(route, content=raw, headers=signer.headers(raw))
        streamed = client.post(route, content=iter([raw[:600_000].encode()] * 20),
                               headers=signer.headers(raw))

    assert declared.status_code == streamed.status_code == 413
    assert world.touchpoints("sendgrid:") == world.touchpoints("unsubscribe:") == []


def test_serve_refuses_to_start_without_a_link_secret(sqlite_url):
    env = {**environ(sqlite_url), "ORCHESTRATOR_LINK_SECRET": ""}
    result = run_cli("serve", "--port", "1", environ=env)

    assert result.code == 2
    assert "ORCHESTRATOR_LINK_SECRET" in result.err


def test_secrets_never_appear_in_responses_logs_or_errors(world, caplog):
    caplog.set_level(logging.DEBUG)
    signer = SendGridSigner()
    seen: list[str] = []
    message = world.message["id"]
    with served(environ(world.url, signer)) as client:
        for response in [
            client.post("/webhooks/sendgrid", content="[]", headers={"X-Twilio-Email-Event"
                        "-Webhook-Signature": "AAAA", "X-Twilio-Email-Event-Webhook-"
                        "Timestamp": "1"}),
            client.post("/webhooks/twilio/status", data={"MessageSid": "SM1"},
                        headers={"X-Twilio-Signature": "forged"}),
            client.post("/webhooks/twilio/inbound", data={"From": "+447700900123"},
                        headers=twilio_headers("/webhooks/twilio/inbound",
                                               {"From": "+447700900123"})),
            client.get("/unsubscribe/" + message), client.post("/unsubscribe/x.y"),
            client.get("/healthz"), client.get("/metrics"),
        ]:
            seen.append(response.text + json.dumps(dict(response.headers)))
    everything = "\n".join(seen) + caplog.text
    for secret in (LINK_SECRET, TWILIO_TOKEN):
        assert secret not in everything
    assert "+447700900123" not in caplog.text  # nothing personal in logs either
    assert "twilio webhook refused: invalid signature" in caplog.text

    failed = run_cli("--store", world.url, "serve", "--port", "1", environ={
        **environ(world.url), "SENDGRID_WEBHOOK_PUBLIC_KEY": "not-a-key"})
    assert failed.code == 2 and "SENDGRID_WEBHOOK_PUBLIC_KEY" in failed.err
    assert TWILIO_TOKEN not in failed.err + failed.out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_serve_process_answers_healthz_and_exits_0_on_sigterm(sqlite_url, tmp_path):
    port = _free_port()
    env = {**os.environ, **environ(sqlite_url), "PYTHONPATH": str(SRC)}
    process = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "--port",
                                str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline, health = time.monotonic() + 20, None
        while health is None and time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.json()["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, err
    assert f"serving on http://127.0.0.1:{port}" in out and "serve: stopped" in out
    assert LINK_SECRET not in out + err and TWILIO_TOKEN not in out + err
