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

Connections are kept alive, as every provider's API keeps them (werkzeug's own handler closes
each one after its reply, so no client ever reused one against the mock): a reply says
``Connection: close``, and the connection is closed, only when the client asked for that, when
the request's body was not read to its end (over the cap, or malformed: what is left of it would
be taken for the next request), when the reply is dropped or lost, or on an internal error.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from pytest_httpserver.httpserver import HTTPServerBase, HTTPServerError
from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_content_length

from lipflow._memo import BoundedMemo
from mock_server.adapters._forms import with_body
from mock_server.core import MockRequest, Reply
from mock_server.simulator import Simulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["MockHTTPServer", "to_mock_request"]

_READ_SIZE = 1024 * 1024  # a body is read in pieces of at most this many bytes
_KEEP_ALIVE = "mock_server.keep_alive"  # set in a request's environ when its connection may stay
_IDLE_SECONDS = 120  # a kept-alive connection with no new request for this long is closed
_ONE_SEND_BYTES = 256 * 1024  # a reply body up to this size is sent with its head, in one send


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
        """HTTPServerBase.start, with the request handler that keeps connections alive."""
        if self.is_running():
            raise HTTPServerError("Server is already running")
        try:
            self.server = make_server(
                self.host,
                self.port,
                self.wsgi_application(),
                threaded=self.threaded,
                request_handler=KeepAliveHandler,
                ssl_context=self.ssl_context,
            )
        except SystemExit as exc:  # werkzeug answers a port it cannot bind with sys.exit(1)
            raise OSError(f"cannot bind {self.host}:{self.port}") from exc
        self.port = self.server.port
        self.server_thread = threading.Thread(target=self.thread_target, daemon=True)
        self.server_thread.start()

    def thread_target(self) -> None:
        # The public thread target, polling for shutdown every 50 ms instead of werkzeug's 0.5 s:
        # a stop is felt by every test and every `run --mock`.
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)

    def wsgi_application(self) -> WSGIApplication:
        """The WSGI application the server runs: :meth:`answer`, the simulator's replies written
        from the WSGI environ without werkzeug's Request and Response objects; a subclass that
        answers with werkzeug responses of its own (overriding :meth:`dispatch`,
        pytest-httpserver's one abstract method) is served through them, as pytest-httpserver
        serves it."""
        if type(self).dispatch is MockHTTPServer.dispatch:
            return self.answer
        return Request.application(self.application)

    def application(self, request: Request) -> Response:
        return self.dispatch(request)

    def dispatch(self, request: Request) -> Response:
        """The simulator's reply to a werkzeug request, as a werkzeug response."""
        mock_request = to_mock_request(request, self.simulator.max_body_bytes)
        return _to_response(self._reply(mock_request, request.environ))

    def answer(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """:meth:`dispatch` as a WSGI application, sending what werkzeug's Request and
        Response would make of the same request and reply (:func:`_send`), at less cost."""
        try:
            mock_request = _mock_request(environ, self.simulator.max_body_bytes)
        except HTTPException as exc:  # a body shorter than announced: werkzeug's answer
            return exc.get_response(environ)(environ, start_response)
        return _send(self._reply(mock_request, environ), environ, start_response)

    def _reply(self, mock_request: MockRequest, environ: WSGIEnvironment) -> Reply:
        reply = self.simulator.handle(mock_request)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            _drop(environ)
        else:
            read_whole = mock_request.oversize is None and mock_request.body_error is None
            environ[_KEEP_ALIVE] = read_whole
        return reply


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler answering on the same connection until there is a reason to
    close it (see the module's docstring); the app's ``environ`` says whether there is none.

    The reply is sent whole with its Content-Length (every reply of the mock is in memory), so
    the client knows where it ends without the connection closing.
    """

    timeout = _IDLE_SECONDS
    # A reply is written as its head, then its body. With Nagle's algorithm on, the body waits
    # for the client to acknowledge the head, and a client delays that acknowledgement (up to
    # 40 ms on Linux) on a connection kept alive: every poll took 44 ms, a download 90 ms.
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return None

        try:
            chunks: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            status, headers = started
        except (TimeoutError, ConnectionError) as exc:
            self.connection_dropped(exc, environ)
            return
        except Exception as exc:  # the simulator records its own errors; this is the adapter's
            self.server.log("error", f"Error on request: {exc!r}")
            status, headers, body = "500 INTERNAL SERVER ERROR", [], b"Internal Server Error"
            environ[_KEEP_ALIVE] = False
        keep = bool(environ.get(_KEEP_ALIVE)) and not self.close_connection
        code, _, reason = status.partition(" ")
        sent = body if environ["REQUEST_METHOD"] != "HEAD" else b""
        try:
            socket_writer, gathered = self.wfile, io.BytesIO()
            self.wfile = gathered  # the head is gathered, then sent with the body
            try:
                self.send_response(int(code), reason)
                for name, value in headers:
                    if name.lower() not in ("connection", "content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "keep-alive" if keep else "close")
                self.end_headers()
                head = gathered.getvalue()
            finally:
                self.wfile = socket_writer
            # Head and body in one send when the body is short (each send lets another
            # request's thread take the GIL); a long body is not copied to join them.
            if len(sent) <= _ONE_SEND_BYTES:
                socket_writer.write(head + sent)
            else:
                socket_writer.write(head)
                socket_writer.write(sent)
            socket_writer.flush()
        except (TimeoutError, ConnectionError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)


def to_mock_request(request: Request, max_body_bytes: int) -> MockRequest:
    """A werkzeug request as the simulator sees it; a body over the cap is not read."""
    return _mock_request(request.environ, max_body_bytes)


def _mock_request(environ: WSGIEnvironment, max_body_bytes: int) -> MockRequest:
    """The request of a WSGI environ as the simulator sees it, as werkzeug's ``Request`` reads
    it: its method upper-cased, its path decoded and starting with one ``/``, the first value of
    each query parameter (parsed by werkzeug, only when there is a query), the headers as
    ``EnvironHeaders`` yields them (names lower-cased); ClientDisconnected (werkzeug's) when
    the body is shorter than announced. werkzeug's own lazy views cost more than the rest of
    a poll's translation."""
    query = environ.get("QUERY_STRING")
    args = Request(environ).args if query else None
    common: dict[str, Any] = {
        "method": environ.get("REQUEST_METHOD", "GET").upper(),
        "path": "/" + _decoded(environ.get("PATH_INFO") or "").lstrip("/"),
        "query": {k: args[k] for k in args} if args else {},
        "headers": _headers(environ),
    }
    announced = _content_length(environ)
    if announced is not None and announced > max_body_bytes:
        return MockRequest(**common, oversize=announced)
    try:
        # With a length announced, that many bytes; else (chunked) one over the cap.
        body = _body(environ, max_body_bytes + 1 if announced is None else announced, announced)
    except (OSError, ValueError) as exc:  # werkzeug's reading of a malformed chunked body
        return MockRequest(**common, body_error=str(exc) or type(exc).__name__)
    if len(body) > max_body_bytes:
        return MockRequest(**common, oversize=len(body))
    return with_body(common, body, environ.get("CONTENT_TYPE"))


def _content_length(environ: WSGIEnvironment) -> int | None:
    """werkzeug's ``get_content_length``: without a Transfer-Encoding, no length (a GET) or a
    length of plain digits (every request of a client that sends one) read at once."""
    length = environ.get("CONTENT_LENGTH")
    if "HTTP_TRANSFER_ENCODING" not in environ:
        if length is None:  # no body announced (a GET): werkzeug's None, without its call
            return None
        if length.isdigit() and length.isascii():
            return int(length)
    return get_content_length(environ)


# Environ key -> header name (None: not a header, or one werkzeug's EnvironHeaders skips).
# The same few dozen keys come on every request; a bounded cache, as clients can send any name.
_HEADER_NAMES: dict[str, str | None] = {
    "CONTENT_TYPE": "content-type",
    "CONTENT_LENGTH": "content-length",
    "HTTP_CONTENT_TYPE": None,
    "HTTP_CONTENT_LENGTH": None,
}
_BODY_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")  # listed only when not empty
_MAX_HEADER_NAMES = 4096


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, as werkzeug's ``EnvironHeaders`` lists them."""
    keys = tuple(environ)
    pairs = _HEADER_KEYS.get(keys)
    if pairs is None:  # a client sends the same headers, in the same order, request after request
        pairs = _HEADER_KEYS.put(
            keys, tuple((key, name) for key in keys if (name := _header_name(key)) is not None)
        )
    return {
        name: value for key, name in pairs if (value := environ[key]) or key not in _BODY_HEADERS
    }


# The header keys of an environ (key, name), in its order, by all its keys.
_HEADER_KEYS: BoundedMemo[tuple[str, ...], tuple[tuple[str, str], ...]] = BoundedMemo(256)


def _header_name(key: str) -> str | None:
    name = _HEADER_NAMES.get(key, "")
    if name == "":
        name = key[5:].replace("_", "-").lower() if key.startswith("HTTP_") else None
        if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
            _HEADER_NAMES[key] = name
    return name


def _body(environ: dict[str, Any], limit: int, announced: int | None) -> bytes:
    """What ``request.stream`` gives of the body, up to ``limit`` bytes, read from the server's
    stream directly (werkzeug's wrapper of it costs more than the reading of a short body): a
    stream the server ends (chunked) as it is, no body without a length, and with one that many
    bytes, ClientDisconnected if the client sent fewer (what werkzeug's wrapper raises)."""
    stream = environ["wsgi.input"]
    if "wsgi.input_terminated" in environ:
        return _read_at_most(stream, limit)
    if announced is None:
        return b""
    try:
        body = _read_at_most(stream, limit)
    except (OSError, ValueError) as exc:  # a read that fails, as one that ends early
        raise ClientDisconnected() from exc
    if len(body) < limit:
        raise ClientDisconnected()
    return body


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Up to ``limit`` bytes of ``stream``: what a body over the cap costs in memory.

    Each read asks for no more than is left to read: a read allocates the size it asks for."""
    if limit <= 0:
        return b""
    first = stream.read(min(_READ_SIZE, limit))
    if len(first) == limit or not first:  # the whole body (most often), or none
        return first
    parts = [first]
    size = len(first)
    while size < limit:
        part = stream.read(min(_READ_SIZE, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _decoded(path: str) -> str:
    """A WSGI path (bytes as latin-1) as werkzeug decodes it: UTF-8, bad bytes replaced."""
    return path if path.isascii() else path.encode("latin1").decode(errors="replace")


def _to_response(reply: Reply) -> Response:
    return Response(
        reply.payload(),
        status=reply.status,
        headers=reply.headers or None,
        content_type=reply.content_type,
    )


def _send(reply: Reply, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Start ``reply`` and give its body, as ``_to_response(reply)(environ, start_response)``
    does: werkzeug's status line (its reason upper-cased), the reply's headers in their order,
    then Content-Type and Content-Length, and no body for HEAD. A reply werkzeug would change
    (a status without a body, a Location header made a URI, a header it would refuse or
    split, a Content-Type or Content-Length of the reply's own) is left to werkzeug."""
    status = reply.status
    line = _STATUS_LINES.get(status) if type(status) is int else None
    headers = reply.headers
    if line is None or not _plain(reply.content_type) or (headers and not _plain_headers(headers)):
        return _to_response(reply)(environ, start_response)
    body = reply.payload()
    start_response(
        line,
        [
            *headers.items(),
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(body))),
        ],
    )
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


# werkzeug's status line of each status it names and that has a body (not 1xx, 204 or 304).
_STATUS_LINES = {
    code: f"{code} {reason.upper()}"
    for code, reason in HTTP_STATUS_CODES.items()
    if code >= 200 and code not in (204, 304)
}
# Header names werkzeug's Response sets or rewrites itself.
_OWN_HEADERS = frozenset({"content-type", "content-length", "location", "content-location"})


def _plain(value: object) -> bool:
    """Whether werkzeug takes ``value`` as a header value as it is (a string, one line)."""
    return type(value) is str and "\n" not in value and "\r" not in value


def _plain_headers(headers: dict[str, str]) -> bool:
    """Whether werkzeug's Response sends ``headers`` as they are, one header per item."""
    return all(
        type(name) is str and name.lower() not in _OWN_HEADERS and _plain(value)
        for name, value in headers.items()
    )


def _drop(environ: WSGIEnvironment) -> None:
    """Close the client's connection now: the response werkzeug then tries to write goes nowhere."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
