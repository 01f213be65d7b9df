"""Running the app with uvicorn until SIGTERM or SIGINT, then stopping cleanly: requests
in flight finish, the stores close, and the process exits 0."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

from orchestrator.errors import UsageError
from orchestrator.service.app import create_app

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, except that a stop signal ends ``run()`` normally. (uvicorn
    raises the signal again once it has shut down, so that the process dies of it; an
    operator's SIGTERM is how this service is meant to stop, not a failure.)"""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: do not wait for open connections
        self.should_exit = True


class Serving:
    """The server, built and checked (``create_app`` refuses bad settings) before
    anything listens, so that the command can say so first."""

    def __init__(self, application: Any, host: str, port: int):
        self.host, self.port = host, port
        self.server = _Server(uvicorn.Config(create_app(application), host=host, port=port,
                                             log_level="warning"))

    def run(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn's way of saying it could not listen
            raise UsageError(f"serve: cannot listen on {self.host}:{self.port} (in use, or "
                             "not an address of this machine?)") from None
