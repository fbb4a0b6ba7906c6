"""URLs a provider hands back are fetched only where the URL rule allows: http(s), never a local or
private address unless the API itself is local, never with the key to another host; redirects
are followed hop by hop under the same rule.

The providers here sit at their real (non-local) hosts, answered in-process by an httpx
transport, and the run goes through ``lipflow.run.execute``, the function ``lipflow run`` calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lipflow.plan import plan_file
from lipflow.run.report import RunReport
from lipflow.run.retry import RetryPolicy
from lipflow.run.runner import execute
from lipflow.run.settings import RunSettings
from tests.runner.hostile import QUICKSTART, REPO, VIDEO

RUNWARE = "https://api.runware.ai/v1"
WAVESPEED = "https://api.wavespeed.ai/api/v3"
KEY = "sk-url-rule-key-0123456789"
FAST = RetryPolicy(backoff_first=0.0, poll_next=0.0, poll_cap=0.0)

Route = Callable[[httpx.Request], httpx.Response]


class Providers:
    """Runware and WaveSpeed at their real hosts, and whatever other hosts a test routes."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.output_urls = ["https://cdn.runware.example/out.mp4"]
        self.ticket: dict[str, Any] = {
            "url": "https://storage.wavespeed.example/put/1",
            "method": "PUT",
            "headers": {},
        }
        self.routes: dict[str, Route] = {
            "cdn.runware.example": lambda r: httpx.Response(200, content=VIDEO),
            "storage.wavespeed.example": self._storage,
        }

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        host = request.url.host
        if host == "api.runware.ai":
            return self._runware(json.loads(request.content)[0])
        if host == "api.wavespeed.ai":
            return self._wavespeed(request)
        return self.routes[host](request)

    def _runware(self, task: dict[str, Any]) -> httpx.Response:
        item: dict[str, Any] = {"taskType": task["taskType"], "taskUUID": task["taskUUID"]}
        if task["taskType"] == "mediaStorage":
            item["mediaUUID"] = "0b5f2a6e-0000-4000-8000-000000000001"
        if task["taskType"] == "getResponse":
            return httpx.Response(
                200,
                json={
                    "data": [
                        {**item, "status": "success", "videoURL": url} for url in self.output_urls
                    ]
                },
            )
        return httpx.Response(200, json={"data": [item]})

    def _wavespeed(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/media/uploads"):
            data: dict[str, Any] = {
                "upload": self.ticket,
                "download_url": "https://storage.wavespeed.example/get/1",
            }
        elif path.endswith("/pixverse/lipsync"):
            data = {"id": "pred-1", "status": "created"}
        else:
            data = {"id": "pred-1", "status": "completed", "outputs": self.output_urls}
        return httpx.Response(200, json={"code": 200, "message": "success", "data": data})

    def _storage(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200)
        return httpx.Response(200, content=VIDEO)

    def hosts(self) -> list[str]:
        return [r.url.host for r in self.sent]


def run(providers: Providers, recipe: Path, out: Path) -> RunReport:
    plan = plan_file(str(recipe), env={})
    settings = RunSettings(
        out_dir=out,
        base_urls={
            "runware": RUNWARE,
            "wavespeed": WAVESPEED,
            "pixverse": "https://pixverse.example",
        },
        keys={"runware": KEY, "wavespeed": KEY, "pixverse": KEY},
        retry=FAST,
        allow_unpriced=True,
    )
    return execute(plan, settings, transport=providers.transport())


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/out.mp4", "points at a local or private address"),
        ("http://localhost/out.mp4", "points at a local or private address"),
        ("http://10.1.2.3/out.mp4", "points at a local or private address"),
        ("http://169.254.169.254/latest/meta-data", "points at a local or private address"),
        ("http://[::1]/out.mp4", "points at a local or private address"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("ftp://cdn.runware.example/out.mp4", "is not an http(s) URL"),
    ],
)
def test_an_output_url_outside_the_rule_is_not_fetched(url: str, why: str, tmp_path: Path) -> None:
    providers = Providers()
    providers.output_urls = [url]

    report = run(providers, QUICKSTART, tmp_path / "out")

    (job,) = report.jobs
    assert job.state == "downloading" and job.error is not None
    assert why in job.error and "it was not fetched" in job.error
    assert set(providers.hosts()) == {"api.runware.ai"}, "nothing went anywhere else"


def test_a_redirect_is_followed_when_each_hop_passes_the_rule(tmp_path: Path) -> None:
    providers = Providers()
    providers.output_urls = ["https://cdn.runware.example/signed?token=abc"]
    providers.routes["cdn.runware.example"] = lambda r: httpx.Response(
        302, headers={"Location": "https://mirror.runware.example/file.mp4"}
    )
    providers.routes["mirror.runware.example"] = lambda r: httpx.Response(200, content=VIDEO)

    report = run(providers, QUICKSTART, tmp_path / "out")

    assert report.ok, report.jobs[0].error
    assert Path(report.jobs[0].outputs[0].path or "").read_bytes() == VIDEO


def test_a_redirect_to_a_private_address_is_refused(tmp_path: Path) -> None:
    providers = Providers()
    providers.routes["cdn.runware.example"] = lambda r: httpx.Response(
        307, headers={"Location": "http://192.168.1.1/admin"}
    )

    report = run(providers, QUICKSTART, tmp_path / "out")

    (job,) = report.jobs
    assert job.error is not None and "http://192.168.1.1/admin points at a local" in job.error
    assert "192.168.1.1" not in providers.hosts()


WAVESPEED_RECIPE = REPO / "recipes" / "wavespeed.yaml"


def test_a_wavespeed_upload_ticket_pointing_at_a_private_address_gets_no_local_file(
    tmp_path: Path,
) -> None:
    providers = Providers()
    providers.ticket = {"url": "http://127.0.0.1:9000/steal", "method": "PUT", "headers": {}}

    report = run(providers, WAVESPEED_RECIPE, tmp_path / "out")

    (job,) = report.jobs
    assert job.state == "failed" and job.error is not None
    assert "upload URL http://127.0.0.1:9000/steal points at a local" in job.error
    assert "the local file was not sent" in job.error
    assert [r for r in providers.sent if r.method == "PUT"] == []


def test_a_wavespeed_upload_ticket_never_carries_the_key_to_another_host(tmp_path: Path) -> None:
    providers = Providers()
    providers.ticket = {
        "url": "https://storage.wavespeed.example/put/1",
        "method": "PUT",
        "headers": {"Authorization": f"Bearer {KEY}", "Content-Type": "video/mp4"},
    }

    report = run(providers, WAVESPEED_RECIPE, tmp_path / "out")

    assert report.ok, report.jobs[0].error
    puts = [r for r in providers.sent if r.method == "PUT"]
    assert len(puts) == 2, "both local files went to the storage host the ticket named"
    for put in puts:
        assert KEY not in str(put.headers) and put.headers["content-type"] == "video/mp4"
