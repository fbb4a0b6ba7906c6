"""The HTTP adapter: pytest-httpserver's ``HTTPServer`` with the simulator as its dispatcher.

pytest-httpserver gives a threaded werkzeug server on a free port that starts and stops cleanly
in a thread, the stack the pytest plugin and ``lipflow run --mock`` both need. This module only
translates: a werkzeug request becomes a :class:`~mock_server.core.MockRequest` (body read up to
the cap, multipart parsed), a :class:`~mock_server.core.Reply` becomes a response, or a closed
connection when the reply is to be dropped or lost.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import HTTPServerError
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mock_server.adapters._forms import with_body
from mock_server.core import MockRequest, Reply
from mock_server.simulator import Simulator

__all__ = ["MockHTTPServer", "to_mock_request"]


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the journal records every request instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


class MockHTTPServer(HTTPServer):
    """Serves a :class:`Simulator` over HTTP on ``host:port`` (0: a free port, see ``.port``)."""

    def __init__(self, simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port, threaded=True)
        self.simulator = simulator

    def start(self) -> None:
        # As HTTPServer.start, with a request handler that does not log every request to stderr.
        if self.is_running():
            raise HTTPServerError("Server is already running")
        app = Request.application(self.application)
        # Bind here: werkzeug answers a port in use with sys.exit(1); an OSError is ours to report.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(128)
            self.server = make_server(
                self.host,
                self.port,
                app,
                threaded=True,
                request_handler=_QuietHandler,
                fd=listener.fileno(),
            )
        self.port = self.server.port
        self.server_thread = threading.Thread(
            target=self.thread_target, name="lipflow-mock-http", daemon=True
        )
        self.server_thread.start()

    def thread_target(self) -> None:
        # werkzeug checks for shutdown every poll interval: 0.5 s by default, felt on every stop.
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)

    def application(self, request: Request) -> Response:
        # The base class reads the whole body first and keeps every request in an unbounded
        # log; the mock reads at most the cap and has its own bounded journal.
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
    body = request.stream.read(max_body_bytes + 1)
    if len(body) > max_body_bytes:
        return MockRequest(**common, oversize=len(body))
    return with_body(common, body, request.headers.get("content-type"))


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
