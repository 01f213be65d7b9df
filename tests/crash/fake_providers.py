"""A local SendGrid + Twilio for the crash tests: it speaks just enough of both APIs for
the official SDKs (mail send; messages create and list), keeps a ledger of every message
it accepted, and can SIGKILL the dispatcher at a chosen hand-over:

- ``before``: the Nth request arrives, the dispatcher dies before the provider accepts;
- ``after``: the provider accepts the Nth message, the dispatcher dies before the answer;
- ``later``: the provider answers the Nth request, the dispatcher dies a moment later
  (after it recorded some outcomes, or not).

``signum`` picks the signal (SIGKILL unless told: SIGTERM asks a worker to stop), and
``latency`` makes every answer wait that many seconds (a provider's round trip).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class KillPlan:
    mode: str  # before | after | later | none
    at: int  # the hand-over (1-based) that triggers it
    delay: float = 0.0
    victim: int | None = None  # the pid to kill
    action: Callable[[], None] | None = None  # instead of killing: do this (once)
    signum: int = signal.SIGKILL


@dataclass
class Ledger:
    emails: Counter[str] = field(default_factory=Counter)  # our message id -> accepted
    sms: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    epoch: int = 0  # which seeded run: a lookup sees only that run's messages (its "since")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sms_count(self) -> Counter[str]:
        return Counter(m["Body"] for m in self.sms)


class FakeProviders:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.on_request = None  # called as each POST is answered (the bench's stopwatch)
        self.ledger = Ledger()
        self.plan = KillPlan("none", 0)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def new_run(self) -> None:
        with self.ledger.lock:
            self.ledger.epoch += 1

    def arm(self, plan: KillPlan) -> None:
        """Kill as ``plan`` says, counting hand-overs from now."""
        with self.ledger.lock:
            self.ledger.requests = 0
        self.plan = plan

    def _kill(self) -> None:
        if self.plan.action is not None:
            action, self.plan.action = self.plan.action, None
            action()
            return
        if self.plan.victim:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.plan.victim, self.plan.signum)
            self.plan.victim = None

    def _handler(self):
        providers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the client died mid-request: nothing to accept
                    self.close_connection = True
                    return
                plan = providers.plan
                if providers.latency:
                    time.sleep(providers.latency)
                if providers.on_request is not None:
                    providers.on_request()
                with providers.ledger.lock:
                    providers.ledger.requests += 1
                    number = providers.ledger.requests
                if plan.mode == "before" and number == plan.at:
                    providers._kill()
                    self.close_connection = True
                    return
                path = urlsplit(self.path).path
                if path == "/v3/mail/send":
                    mail = json.loads(body)
                    message = (mail.get("custom_args") or {}).get("message") or next(
                        (p.get("custom_args", {}).get("message")
                         for p in mail.get("personalizations", [])), None)
                    with providers.ledger.lock:
                        providers.ledger.emails[message] += 1
                    status, payload, headers = 202, b"", {"X-Message-Id": f"sg-{number}"}
                else:
                    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                    form["epoch"] = providers.ledger.epoch
                    with providers.ledger.lock:
                        providers.ledger.sms.append(form)
                    record = {"sid": f"SM{number:032x}", "status": "queued",
                              "to": form.get("To"), "body": form.get("Body"),
                              "date_created": "Wed, 02 Dec 2026 12:00:00 +0000"}
                    status, payload = 201, json.dumps(record).encode()
                    headers = {"Content-Type": "application/json"}
                if plan.mode == "after" and number == plan.at:
                    providers._kill()
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if plan.mode == "later" and number == plan.at:
                    threading.Timer(plan.delay, providers._kill).start()

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                to = (query.get("To") or [None])[-1]
                with providers.ledger.lock:
                    found = [{"sid": f"SM{i:032x}", "status": "sent", "to": m.get("To"),
                              "direction": "outbound-api",
                              "body": m.get("Body")}
                             for i, m in enumerate(providers.ledger.sms)
                             if m.get("To") == to and m["epoch"] == providers.ledger.epoch]
                payload = json.dumps({"messages": found, "next_page_uri": None, "page": 0,
                                      "page_size": 50, "uri": self.path,
                                      "first_page_uri": self.path,
                                      "previous_page_uri": None, "start": 0,
                                      "end": len(found)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
