"""A small hostile provider on loopback: a Runware look-alike whose every reply a test can script.

It answers the three tasks ``recipes/quickstart.yaml`` sends (``mediaStorage``,
``videoInference``, ``getResponse``) as Runware documents them, and serves the output at
``/out.mp4``; a test replaces the poll answer (``on_poll``) or the output (``on_output``) with
the reply it wants lipflow to survive. Every request is counted by task or path.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

REPO = Path(__file__).parents[2]
QUICKSTART = REPO / "recipes" / "quickstart.yaml"
VIDEO = (REPO / "recipes" / "media" / "presenter.mp4").read_bytes()

Handler = Callable[[Request, dict[str, Any]], Response]


def reply(document: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(document), status=status, headers=headers, mimetype="application/json"
    )


class FakeRunware:
    """Runware's wire, honest by default; ``on_poll`` and ``on_output`` make it hostile."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.seen: Counter[str] = Counter()
        self.bodies: list[bytes] = []
        self.on_poll: Handler = self.success
        self.on_output: Callable[[Request], Response] = lambda _: Response(
            VIDEO, mimetype="video/mp4"
        )
        server.expect_request("/v1", method="POST").respond_with_handler(self._api)
        server.expect_request("/out.mp4").respond_with_handler(self._output)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    @property
    def output_url(self) -> str:
        return self.server.url_for("/out.mp4")

    def env(self, key: str = "fake-runware-key") -> dict[str, str]:
        """The environment of ``lipflow run`` pointed at this provider."""
        return {"LIPFLOW_RUNWARE_URL": self.base_url, "RUNWARE_API_KEY": key}

    def success(self, request: Request, task: dict[str, Any], *urls: str) -> Response:
        """A finished task with its output URL(s)."""
        items = [
            {
                "taskType": "videoInference",
                "taskUUID": task["taskUUID"],
                "status": "success",
                "videoURL": url,
                "cost": 0.01,
            }
            for url in (urls or (self.output_url,))
        ]
        return reply({"data": items})

    def _api(self, request: Request) -> Response:
        self.bodies.append(request.get_data())
        (task,) = json.loads(request.get_data())
        kind = task["taskType"]
        self.seen[kind] += 1
        if kind == "mediaStorage":
            return reply(
                {
                    "data": [
                        {
                            "taskType": kind,
                            "taskUUID": task["taskUUID"],
                            "mediaUUID": "0b5f2a6e-0000-4000-8000-000000000001",
                        }
                    ]
                }
            )
        if kind == "videoInference":
            return reply({"data": [{"taskType": kind, "taskUUID": task["taskUUID"]}]})
        return self.on_poll(request, task)

    def _output(self, request: Request) -> Response:
        self.seen["download"] += 1
        return self.on_output(request)


@pytest.fixture
def hostile() -> Iterator[FakeRunware]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield FakeRunware(server)
    finally:
        server.clear()
        server.stop()
