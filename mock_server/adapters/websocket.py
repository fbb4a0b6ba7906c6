"""The WebSocket adapter: every provider's WebSocket API on one port, via ``websockets``.

Some official SDKs speak WebSocket only, so the mock must too; the ``websockets`` library is such
an SDK's own transport and already a lipflow dependency. Each text
frame becomes one :class:`~mock_server.core.MockRequest` handled by the simulator in order (a
poll can never overtake its submit); replies that carry a delay are sent from their own task so a
slow reply does not hold up the pongs behind it. The server runs its event loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from urllib.parse import parse_qsl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mock_server.core import MockRequest, Reply, WsSession
from mock_server.simulator import Simulator

__all__ = ["WebSocketServer"]

_FRAME_SLACK = 1024 * 1024  # frames a little over the cap still arrive, to be refused politely


class WebSocketServer:
    """Serves the simulator's WebSocket APIs on ``host:port`` (0: a free port)."""

    def __init__(self, simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lipflow-mock-ws", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        if self._thread is not None:
            self._thread.join()
        self._thread = self._loop = self._stop = None
        self._ready.clear()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(), which re-raises in the caller
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        server: Server
        async with serve(
            self._connection,
            self.host,
            self.port,
            max_size=self.simulator.max_body_bytes + _FRAME_SLACK,
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _connection(self, ws: ServerConnection) -> None:
        request = ws.request
        path, _, query = (request.path if request else "/").partition("?")
        session = WsSession(
            path=path,
            headers={k.lower(): v for k, v in request.headers.raw_items()} if request else {},
        )
        pending: set[asyncio.Task[None]] = set()
        try:
            async for message in ws:
                data = message.encode() if isinstance(message, str) else message
                frame = MockRequest(
                    method="WS",
                    path=session.path,
                    query=dict(parse_qsl(query, keep_blank_values=True)),
                    headers=session.headers,
                    body=b"" if len(data) > self.simulator.max_body_bytes else data,
                    oversize=len(data) if len(data) > self.simulator.max_body_bytes else None,
                    transport="ws",
                    session=session,
                )
                reply = self.simulator.handle(frame)
                if reply.delay:
                    task = asyncio.create_task(self._answer_later(ws, reply))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                elif not await self._answer(ws, reply):
                    return
        except ConnectionClosed:
            pass
        finally:
            for task in pending:
                task.cancel()

    async def _answer_later(self, ws: ServerConnection, reply: Reply) -> None:
        await asyncio.sleep(reply.delay)
        await self._answer(ws, reply)

    @staticmethod
    async def _answer(ws: ServerConnection, reply: Reply) -> bool:
        """Send the reply; False once the connection is gone (dropped on purpose or not)."""
        if reply.drop:
            # No close handshake: the client sees the connection die, as on a network failure.
            ws.transport.abort()
            return False
        if reply.document is None:
            return True
        with contextlib.suppress(ConnectionClosed):
            await ws.send(reply.payload().decode("utf-8", errors="replace"))
            return True
        return False
