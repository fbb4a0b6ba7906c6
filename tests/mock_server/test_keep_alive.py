"""The mock keeps connections open, as the providers' APIs do, and closes one only when it must:
a dropped or lost reply, a body it did not read to its end, or a client that asked."""

from __future__ import annotations

import http.client
import os
import socket
from urllib.parse import urlsplit

import pytest

from mock_server import MockServer

KEY = {"Authorization": "Bearer k", "Content-Type": "application/json"}


def _connection(mock: MockServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", mock.http_port, timeout=10)


def _path(url: str) -> str:
    return urlsplit(url).path


def _exchange(mock: MockServer, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection; everything the mock sends until it closes."""
    with socket.create_connection(("127.0.0.1", mock.http_port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while part := sock.recv(65536):
            received += part
    return received


def test_consecutive_requests_share_one_connection(lipflow_mock: MockServer) -> None:
    conn = _connection(lipflow_mock)
    sockets = []
    for _ in range(3):
        conn.request("GET", _path(lipflow_mock.urls["admin"]) + "/faults")
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 200 and reply.getheader("Connection") == "keep-alive"
        sockets.append(conn.sock)
    conn.close()

    assert sockets[0] is not None and all(s is sockets[0] for s in sockets)


@pytest.mark.parametrize("fault", ["drop", "lose_reply"])
def test_a_dropped_or_lost_reply_closes_the_connection_and_the_next_one_is_answered(
    fault: str, lipflow_mock: MockServer
) -> None:
    conn = _connection(lipflow_mock)
    runware = _path(lipflow_mock.urls["runware"])
    poll = b'[{"taskType": "getResponse", "taskUUID": "00000000-0000-4000-8000-000000000000"}]'
    conn.request("POST", runware, body=poll, headers=KEY)
    first = conn.getresponse()
    first.read()

    conn.request("POST", runware, body=poll, headers={**KEY, "X-Mock-Fault": fault})
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()

    again = _connection(lipflow_mock)
    again.request("POST", runware, body=poll, headers=KEY)
    assert again.getresponse().status == first.status, "answered as before the fault"
    again.close()


def test_a_body_over_the_cap_closes_the_connection_so_its_bytes_are_never_a_request() -> None:
    with MockServer(max_body_bytes=1000) as mock:
        hidden = b"GET /_mock/faults HTTP/1.1\r\nHost: mock\r\n\r\n"
        body = hidden * (2000 // len(hidden) + 1)
        head = (
            f"POST {_path(mock.urls['runware'])} HTTP/1.1\r\nHost: mock\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )

        received = _exchange(mock, head.encode() + body)

        assert received.startswith(b"HTTP/1.1 413 ")
        assert received.count(b"HTTP/1.1 ") == 1, "the unread body was not taken for requests"
        assert b"Connection: close" in received
        assert len(mock.simulator.journal.records()) == 1


def test_a_malformed_chunked_body_closes_the_connection() -> None:
    with MockServer() as mock:
        head = (
            f"POST {_path(mock.urls['runware'])} HTTP/1.1\r\nHost: mock\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        after = b"GET /_mock/faults HTTP/1.1\r\nHost: mock\r\n\r\n"

        received = _exchange(mock, head.encode() + b"zz\r\n[]\r\n0\r\n\r\n" + after)

        assert received.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in received


@pytest.mark.parametrize(
    ("request_line", "extra"),
    [("HTTP/1.0", ""), ("HTTP/1.1", "Connection: close\r\n")],
    ids=["http-1.0", "connection-close"],
)
def test_a_client_that_asks_for_close_gets_it(
    request_line: str, extra: str, lipflow_mock: MockServer
) -> None:
    path = _path(lipflow_mock.urls["admin"]) + "/faults"
    raw = f"GET {path} {request_line}\r\nHost: mock\r\n{extra}\r\n".encode()

    received = _exchange(lipflow_mock, raw)  # returns only once the mock closed

    assert received.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in received


def test_a_body_cut_short_of_its_length_is_a_400_that_closes_the_connection(
    lipflow_mock: MockServer,
) -> None:
    """The client stopped sending before the Content-Length it announced: nothing to handle."""
    runware = _path(lipflow_mock.urls["runware"])
    head = (
        f"POST {runware} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer k\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", lipflow_mock.http_port), timeout=10) as sock:
        sock.sendall(head + b'[{"taskType": ')
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while part := sock.recv(65536):
            received += part

    status, _, rest = received.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 400"), received
    assert b"\r\nConnection: close\r\n" in rest.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert lipflow_mock.simulator.journal.records() == []


def _server_side(client: socket.socket) -> socket.socket:
    """The mock's end of ``client``'s connection (the mock runs in this process)."""
    wanted = client.getsockname()
    for fd in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if candidate.type == socket.SOCK_STREAM and candidate.getpeername() == wanted:
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("no server-side socket found for the connection")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to find the socket")
def test_a_kept_alive_connection_sends_each_reply_without_waiting_for_an_acknowledgement(
    lipflow_mock: MockServer,
) -> None:
    """With Nagle's algorithm, a reply's body waited for the client's delayed ACK of its head:
    44 ms per poll on a kept-alive connection."""
    conn = _connection(lipflow_mock)
    conn.request("GET", _path(lipflow_mock.urls["admin"]) + "/faults")
    conn.getresponse().read()
    assert conn.sock is not None
    server_side = _server_side(conn.sock)
    try:
        assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server_side.close()
        conn.close()
