"""``lipflow run`` sends over aiohttp: directly (``direct``), or under httpx's client when a proxy
is configured (``aiohttp``); every failure means what it meant over httpx's own transport
(``httpx``): the same class, the same outcome, the same number of submits.

Each mock fault, on each operation it can hit, is run through the three against the loopback
mock, and the runs must agree job by job. The cases where a difference would cost
money (a submit whose request went out and got no answer) also state the expected outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from lipflow.errors import ProviderError
from lipflow.run.report import RunReport
from lipflow.run.sender import as_sender
from lipflow.run.transport import AiohttpSender, http_client
from mock_server import MockServer
from tests.runner.conftest import FAST, RunRecipe, closed_port, jobs_at, urls_of

ONE_JOB = {"runware": "quickstart", "pixverse": "pixverse_platform", "wavespeed": "wavespeed"}
# A "latency" fault holds its reply 4 s; lipflow gives up on it after 1 s (a read timeout). Every
# other reply comes at once, within that second even on a loaded machine.
TIMEOUT = replace(FAST, request_timeout=1.0)
LATE = 4.0
Both = Callable[..., dict[str, "Outcome"]]
Client = httpx.AsyncClient | AiohttpSender
TRANSPORTS: dict[str, Callable[[], Client]] = {
    "httpx": httpx.AsyncClient,
    "aiohttp": http_client,
    "direct": AiohttpSender,
}


@pytest.fixture
def both(run_recipe: RunRecipe, mock: MockServer, tmp_path: Path) -> Both:
    """Run ``provider``'s one-job recipe with a fault rule over each transport: the outcomes."""

    def run(provider: str, fault: dict[str, Any] | None, **options: Any) -> dict[str, Outcome]:
        seen = {}
        for name, client in TRANSPORTS.items():
            mock.reset()
            if fault is not None:
                mock.add_fault(provider=provider, **fault)
            out = tmp_path / name
            report = run_recipe(ONE_JOB[provider], client=client, out_dir=out, **options)
            seen[name] = outcome(report, mock, provider)
        return seen

    return run


@dataclass(frozen=True)
class Outcome:
    """What a run did, as far as money and the user are concerned."""

    jobs: tuple[tuple[str, str, int, str | None, str | None], ...]  # id, state, tries, class, why
    submits: int  # submits the mock saw
    created: int  # jobs the mock created
    sent: tuple[tuple[str, int], ...]  # requests the mock saw per operation, polls aside


def _why(error: str | None) -> str | None:
    """An error's provider and classification as worded, without the transport's own text
    ("wavespeed: request not sent: <the HTTP layer's words>")."""
    return None if error is None else ": ".join(error.split(": ", 2)[:2])


def outcome(report: RunReport, mock: MockServer, provider: str) -> Outcome:
    """How many polls a job takes depends on timing; everything else must not."""
    records = mock.simulator.journal.records(provider=provider)
    return Outcome(
        jobs=tuple(
            (j.id, j.state, j.attempts, j.error_class, _why(j.error))
            for j in sorted(report.jobs, key=lambda j: j.id)
        ),
        submits=sum(1 for r in records if r.op == "submit"),
        created=len(jobs_at(mock, provider)),
        sent=tuple(sorted(Counter(str(r.op) for r in records if r.op != "poll").items())),
    )


