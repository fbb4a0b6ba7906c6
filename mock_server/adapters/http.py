"""The HTTP adapter: pytest-httpserver, through its public API, with the simulator dispatching.

pytest-httpserver gives a threaded werkzeug server on a free port that starts and stops cleanly
in a thread, the stack the pytest plugin and ``lipflow run --mock`` both need. The adapter is a
subclass of its ``HTTPServerBase`` that implements the one abstract method, ``dispatch``; it only
translates: a werkzeug request becomes a :class:`~mock_server.core.MockRequest` (at most the cap
is read, so a body over it costs no more memory than the cap, sent with a Content-Length or
chunked; a malformed body is passed on as such, for the provider's own error), a
:class:`~mock_server.core.Reply` becomes a response, or a closed connection when the reply is to
be dropped or lost. pytest-httpserver's ``application`` is replaced because it reads every body
whole before dispatching and keeps a request log; the simulator journals every request itself.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import IO, Any

from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug.wrappers import Request, Response

from mock_server.adapters._forms import with_body
from mock_server.core import MockRequest, Reply
from mock_server.simulator import Simulator

__all__ = ["MockHTTPServer", "to_mock_request"]

_READ_SIZE = 1024 * 1024  # a body is read in pieces of at most this many bytes


class MockHTTPServer(HTTPServerBase):
    """Serves a :class:`Simulator` over HTTP on ``host:port`` (0: a free port, see ``.port``).

    ``start()`` raises OSError when the port cannot be bound.
    """

    def __init__(self, simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port, threaded=True)
        self.simulator = simulator
        # No access line per request on stderr: the journal records every request instead.
        werkzeug_log = logging.getLogger("werkzeug")
        if werkzeug_log.level == logging.NOTSET:
            werkzeug_log.setLevel(logging.WARNING)

    def start(self) -> None:
        try:
            super().start()
        except SystemExit as exc:  # werkzeug answers a port it cannot bind with sys.exit(1)
            raise OSError(f"cannot bind {self.host}:{self.port}") from exc

    def thread_target(self) -> None:
        # The public thread target, polling for shutdown every 50 ms instead of werkzeug's 0.5 s:
        # a stop is felt by every test and every `run --mock`.
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)

    def application(self, request: Request) -> Response:
        return self.dispatch(request)

    def dispatch(self, request: Request) -> Response:
        reply = self.simulator.handle(to_mock_request(request, self.simulator.max_body_bytes))
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            _drop(request)
        return _to_response(reply)


def to_mock_request(request: Request, max_body_bytes: int) -> MockRequest:
    """A werkzeug request as the simulator sees it; a body over the cap is not read."""
    common: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": {k: request.args[k] for k in request.args},
        "headers": {k.lower(): v for k, v in request.headers.items()},
    }
    announced = request.content_length
    if announced is not None and announced > max_body_bytes:
        return MockRequest(**common, oversize=announced)
    try:
        body = _read_at_most(request.stream, max_body_bytes + 1)
    except (OSError, ValueError) as exc:  # werkzeug's reading of a malformed chunked body
        return MockRequest(**common, body_error=str(exc) or type(exc).__name__)
    if len(body) > max_body_bytes:
        return MockRequest(**common, oversize=len(body))
    return with_body(common, body, request.headers.get("content-type"))


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Up to ``limit`` bytes of ``stream``: what a body over the cap costs in memory."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = stream.read(min(_READ_SIZE, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _to_response(reply: Reply) -> Response:
    return Response(
        reply.payload(), status=reply.status, headers=reply.headers, content_type=reply.content_type
    )


def _drop(request: Request) -> None:
    """Close the client's connection now: the response werkzeug then tries to write goes nowhere."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
