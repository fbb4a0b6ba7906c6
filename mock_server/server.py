"""The mock on real sockets, as one object: ``with MockServer() as mock: mock.urls.pixverse``.

It wires a :class:`~mock_server.simulator.Simulator` to the HTTP adapter (all REST APIs, media,
``/_mock/``) and the WebSocket adapter, each on its own port (0 picks free ones), and reports the
base URL of every registered provider's API in the form its client takes it (``LIPFLOW_*_URL``).
:func:`serve` runs it in the foreground until SIGINT or SIGTERM, for ``lipflow mock serve``.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from types import FrameType, TracebackType
from typing import Any, TextIO

from lipflow.providers import registry
from mock_server.adapters.http import MockHTTPServer
from mock_server.adapters.websocket import WebSocketServer
from mock_server.errors import MockUsageError
from mock_server.faults import FaultRule
from mock_server.simulator import Simulator

__all__ = ["MockServer", "MockUrls", "serve"]


class MockUrls(Mapping[str, str]):
    """Base URLs by name: each provider's (what its ``LIPFLOW_*_URL`` or an SDK's ``url=``
    should be), ``<provider>_ws`` for a WebSocket API, then ``admin`` and ``media``.

    A mapping (``urls["pixverse"]``) whose names also read as attributes (``urls.pixverse``).
    """

    __slots__ = ("_urls",)
    _urls: dict[str, str]

    def __init__(self, urls: Mapping[str, str]) -> None:
        object.__setattr__(self, "_urls", dict(urls))

    def __getitem__(self, name: str) -> str:
        return self._urls[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._urls)

    def __getattr__(self, name: str) -> str:
        try:
            return self._urls[name]
        except KeyError:
            raise AttributeError(f"no mock URL named {name!r}; known: {', '.join(self)}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MockUrls is read-only")

    def __repr__(self) -> str:
        return f"MockUrls({self._urls!r})"

    def to_json(self) -> dict[str, str]:
        return dict(self._urls)


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
        self._ws = WebSocketServer(self.simulator, host=host, port=ws_port)
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
        urls: dict[str, str] = {}
        for provider in registry.providers():
            wire = provider.wire
            urls[wire.name] = http + wire.api_prefix
            if wire.websocket_path is not None:
                urls[f"{wire.name}_ws"] = f"ws://{host}:{self._ws.port}{wire.websocket_path}"
        self._urls = MockUrls({**urls, "admin": f"{http}/_mock", "media": f"{http}/media"})
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
            raise MockUsageError(
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
        threshold = gc.get_threshold()
        _settle_garbage_collector()
        try:
            while not stopped.wait(0.5):
                pass
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Youngest-generation threshold while serving. What a request leaves behind is its journal record
# (a few containers); the collector's cost is walking those, the more often the more it costs:
# measured per request over 12,000 in-process requests of the benchmark's mix, 16 us with the
# defaults, 10 us with the start-up frozen, 9.6 us with this threshold as well (20,000: 12 us);
# in the server process 20,000 and this cost the same (paired rounds), and this keeps less garbage.
_SERVING_GC_THRESHOLD = 5_000


def _settle_garbage_collector() -> None:
    """The process as :func:`serve` leaves it until stopped: what was loaded to start the server
    (modules, the providers' tables) moved out of the collector's sight (``gc.freeze``), and the
    youngest generation collected less often, so that per request the collector walks only what
    the requests made."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_SERVING_GC_THRESHOLD, *gc.get_threshold()[1:])
