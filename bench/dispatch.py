"""Dispatch throughput through each real SDK to its local Prism mock, next to the mock's
own ceiling measured in the same run (``make bench``; ``python -m bench.dispatch`` runs
this part alone).

For SendGrid, Twilio and Mastodon in turn, against the same Prism instance, straight to
its port (``.prism_url``: the recording proxy would add a connection per request):

- **ceiling**: a minimal client (a thread pool of keep-alive ``http.client`` connections,
  as many as the adapter's ``max_concurrency``) replaying the very request the adapter
  sends (captured once through the recording proxy: same body and headers), measured
  before and after the command runs of each round, after a warm-up of ``BENCH_WARM_UP``
  requests (Prism's JIT makes a cold mock several times slower); the ceiling for a
  minimal valid request is shown beside it for context;
- **run --channels live**: the whole command in a subprocess, on a copy of a prepared
  SQLite store (N contacts consenting to the channel, or N positive mentions to reply
  to), with the provider's variables pointing at the mock. The process prints nothing
  about timing, so the child wraps ``running.send_chosen`` (adapters built, then every
  message claimed, sent and recorded) and prints its seconds; the whole process's wall
  time is shown as well. Ceiling and command runs alternate, ``BENCH_DISPATCH_ROUNDS``
  times; medians are quoted;
- **run --channels live, pacing lifted**: the same command on ``BENCH_DISPATCH`` messages
  with ``ORCHESTRATOR_<PROVIDER>_PER_SECOND`` set far above what the mock can take, so
  the SDK path itself is measured (the default row keeps the providers' real pacing);
- for context, in the bench's own process: the same ``advance`` with the adapters as
  shipped, the same with their pacing lifted (``max_per_second = None``), the adapter's
  ``send`` alone from a thread pool (no store, no dispatcher), and the minimal client
  opening a connection per request (what SendGrid's python_http_client does).

Sizes: ``BENCH_DISPATCH`` messages for the email command runs and for every unpaced
measurement (default 3000); ``BENCH_DISPATCH_SMS`` and ``BENCH_DISPATCH_SOCIAL`` for the
SMS and Mastodon command runs, which the shipped pacing holds to 100/s and 5/s (defaults
500 and 25); ``BENCH_CEILING`` requests per ceiling measurement (default 1000);
``BENCH_DISPATCH_ROUNDS`` ceiling/command pairs (default 2).

The target (at least 500 messages/s and 0.5 of the ceiling) is judged on the shipped
pacing where that pacing allows 500/s (SendGrid), else on the pacing-lifted row; where
the mock itself answers fewer than 500 requests a second, only the ratio can be met.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

N = int(os.environ.get("BENCH_DISPATCH", "3000"))
# The paced command runs last messages / pacing seconds: 500 SMS at 100/s, 25 posts at 5/s.
N_SMS = int(os.environ.get("BENCH_DISPATCH_SMS", "500"))
N_SOCIAL = int(os.environ.get("BENCH_DISPATCH_SOCIAL", "25"))
CEILING_REQUESTS = int(os.environ.get("BENCH_CEILING", "1000"))
WARM_UP = int(os.environ.get("BENCH_WARM_UP", "3000"))
ROUNDS = max(1, int(os.environ.get("BENCH_DISPATCH_ROUNDS", "2")))
TARGET = 500.0  # messages/s
TARGET_RATIO = 0.5  # of the mock's ceiling

RECORDED_AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
AT = "2026-03-02T12:00:00+00:00"
UNTIL = "2026-03-03T00:00:00+00:00"
PUBLIC_URL = "https://messages.shop.example"
LINK_SECRET = "bench-link-secret-0123456789abcdef-0123"
POSTAL_ADDRESS = "1 High Street, Bench Town"
TEMPLATES = {"thanks": {"email.subject.txt": "Thank you", "email.txt": "Thanks for your order.",
                        "sms.txt": "Thanks for your order."},
             "reply": {"social.txt": "Thank you for the kind words!"}}
THANKS_ON_PURCHASE = """
journey: after-purchase
trigger: {on: purchase.recorded}
steps:
  - id: hello
    send: {intent: relationship, template: thanks}