PROVIDERS = list(ONE_JOB)
FAULTS = ["drop", "lose_reply", "server_error", "malformed_json", "rate_limit", "latency"]
OPS = ["upload", "submit", "poll", "download"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_mock_fault_means_the_same_over_both_transports(
    provider: str, fault: str, op: str, both: Both
) -> None:
    late = fault == "latency"
    rule = {"action": fault, "op": op, "count": 1 if late else 2, "seconds": LATE if late else 0}

    seen = both(provider, rule, retry=TIMEOUT, concurrency=1)

    assert seen["direct"] == seen["aiohttp"] == seen["httpx"]


@pytest.mark.parametrize("provider", ["pixverse", "wavespeed"])
@pytest.mark.parametrize("fault", ["drop", "lose_reply", "latency"])
def test_a_submit_that_went_out_unanswered_is_ambiguous_and_sent_once_over_aiohttp(
    provider: str, fault: str, both: Both
) -> None:
    rule = {"action": fault, "op": "submit", "count": 1, "seconds": LATE}

    seen = both(provider, rule, retry=TIMEOUT, concurrency=1)

    ambiguous = [j for j in seen["aiohttp"].jobs if j[1] == "ambiguous"]
    assert len(ambiguous) == 1 and ambiguous[0][3] == "ambiguous"
    assert seen["aiohttp"].submits == len(seen["aiohttp"].jobs), "never sent twice"
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"]


def test_runware_resends_an_unanswered_submit_with_its_task_uuid_over_both_transports(
    both: Both,
) -> None:
    rule = {"action": "drop", "op": "submit", "count": 1}

    seen = both("runware", rule, retry=TIMEOUT)

    assert seen["aiohttp"].created == 1 and seen["aiohttp"].jobs[0][1] == "done"
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"]


@pytest.mark.parametrize(
    ("scheme", "why"),
    [("http", "connection refused"), ("https", "a TLS handshake with a plain-HTTP server")],
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_request_that_never_left_is_not_sent_over_both_transports(
    provider: str,
    scheme: str,
    why: str,
    mock: MockServer,
    both: Both,
) -> None:
    port = closed_port() if scheme == "http" else mock.http_port
    base = {p: f"{scheme}://127.0.0.1:{port}/x" for p in PROVIDERS}

    seen = both(provider, None, base_urls=base)

    ended = {j[3:] for j in seen["aiohttp"].jobs if j[1] != "pending"}
    assert ended == {("unavailable", f"{provider}: request not sent")}, why
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"]


def test_the_mock_on_real_sockets_is_reached_by_both_transports(
    mock: MockServer, both: Both
) -> None:
    seen = both("wavespeed", None, base_urls=urls_of(mock))

    assert seen["aiohttp"].jobs[0][1] == "done"
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"]


# -- what the mock cannot do: a provider whose socket misbehaves after the request arrived ------

_LINE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
MISBEHAVIOURS: dict[str, bytes | None] = {
    "closes without a reply": b"",
    "answers with bytes that are not HTTP": b"\x16\x03\x01 not http at all\r\n\r\n",
    "cuts the body short": _LINE + b'Content-Length: 100\r\n\r\n{"data": ',
    "sends a 200 KiB header line": _LINE + b"X-Junk: " + b"a" * 200 * 1024 + b"\r\n\r\n",
    "resets the connection": None,
}


class RawServer:
    """A loopback socket that reads one request per connection, then misbehaves as told."""

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.misbehave(conn)

    def misbehave(self, conn: socket.socket) -> None:
        if b"\r\n\r\n" in _read_head(conn):
            self.requests += 1
        if self.answer is None:  # RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.sendall(self.answer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting in the thread
        self.sock.close()
        self.thread.join(5)


def _read_head(conn: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        part = conn.recv(65536)
        if not part:
            break
        head += part
    return head


def _request(http: Client, method: str, url: str, **options: Any) -> httpx.Request:
    """A request with the timeouts the runner gives it (an httpx client's adds its cookies)."""
    timeout = httpx.Timeout(options.pop("timeout", 5))
    if isinstance(http, httpx.AsyncClient):
        return http.build_request(method, url, timeout=timeout, **options)
    return httpx.Request(method, url, extensions={"timeout": timeout.as_dict()}, **options)


def _submit(client: Callable[[], Client], port: int) -> ProviderError:
    async def main() -> ProviderError:
        async with client() as http:
            request = _request(http, "POST", f"http://127.0.0.1:{port}/v1/submit", json={"a": 1})
            try:
                await as_sender(http).send(request, "wavespeed")
            except ProviderError as exc:
                return exc
        raise AssertionError("the misbehaving server got a usable reply")

    return asyncio.run(main())


@pytest.mark.parametrize("behaviour", list(MISBEHAVIOURS))
def test_a_submit_answered_by_a_misbehaving_socket_is_ambiguous_and_sent_once_over_both(
    behaviour: str,
) -> None:
    classes = {}
    for name, client in TRANSPORTS.items():
        server = RawServer(MISBEHAVIOURS[behaviour])
        try:
            error = _submit(client, server.port)
        finally:
            server.close()
        assert server.requests == 1, f"{name}: the submit was sent once, not resent by the layer"
        classes[name] = (type(error).__name__, str(error).split(": ", 1)[0])
    assert classes["direct"] == classes["aiohttp"] == classes["httpx"]
    assert classes["direct"][0] == "ProviderAmbiguous"


class KeepAliveThenDrop(RawServer):
    """Answers the first request on a connection and keeps it open; closes on the second."""

    def misbehave(self, conn: socket.socket) -> None:
        for answer in (_LINE + b"Content-Length: 2\r\n\r\n{}", b""):
            if b"\r\n\r\n" not in _read_head(conn):
                break
            self.requests += 1
            conn.sendall(answer)


def test_a_poll_dropped_on_a_reused_connection_is_not_resent_by_the_http_layer() -> None:
    """aiohttp resends a GET by itself when a kept-alive connection drops; lipflow's layer does
    not, as httpx's does not: the retry engine decides (and counts) every send."""
    seen = {}
    for name, client in TRANSPORTS.items():
        server = KeepAliveThenDrop(None)

        async def main(client: Callable[[], Client] = client, port: int = server.port) -> str:
            async with client() as http:
                url = f"http://127.0.0.1:{port}/v1/poll"
                await as_sender(http).send(_request(http, "GET", url), "wavespeed")
                try:
                    await as_sender(http).send(_request(http, "GET", url), "wavespeed")
                except ProviderError as exc:
                    return type(exc).__name__
            return "answered"

        try:
            seen[name] = (asyncio.run(main()), server.requests)
        finally:
            server.close()
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"] == ("ProviderAmbiguous", 2)


class SetsACookie(RawServer):
    """Answers two requests on a connection, setting a cookie in the first reply; keeps heads."""

    heads: list[bytes]

    def misbehave(self, conn: socket.socket) -> None:
        self.heads = []
        for cookie in (b"Set-Cookie: seen=1; Path=/\r\n", b""):
            head = _read_head(conn)
            if b"\r\n\r\n" not in head:
                break
            self.heads.append(head)
            conn.sendall(_LINE + cookie + b"Content-Length: 2\r\n\r\n{}")


def test_a_cookie_a_provider_sets_is_sent_back_once_as_over_httpx() -> None:
    seen = {}
    for name, client in TRANSPORTS.items():
        server = SetsACookie(None)

        async def main(client: Callable[[], Client] = client, port: int = server.port) -> None:
            async with client() as http:
                for _ in range(2):
                    url = f"http://127.0.0.1:{port}/v1/poll"
                    await as_sender(http).send(_request(http, "GET", url), "wavespeed")

        try:
            asyncio.run(main())
        finally:
            server.close()
        seen[name] = [
            [line for line in head.lower().split(b"\r\n") if line.startswith(b"cookie:")]
            for head in server.heads
        ]
    assert seen["direct"] == seen["aiohttp"] == seen["httpx"] == [[], [b"cookie: seen=1"]]


class NeverReads(RawServer):
    """Accepts a connection and never reads from it: an upload stalls once the buffers fill."""

    def __init__(self, answer: bytes | None) -> None:
        self.closing = threading.Event()
        super().__init__(answer)

    def misbehave(self, conn: socket.socket) -> None:
        self.requests += 1
        self.closing.wait(30)  # holds ``conn`` open, unread, until the test is done

    def close(self) -> None:
        self.closing.set()
        super().close()


@pytest.mark.parametrize("layer", ["aiohttp", "direct"])
def test_an_upload_the_server_stops_reading_ends_in_a_write_timeout_as_over_httpx(
    layer: str,
) -> None:
    """httpx's own transport raises WriteTimeout (ambiguous) when a write makes no progress for
    the write timeout; aiohttp has none, so lipflow's layer watches the body's progress. (Only
    lipflow's layers are run: httpx's leaves the stalled socket to the garbage collector.)"""
    server = NeverReads(None)

    async def main() -> ProviderError:
        async with TRANSPORTS[layer]() as http:
            request = _request(
                http,
                "PUT",
                f"http://127.0.0.1:{server.port}/upload",
                content=b"\0" * 64_000_000,
                timeout=1.0,
            )
            try:
                # Without a write timeout the upload would wait for ever: 30 s says it did.
                await asyncio.wait_for(as_sender(http).send(request, "wavespeed"), 30)
            except ProviderError as exc:
                return exc
        raise AssertionError("the upload was answered")

    try:
        error = asyncio.run(main())
    finally:
        server.close()
    assert (type(error).__name__, error.code) == ("ProviderAmbiguous", "WriteTimeout")
    assert server.requests == 1
