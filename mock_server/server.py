"""The mock on real sockets, as one object: ``with MockServer() as mock: mock.urls.pixverse``.

It wires a :class:`~mock_server.simulator.Simulator` to the HTTP adapter (all REST APIs, media,
``/_mock/``) and the Runware WebSocket adapter, each on its own port (0 picks free ones), and
reports the base URL of every API in the form the clients take them (``LIPFLOW_*_URL``).
:func:`serve` runs it in the foreground until SIGINT or SIGTERM, for ``lipflow mock serve``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from types import FrameType, TracebackType
from typing import Any, TextIO

from lipflow.errors import UsageError
from mock_server.faults import FaultRule
from mock_server.http_server import MockHTTPServer
from mock_server.simulator import Simulator
from mock_server.ws_server import RunwareWebSocketServer

__all__ = ["MockServer", "MockUrls", "serve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MockUrls:
    """Base URLs: what ``LIPFLOW_RUNWARE_URL`` and friends (or an SDK's ``url=``) should be."""

    runware: str
    runware_ws: str
    pixverse: str
    wavespeed: str
    admin: str
    media: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class MockServer:
    """All provider APIs on local sockets. Start with ``start()`` or ``with``; stop with ``stop()``.

    Pass a ready :class:`Simulator`, or its options (``processing_seconds``, ``seed``, ``api_key``,
    ``clock``, ...) as keywords.
    """

    def __init__(
        self,
        simulator: Simulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        **options: Any,
    ) -> None:
        if simulator is not None and options:
            raise TypeError("pass a Simulator or its options, not both")
        self.simulator = simulator or Simulator(**options)
        self.host = host
        self._http = MockHTTPServer(self.simulator, host=host, port=port)
        self._ws = RunwareWebSocketServer(self.simulator, host=host, port=ws_port)
        self._urls: MockUrls | None = None

    def start(self) -> MockServer:
        self._http.start()
        try:
            self._ws.start()
        except BaseException:
            self._http.stop()
            raise
        host = _url_host(self.host)
        http = f"http://{host}:{self._http.port}"
        self.simulator.base_url = http
        self._urls = MockUrls(
            runware=f"{http}/v1",
            runware_ws=f"ws://{host}:{self._ws.port}/v1",
            pixverse=f"{http}/openapi/v2",
            wavespeed=f"{http}/api/v3",
            admin=f"{http}/_mock",
            media=f"{http}/media",
        )
        return self

    def stop(self) -> None:
        if self._http.is_running():
            self._http.stop()
        self._ws.stop()
        self._urls = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._urls is not None

    @property
    def urls(self) -> MockUrls:
        if self._urls is None:
            raise RuntimeError("the mock server is not running: call start() first")
        return self._urls

    @property
    def http_port(self) -> int:
        return int(self._http.port)

    @property
    def ws_port(self) -> int:
        return self._ws.port

    # Shortcuts to the simulator, the control surface tests use most.

    def add_fault(self, action: str, **match: Any) -> FaultRule:
        return self.simulator.add_fault(action, **match)

    def reset(self) -> None:
        self.simulator.reset()

    def check(self) -> None:
        """Raise the first error a handler hit since the last reset (deferred, as pytest-httpserver)."""
        if self.simulator.internal_errors:
            error = self.simulator.internal_errors[0]
            raise AssertionError(
                f"the mock server failed while handling a request: {error!r}"
            ) from error


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ws_port: int = 0,
    print_urls: str | None = None,
    out: TextIO | None = None,
    **options: Any,
) -> None:
    """Run the mock until SIGINT or SIGTERM; with ``print_urls="json"`` the first line is the URLs."""
    out = out or sys.stdout
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = MockServer(host=host, port=port, ws_port=ws_port, **options)
    try:
        try:
            server.start()
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host} (port {port}, WebSocket port {ws_port}): "
                f"{exc.strerror or exc}"
            ) from exc
        if print_urls == "json":
            out.write(json.dumps(server.urls.to_json()) + "\n")
        else:
            out.write("lipflow mock server running; stop with Ctrl-C\n")
            for name, url in server.urls.to_json().items():
                out.write(f"  {name:<11} {url}\n")
        out.flush()
        while not stopped.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
