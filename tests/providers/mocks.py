"""The provider mocks: Stoplight Prism validating every request against the providers'
own OpenAPI specs (tests/providers/specs), each behind a recording proxy that can also
inject faults.

    client SDK ──► RecordingProxy (this process) ──► prism mock SPEC (a node process)
                   records method, path, headers, body, status and Prism's sl-violations;
                   on request: drops the connection, answers 429/5xx itself, answers
                   late, or forwards and then answers something else

Fixtures (the end of this file; tests/conftest.py lists this module in
``pytest_plugins``, so every test can ask for them):

- ``provider_mocks``: session-scoped; the three Prism processes, started once, in
  parallel, on free ports of 127.0.0.1, stopped (process group killed) at the end.
- ``sendgrid_mock``, ``twilio_mock``, ``mastodon_mock``: one :class:`ProviderMock`
  each, emptied before the test; after it, fails the test if Prism saw any request
  violation or an injected fault was never used.

Under ``CI=true`` a missing Prism (``npm ci`` not run) fails these fixtures; elsewhere
they skip with the command to run.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

HERE = Path(__file__).resolve().parent
PRISM = HERE / "prism" / "node_modules" / ".bin" / "prism"
SPECS = {
    "sendgrid": HERE / "specs" / "tsg_mail_v3.mock.json",
    "twilio": HERE / "specs" / "twilio_api_v2010.mock.json",
    "mastodon": HERE / "specs" / "mastodon_schema.mock.json",
}
STARTUP_SECONDS = 60.0

# Prism lists violations as JSON objects; when there are many the header starts with
# "Too many violations!" and is cut off, so objects are picked out one by one. Only the
# request's count: the specs' own examples break their response schemas in places.
_VIOLATION = re.compile(r'\{"location":\[(?P<where>[^\]]*)\][^{}]*\}')
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                         "content-length", "host", "te", "trailer", "upgrade"})


# Faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the next request whose path contains ``path`` (and whose
    method is ``method``, when given). Build one with the class methods."""

    kind: str
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    seconds: float = 0.0
    forward: bool = False
    path: str = ""
    method: str | None = None

    @classmethod
    def drop(cls, *, forward: bool = False, path: str = "", method: str | None = None) -> Fault:
        """Read the request, then close the connection without an answer (after
        handing it to Prism first when ``forward``)."""
        return cls("drop", forward=forward, path=path, method=method)

    @classmethod
    def reply(cls, status: int, body: Any = b"", headers: dict[str, str] | None = None, *,
              path: str = "", method: str | None = None) -> Fault:
        """Answer ``status`` without forwarding: the provider never saw the request.
        A dict or list ``body`` is sent as JSON."""
        return cls("reply", status=status, body=_bytes(body), headers=_pairs(headers),
                   path=path, method=method)

    @classmethod
    def rate_limited(cls, *, retry_after: float | None = None,
                     reset_in: float | None = None, reset_format: str = "epoch",
                     path: str = "", method: str | None = None) -> Fault:
        """429 with ``Retry-After`` and/or ``X-RateLimit-Reset`` (``reset_in`` seconds
        after the answer's ``Date``, as a Unix time or, ``reset_format="iso"``, an ISO
        time as Mastodon sends it)."""
        now = int(time.time())
        headers = {"Date": formatdate(now, usegmt=True)}
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        if reset_in is not None:
            reset = now + int(reset_in)
            headers["X-RateLimit-Reset"] = str(reset) if reset_format == "epoch" else (
                time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(reset)))
        body = {"errors": [{"message": "too many requests"}], "error": "Too many requests",
                "code": 20429, "message": "Too Many Requests", "status": 429}
        return cls.reply(429, body, headers, path=path, method=method)

    @classmethod
    def after_forwarding(cls, status: int, body: Any = b"",
                         headers: dict[str, str] | None = None, *, path: str = "",
                         method: str | None = None) -> Fault:
        """Forward to Prism (the provider takes the request), then answer ``status``
        instead of Prism's answer: e.g. a 500 although the message was accepted."""
        return cls("after", status=status, body=_bytes(body), headers=_pairs(headers),
                   forward=True, path=path, method=method)

    @classmethod
    def slow(cls, seconds: float, *, path: str = "", method: str | None = None) -> Fault:
        """Forward to Prism, then hold Prism's answer for ``seconds``: longer than the
        client's timeout, the client gives up although the provider took the request."""
        return cls("slow", seconds=seconds, forward=True, path=path, method=method)

    @classmethod
    def prefer(cls, status: int, *, path: str = "", method: str | None = None) -> Fault:
        """Forward with ``Prefer: code=STATUS``: Prism answers with the spec's own
        example for that status (only statuses the spec defines for the operation)."""
        return cls("prefer", status=status, forward=True, path=path, method=method)

    def applies_to(self, method: str, path: str) -> bool:
        return self.path in path and (self.method is None or self.method == method)


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _pairs(headers: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((headers or {}).items())


# What went through -------------------------------------------------------------------


@dataclass
class Exchange:
    """One request through the proxy. ``status`` is what the client got (None: no
    answer), ``provider_status`` what Prism answered (None: not forwarded)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fault: str | None = None
    status: int | None = None
    provider_status: int | None = None
    violations: str | None = None

    @property
    def reached_provider(self) -> bool:
        return self.provider_status is not None

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """A form body, one value a field (Twilio's Messages create sends no lists)."""
        return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}

    @property
    def request_violations(self) -> list[str]:
        if not self.violations:
            return []
        return [m.group(0) for m in _VIOLATION.finditer(self.violations)
                if m.group("where").split(",")[0].strip() == '"request"']


# The proxy ---------------------------------------------------------------------------


class RecordingProxy:
    """A recording, fault-injecting reverse proxy in front of one Prism."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.exchanges: list[Exchange] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self.exchanges.clear()
            self._faults.clear()

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(method, path):
                    self._faults.remove(fault)
                    return fault
        return None

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _handler_for(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    upstream = threading.local()

    def forward(method: str, path: str, headers: dict[str, str], body: bytes,
                prefer: int | None) -> tuple[int, list[tuple[str, str]], bytes]:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        sent["Content-Length"] = str(len(body))
        if prefer is not None:
            sent["Prefer"] = f"code={prefer}"
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            connection = getattr(upstream, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port,
                                                        timeout=30)
                upstream.connection = connection
            try:
                connection.request(method, path, body=body, headers=sent)
                answer = connection.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                upstream.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            fault = proxy.take_fault(self.command, self.path)
            exchange = Exchange(self.command, self.path, headers, body,
                                fault=fault.kind if fault else None)
            proxy.record(exchange)
            answer: tuple[int, list[tuple[str, str]], bytes] | None = None
            if fault is None or fault.forward:
                prefer = fault.status if fault and fault.kind == "prefer" else None
                answer = forward(self.command, self.path, headers, body, prefer)
                exchange.provider_status = answer[0]
                exchange.violations = next(
                    (v for k, v in answer[1] if k.lower() == "sl-violations"), None)
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return
            if fault is not None and fault.kind in ("reply", "after"):
                answer = (fault.status, list(fault.headers), fault.body)
            if fault is not None and fault.kind == "slow":
                proxy.wait(fault.seconds)
            assert answer is not None
            exchange.status = answer[0]
            with contextlib.suppress(OSError):  # the client may have given up
                self.answer(*answer)

        def answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            if any(k.lower() == "date" for k, _ in headers):
                self.send_response_only(status)
            else:
                self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            if body and not any(k.lower() == "content-type" for k, _ in headers):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:  # the client asked to close (urllib always does)
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any

        def finish(self) -> None:
            # One upstream connection per client connection (and thread): close it with
            # the client's.
            connection = getattr(upstream, "connection", None)
            if connection is not None:
                connection.close()
                upstream.connection = None
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the exchanges are the log

    return Handler


# Prism -------------------------------------------------------------------------------


@dataclass
class ProviderMock:
    """One provider: ``url`` goes through the recording proxy (use it), ``prism_url``
    straight to Prism (for measuring the mock's own ceiling)."""

    name: str
    prism_port: int
    proxy: RecordingProxy
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    @property
    def prism_url(self) -> str:
        return f"http://127.0.0.1:{self.prism_port}"

    @property
    def exchanges(self) -> list[Exchange]:
        return list(self.proxy.exchanges)

    def requests(self, route: str | None = None, method: str | None = None) -> list[Exchange]:
        """The exchanges to ``route`` (path without query) by ``method``, oldest first."""
        return [e for e in self.exchanges if (route is None or e.route == route)
                and (method is None or e.method == method)]

    def inject(self, *faults: Fault) -> None:
        self.proxy.inject(*faults)

    def reset(self) -> None:
        self.proxy.reset()

    def assert_no_violations(self) -> None:
        """Fail if Prism found any request that breaks the provider's spec."""
        broken = [(e.method, e.path, e.request_violations) for e in self.exchanges
                  if e.request_violations]
        assert not broken, f"{self.name}: Prism saw requests that break its spec: {broken}"


class ProviderMocks:
    """The three Prism processes and their proxies, started together."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.mocks: dict[str, ProviderMock] = {}

    def start(self) -> ProviderMocks:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SCARF_ANALYTICS": "false"}
        for name, spec in SPECS.items():  # all at once: startup is mostly spec parsing
            port = _free_port()
            log_path = self.log_dir / f"prism-{name}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port)],
                    stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            self.mocks[name] = ProviderMock(name, port, RecordingProxy(port), process,
                                            log_path)
        deadline = time.monotonic() + STARTUP_SECONDS
        for mock in self.mocks.values():
            _wait_until_answering(mock, deadline)
        return self

    def stop(self) -> None:
        for mock in self.mocks.values():
            mock.proxy.stop()
            if mock.process is not None and mock.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(mock.process.pid, signal.SIGTERM)
                try:
                    mock.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(mock.process.pid, signal.SIGKILL)
                    mock.process.wait(timeout=5)
        self.mocks.clear()

    def __getitem__(self, name: str) -> ProviderMock:
        return self.mocks[name]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(mock: ProviderMock, deadline: float) -> None:
    assert mock.process is not None
    while time.monotonic() < deadline:
        if mock.process.poll() is not None:
            raise RuntimeError(f"Prism for {mock.name} exited with {mock.process.returncode}:"
                               f"\n{_tail(mock.log_path)}")
        # Closed however the probe ends: Prism still starting may accept and then time
        # out or reset, and a socket left to the collector warns in some later test.
        connection = http.client.HTTPConnection("127.0.0.1", mock.prism_port, timeout=1)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"Prism for {mock.name} did not answer within {STARTUP_SECONDS} s:"
                       f"\n{_tail(mock.log_path)}")


def _tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-20:])


def prism_missing_reason() -> str | None:
    """Why the mocks cannot run here, or None."""
    if not PRISM.exists():
        return (f"Prism is not installed ({PRISM} missing): run `make test`, or "
                "`cd tests/providers/prism && SCARF_ANALYTICS=false npm ci --no-audit "
                "--no-fund`")
    if shutil.which("node") is None:
        return "node is not on PATH: Prism needs Node.js 18 or newer"
    return None


# One set per process, however many modules import the fixtures (each import would
# otherwise make a fixture of its own, and start Prism again).
_shared: ProviderMocks | None = None
_shared_lock = threading.Lock()


def shared_mocks(log_dir: Path) -> ProviderMocks:
    """The process's one :class:`ProviderMocks`, started on first use and stopped at
    exit (the session fixture stops it earlier). Also usable outside pytest."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.mocks:
            _shared = ProviderMocks(log_dir).start()
            atexit.register(_shared.stop)
        return _shared


@contextlib.contextmanager
def running_mocks(log_dir: Path) -> Iterator[ProviderMocks]:
    """The mocks for a script (a benchmark): started, yielded, stopped."""
    mocks = ProviderMocks(log_dir).start()
    try:
        yield mocks
    finally:
        mocks.stop()


# Fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def provider_mocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderMocks]:
    reason = prism_missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the provider tests must run)")
        pytest.skip(reason)
    try:
        mocks = shared_mocks(tmp_path_factory.getbasetemp() / "provider-mocks")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield mocks
    mocks.stop()


@pytest.fixture
def sendgrid_mock(provider_mocks: ProviderMocks) -> Iterator[ProviderMock]:
    yield from _checked(provider_mocks, "sendgrid")


@pytest.fixture
def twilio_mock(provider_mocks: ProviderMocks) -> Iterator[ProviderMock]:
    yield from _checked(provider_mocks, "twilio")


@pytest.fixture
def mastodon_mock(provider_mocks: ProviderMocks) -> Iterator[ProviderMock]:
    yield from _checked(provider_mocks, "mastodon")


def _checked(mocks: ProviderMocks, name: str) -> Iterator[ProviderMock]:
    """The mock, emptied; after the test, zero request violations is part of passing."""
    mock = mocks[name]
    mock.reset()
    yield mock
    try:
        mock.assert_no_violations()
        unused = mock.proxy.pending_faults()
        assert not unused, f"{name}: faults injected but never reached: {unused}"
    finally:
        mock.reset()