"""
REPLY_TO_MENTIONS = """
journey: replies
trigger: {on: social.mention, if: "event.stance == 'positive'"}
steps:
  - id: reply
    send: {intent: showcase, template: reply}
"""

# The child: the CLI's own main(), with the dispatch phase timed from outside src/.
CHILD = """
import json, sys, time
import orchestrator.application.running as running
shipped = running.send_chosen
def timed(app, store, messages):
    started = time.perf_counter()
    report = shipped(app, store, messages)
    seconds = time.perf_counter() - started
    print("bench-dispatch: " + json.dumps({"messages": len(messages), "sent": report.sent,
          "failed": report.failed, "retry_later": report.retry_later,
          "in_doubt": report.in_doubt, "seconds": seconds}), file=sys.stderr, flush=True)
    return report
running.send_chosen = timed
from orchestrator.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class Provider:
    name: str  # the mock's name
    channel: str
    route: str
    concurrency: int  # the adapter's max_concurrency as bootstrap/live.py tunes it
    per_second: float
    messages: int  # for the paced command runs
    minimal: tuple[str, bytes, dict[str, str]]  # method, body, headers for the ceiling


def providers() -> list[Provider]:
    from tests.providers import channels as c

    from orchestrator.bootstrap import live
    twilio_auth = base64.b64encode(
        f"{c.TWILIO_ACCOUNT_SID}:{c.TWILIO_AUTH_TOKEN}".encode()).decode()
    return [
        Provider("sendgrid", "email", c.SENDGRID_SEND, live.HTTP_CONCURRENCY,
                 live.SENDGRID_PER_SECOND, N,
                 ("POST", json.dumps({
                     "personalizations": [{"to": [{"email": "p1@example.com"}]}],
                     "from": {"email": "hello@shop.example"}, "subject": "Thank you",
                     "content": [{"type": "text/plain", "value": "Thanks."}]}).encode(),
                  {"Authorization": f"Bearer {c.SENDGRID_API_KEY}",
                   "Content-Type": "application/json"})),
        Provider("twilio", "sms", c.TWILIO_MESSAGES, live.HTTP_CONCURRENCY,
                 live.TWILIO_PER_SECOND, N_SMS,
                 ("POST", urlencode({"To": "+447700900123", "From": c.TWILIO_FROM,
                                     "Body": "Thanks."}).encode(),
                  {"Authorization": f"Basic {twilio_auth}",
                   "Content-Type": "application/x-www-form-urlencoded"})),
        Provider("mastodon", "social", c.MASTODON_STATUSES, live.MASTODON_CONCURRENCY,
                 live.MASTODON_PER_SECOND,
                 N_SOCIAL,
                 ("POST", json.dumps({"status": "Thanks."}).encode(),
                  {"Authorization": f"Bearer {c.MASTODON_ACCESS_TOKEN}",
                   "Content-Type": "application/json"})),
    ]


def environment(provider: Provider, url: str) -> dict[str, str]:
    """The SPEC's variables for one live channel, its provider at ``url``."""
    from tests.providers import channels as c
    common = {"ORCHESTRATOR_PUBLIC_URL": PUBLIC_URL, "ORCHESTRATOR_LINK_SECRET": LINK_SECRET,
              "ORCHESTRATOR_POSTAL_ADDRESS": POSTAL_ADDRESS}
    if provider.channel == "email":
        return {**common, "SENDGRID_API_KEY": c.SENDGRID_API_KEY,
                "ORCHESTRATOR_SENDGRID_URL": url, "ORCHESTRATOR_EMAIL_FROM": c.EMAIL_FROM}
    if provider.channel == "sms":
        return {**common, "TWILIO_ACCOUNT_SID": c.TWILIO_ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": c.TWILIO_AUTH_TOKEN, "TWILIO_FROM": c.TWILIO_FROM,
                "ORCHESTRATOR_TWILIO_URL": url}
    return {**common, "MASTODON_BASE_URL": url, "MASTODON_ACCESS_TOKEN": c.MASTODON_ACCESS_TOKEN}


# The mock's ceiling -------------------------------------------------------------------


def ceiling(url: str, provider: Provider, requests: int, *, keep_alive: bool = True) -> float:
    """Requests/s the mock answers from ``provider.concurrency`` connections posting its
    minimal request (a new connection per request when not ``keep_alive``). Every answer
    must be 2xx with no request violation, or the figure would not be a ceiling."""
    from tests.providers.mocks import Exchange
    method, body, headers = provider.minimal
    if not keep_alive:
        headers = {**headers, "Connection": "close"}
    parts = urlsplit(url)
    per_worker = max(1, requests // provider.concurrency)
    problems: list[str] = []

    def worker(_: int) -> None:
        connection: http.client.HTTPConnection | None = None
        for _ in range(per_worker):
            if connection is None:
                connection = http.client.HTTPConnection(parts.hostname, parts.port,
                                                        timeout=30)
            connection.request(method, provider.route, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            violations = Exchange(method, provider.route, {}, b"",
                                  violations=answer.getheader("sl-violations"))
            if answer.status >= 300 or violations.request_violations:
                problems.append(f"{answer.status} {violations.request_violations}")
            if not keep_alive or answer.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(provider.concurrency) as pool:
        list(pool.map(worker, range(provider.concurrency)))
    elapsed = time.perf_counter() - started
    assert not problems, f"{provider.name}: the minimal request is refused: {problems[:3]}"
    return per_worker * provider.concurrency / elapsed


# Prepared stores ----------------------------------------------------------------------


def prepare(folder: Path, provider: Provider, count: int) -> Path:
    """A SQLite store with ``count`` contacts consenting to the channel and a purchase
    each (email, SMS), or ``count`` positive mentions (social), and the journey that
    answers them published; the run has not happened yet."""
    from orchestrator.campaigns.runtime.versions import publish
    from orchestrator.ingest.service import ingest_path
    from orchestrator.store import Store
    folder.mkdir(parents=True, exist_ok=True)
    templates = folder / "templates"
    for name, files in TEMPLATES.items():
        (templates / name).mkdir(parents=True, exist_ok=True)
        for file, text in files.items():
            (templates / name / file).write_text(text)
    touchpoints = folder / "touchpoints.jsonl"
    with touchpoints.open("w") as out:
        for i in range(count):
            key = f"C{i:06d}"
            if provider.channel == "social":
                lines: list[dict[str, Any]] = [
                    {"id": f"mastodon:{10_000_000 + i}", "type": "social.mention", "at": AT,
                     "network": "mastodon", "handle": f"fan{i}", "text": "Great service!",
                     "stance": "positive"}]
            else:
                address = ({"email": f"p{i}@example.com"} if provider.channel == "email"
                           else {"phone": f"+4477009{i:05d}"})
                lines = [{"id": f"c{i}", "type": "contact.upserted", "at": AT, "contact": key,
                          "kind": "customer", "timezone": "Europe/London", **address},
                         {"id": f"g{i}", "type": "consent.granted", "at": AT, "contact": key,
                          "channel": provider.channel, "purpose": "marketing",
                          "source": "web_form"},
                         {"id": f"p{i}", "type": "purchase.recorded", "at": AT,
                          "contact": key, "amount": 10, "currency": "EUR"}]
            out.writelines(json.dumps(line) + "\n" for line in lines)
    journey = folder / "journey.yaml"
    journey.write_text(REPLY_TO_MENTIONS if provider.channel == "social"
                       else THANKS_ON_PURCHASE)
    store_path = folder / "template.db"
    with Store.open(f"sqlite:///{store_path}") as store:
        ingest_path(store, str(touchpoints), recorded_at=RECORDED_AT)
        publish(store, [str(journey)], str(templates), author="bench", now=RECORDED_AT)
    return store_path


def copy_store(template: Path, target: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    return f"sqlite:///{target}"


# Our figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    messages: int
    dispatch_seconds: float
    wall_seconds: float
    cpu_seconds: float  # the child's user + sys

    @property
    def rate(self) -> float:
        return self.messages / self.dispatch_seconds

    @property
    def wall_rate(self) -> float:
        return self.messages / self.wall_seconds


# The operator's settings that lift the pacing (docs/live-channels.md): the "lifted" rows.
LIFTED = {"ORCHESTRATOR_SENDGRID_PER_SECOND": "100000",
          "ORCHESTRATOR_TWILIO_PER_SECOND": "100000",
          "ORCHESTRATOR_MASTODON_PER_SECOND": "100000"}


def cli_run(template: Path, store: Path, provider: Provider, url: str, expected: int,
            *, settings: dict[str, str] | None = None) -> Run:
    """``orchestrator --store ... run --until ... --channels live`` in a subprocess."""
    store_url = copy_store(template, store)
    argv = ["--store", store_url, "--templates", str(template.parent / "templates"), "run",
            "--until", UNTIL, "--channels", "live"]
    env = {**os.environ, **environment(provider, url), **(settings or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True,
                          text=True, env=env, timeout=900)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stderr.splitlines()
                if line.startswith("bench-dispatch: "))
    timing = json.loads(line.removeprefix("bench-dispatch: "))
    assert timing["sent"] == expected, (timing, done.stdout[-2000:], done.stderr[-2000:])
    assert f"{expected:,} sent" in done.stdout, done.stdout
    return Run(timing["sent"], timing["seconds"], wall, cpu)


@contextlib.contextmanager
def timed_send_chosen() -> Iterator[list[float]]:
    from orchestrator.application import running
    shipped = running.send_chosen
    seconds: list[float] = []

    def timed(app: Any, store: Any, messages: list[str]) -> Any:
        started = time.perf_counter()
        report = shipped(app, store, messages)
        seconds.append(time.perf_counter() - started)
        return report

    running.send_chosen = timed  # type: ignore[assignment]
    try:
        yield seconds
    finally:
        running.send_chosen = shipped  # type: ignore[assignment]


def in_process(template: Path, store: Path, provider: Provider, url: str, expected: int,
               *, lift_pacing: bool, no_op: bool = False) -> float:
    """The same ``advance`` as the command, in this process; messages/s of its dispatch
    phase. ``lift_pacing``: the adapters as bootstrap/live.py builds them, but with
    ``max_per_second = None``."""
    from orchestrator.application.running import advance
    from orchestrator.bootstrap import build, default_channels

    def channels(settings: Any, stamp: Any) -> Any:
        adapters = default_channels(settings, stamp)
        if no_op:
            adapters = {name: _no_op(adapter) for name, adapter in adapters.items()}
        if lift_pacing:
            for adapter in adapters.values():
                adapter.max_per_second = None
        return adapters

    app = build(environ=environment(provider, url), store=copy_store(template, store),
                templates=str(template.parent / "templates"), channel_set="live",
                channels=channels)
    with timed_send_chosen() as seconds:
        outcome = advance(app, datetime.fromisoformat(UNTIL))
    assert outcome.sent.sent == expected, outcome.sent
    return expected / seconds[0]


def _no_op(adapter: Any) -> Any:
    """An adapter of the same kind and tuning that answers at once: the dispatcher's
    own cost (store reads, claims, rendering, outcomes) with no SDK and no network."""
    from orchestrator.channels.message import SendResult

    class NoOp(type(adapter).__mro__[1]):  # the channel's capabilities class
        provider = f"no-op-{adapter.provider}"

        def send(self, message: Any) -> SendResult:
            self.check_message(message)
            return SendResult(provider_id=message.message_id)

    twin = NoOp()
    for name in ("account", "max_concurrency", "idempotent", "max_per_second"):
        setattr(twin, name, getattr(adapter, name))
    return twin


def own_request(mock: Any, provider: Provider) -> Provider:
    """``provider`` with the request its adapter really sends (one message through the
    recording proxy, replayed as is: same body, same headers): the mock's ceiling for
    that request is what bounds any client sending our messages, since Prism's work
    grows with the body it validates."""
    before = len(mock.requests(provider.route, "POST"))
    sdk_alone(provider, mock.url, 1)
    exchange = mock.requests(provider.route, "POST")[before]
    assert exchange.provider_status is not None and exchange.provider_status < 300, exchange
    assert not exchange.request_violations, exchange.request_violations
    keep = {"authorization", "content-type", "user-agent", "accept", "idempotency-key"}
    headers = {k: v for k, v in exchange.headers.items() if k.lower() in keep}
    return Provider(provider.name, provider.channel, exchange.route, provider.concurrency,
                    provider.per_second, provider.messages,
                    (exchange.method, exchange.body, headers))


def sdk_alone(provider: Provider, url: str, count: int) -> float:
    """Messages/s of the adapter's own ``send`` (the SDK) from ``provider.concurrency``
    threads: no store, no dispatcher, no pacing."""
    from orchestrator.bootstrap import build, default_channels
    from orchestrator.channels.message import InReplyTo, OutboundMessage
    app = build(environ=environment(provider, url), channel_set="live")
    adapter = default_channels(app.settings, lambda: RECORDED_AT)[provider.channel]

    def message(i: int) -> OutboundMessage:
        if provider.channel == "email":
            return OutboundMessage(
                message_id=f"sdk-{i}", channel="email", contact_key=f"C{i}",
                to_address=f"p{i}@example.com", subject="Thank you",
                text="Thanks for your order.", unsubscribe_url=f"{PUBLIC_URL}/unsubscribe/t{i}",
                sender_postal_address=POSTAL_ADDRESS)
        if provider.channel == "sms":
            return OutboundMessage(message_id=f"sdk-{i}", channel="sms", contact_key=f"C{i}",
                                   to_address=f"+4477009{i:05d}", text="Thanks for your order.")
        return OutboundMessage(message_id=f"sdk-{i}", channel="social",
                               text="Thank you for the kind words!",
                               in_reply_to=InReplyTo("mastodon", f"mastodon:{i}"))

    messages = [message(i) for i in range(count)]
    cursor = iter(messages)
    lock = threading.Lock()

    def worker(_: int) -> None:
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            adapter.send(item)

    started = time.perf_counter()
    with ThreadPoolExecutor(provider.concurrency) as pool:
        list(pool.map(worker, range(provider.concurrency)))
    return count / (time.perf_counter() - started)


# The table ----------------------------------------------------------------------------


def bench_dispatch(folder: Path, row: Callable[..., str],
                   log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)
                   ) -> list[str]:
    """The rows for ``make bench``: for each provider, our figure next to its mock's."""
    from tests.providers.mocks import prism_missing_reason, running_mocks
    reason = prism_missing_reason()
    if reason is not None:
        return [row("dispatch through the SDKs", "skipped", reason, "-", "-", None)]
    rows: list[str] = []
    log("dispatch: starting the Prism mocks ...")
    with running_mocks(folder / "mocks") as mocks:
        for provider in providers():
            url = mocks[provider.name].prism_url
            paced = provider.messages
            work = folder / provider.name
            log(f"dispatch: {provider.name}: preparing stores of {paced:,} and {N:,} ...")
            template = prepare(work / "paced", provider, paced)
            unpaced = template if paced == N else prepare(work / "unpaced", provider, N)
            ours = own_request(mocks[provider.name], provider)
            # Warm-up: Prism (node) answers several times slower until its JIT has seen a
            # few thousand requests of each shape.
            ceiling(url, provider, WARM_UP)
            ceiling(url, ours, WARM_UP)
            sdk_alone(provider, url, 200)
            ceilings: list[float] = []
            minimal: list[float] = []
            runs: list[Run] = []
            lifted_runs: list[Run] = []
            for n in range(ROUNDS):  # A B A B: the machine's drift hits both alike
                log(f"dispatch: {provider.name}: round {n + 1}/{ROUNDS}: mock ceiling, then "
                    f"run --channels live, {paced:,} messages, then {N:,} with pacing "
                    "lifted, then the ceiling again ...")
                ceilings.append(ceiling(url, ours, CEILING_REQUESTS))
                minimal.append(ceiling(url, provider, CEILING_REQUESTS))
                runs.append(cli_run(template, work / f"cli{n}.db", provider, url, paced))
                lifted_runs.append(cli_run(unpaced, work / f"lifted{n}.db", provider, url, N,
                                           settings=LIFTED))
                ceilings.append(ceiling(url, ours, CEILING_REQUESTS))
            top = statistics.median(ceilings)
            rate = statistics.median(run.rate for run in runs)
            wall = statistics.median(run.wall_rate for run in runs)
            cores = statistics.median(run.cpu_seconds / run.wall_seconds for run in runs)
            log(f"dispatch: {provider.name}: in process, SDK alone, no keep-alive ...")
            shipped = in_process(template, work / "in-process.db", provider, url, paced,
                                 lift_pacing=False)
            lifted = in_process(unpaced, work / "lifted.db", provider, url, N,
                                lift_pacing=True)
            alone = sdk_alone(provider, url, N)
            no_op = in_process(unpaced, work / "no-op.db", provider, url, N,
                               lift_pacing=True, no_op=True)
            closing = ceiling(url, ours, CEILING_REQUESTS, keep_alive=False)
            again = ceiling(url, ours, CEILING_REQUESTS)
            label = f"{provider.name} ({provider.channel}, c={provider.concurrency}, " \
                    f"{provider.per_second:g}/s pacing)"
            spread = "/".join(f"{c:,.0f}" for c in ceilings)
            target, met = _target(top)
            if provider.per_second >= TARGET:
                rows.append(row(f"{label}: run --channels live, dispatch msgs/s",
                                f"{rate:,.0f}", f"mock ceiling {top:,.0f}/s for our request "
                                f"({spread})", f"{rate / top:.2f}", target, met(rate)))
            else:  # the provider's own limit, kept by default: the target is for the lifted row
                rows.append(row(f"{label}: run --channels live, dispatch msgs/s",
                                f"{rate:,.0f}", f"mock ceiling {top:,.0f}/s for our request "
                                f"({spread})", f"{rate / top:.2f}",
                                f"paced at {provider.per_second:g}/s by default", None))
            fast = statistics.median(run.rate for run in lifted_runs)
            rows.append(row(f"{provider.name}: run --channels live, pacing lifted "
                            f"(ORCHESTRATOR_{provider.name.upper()}_PER_SECOND), {N:,} msgs",
                            f"{fast:,.0f}", f"mock ceiling {top:,.0f}/s",
                            f"{fast / top:.2f}", target, met(fast)))
            rows.append(row(f"{provider.name}: whole command (process start to exit), "
                            f"{paced:,} msgs", f"{wall:,.0f} msgs/s",
                            f"median {statistics.median(r.wall_seconds for r in runs):.1f} s, "
                            f"CPU {cores:.2f} cores",
                            f"{wall / top:.2f}", "-", None))
            rows.append(row(f"{provider.name}: in-process dispatch, as shipped",
                            f"{shipped:,.0f} msgs/s", f"mock ceiling {top:,.0f}/s",
                            f"{shipped / top:.2f}", "-", None))
            rows.append(row(f"{provider.name}: in-process dispatch, pacing lifted, "
                            f"{N:,} msgs", f"{lifted:,.0f} msgs/s",
                            f"mock ceiling {top:,.0f}/s", f"{lifted / top:.2f}", "-", None))
            rows.append(row(f"{provider.name}: SDK send alone (no store), c="
                            f"{provider.concurrency}", f"{alone:,.0f} msgs/s",
                            f"mock ceiling {top:,.0f}/s", f"{alone / top:.2f}", "-", None))
            rows.append(row(f"{provider.name}: in-process dispatch, no-op adapter "
                            "(no SDK, no network)", f"{no_op:,.0f} msgs/s", "-", "-", "-",
                            None))
            least = statistics.median(minimal)
            rows.append(row(f"{provider.name}: mock ceiling for a minimal valid request "
                            "(context)", f"{least:,.0f} req/s",
                            f"our request {top:,.0f}/s", f"{top / least:.2f}", "-", None))
            rows.append(row(f"{provider.name}: minimal client, new connection per request",
                            f"{closing:,.0f} req/s", f"keep-alive {again:,.0f}/s",
                            f"{closing / again:.2f}", "-", None))
    return rows


def _target(top: float) -> tuple[str, Callable[[float], bool]]:
    """The issue's target, "at least 500 messages/s and at least 0.5 of the mock's
    ceiling"; where the mock itself answers fewer than 500 requests a second (Twilio's and
    Mastodon's specs are heavier for Prism), only the ratio can be met by any client."""
    if top < TARGET:
        return (f">= {TARGET_RATIO} (the mock tops out below {TARGET:,.0f}/s)",
                lambda rate: rate / top >= TARGET_RATIO)
    return (f">= {TARGET:,.0f}/s and >= {TARGET_RATIO}",
            lambda rate: rate >= TARGET and rate / top >= TARGET_RATIO)


def main() -> int:
    from bench.table import print_table, row
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_dispatch(Path(tmp), row)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
