"""``lipflow run`` sends with aiohttp directly, except where the environment names a proxy: then
every request goes through it, under httpx's proxy rules (``HTTP_PROXY``, ``NO_PROXY``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipflow.plan import plan_file
from lipflow.run.runner import execute
from lipflow.run.settings import RunSettings
from mock_server import MockServer
from tests.runner.conftest import FAST, RECIPES, closed_port, keys_for_all, urls_of


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment whose only proxy setting is ``HTTP_PROXY``, at a port nobody listens on."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    return monkeypatch


def run(mock: MockServer, out: Path) -> list[tuple[str | None, str | None]]:
    """Run the quickstart against the mock: each job's error class and its provider's words."""
    plan = plan_file(str(RECIPES / "quickstart.yaml"), env={})
    settings = RunSettings(
        out_dir=out,
        base_urls=urls_of(mock),
        keys=keys_for_all(),
        retry=FAST,
        allow_unpriced=True,
    )
    report = execute(plan, settings)
    return [(j.error_class, j.error and ": ".join(j.error.split(": ", 2)[:2])) for j in report.jobs]


def test_a_proxy_the_environment_names_carries_every_request_of_lipflow_run(
    mock: MockServer, tmp_path: Path, proxy: pytest.MonkeyPatch
) -> None:
    jobs = run(mock, tmp_path / "out")

    assert jobs and set(jobs) == {("unavailable", "runware: request not sent")}
    assert mock.simulator.journal.records() == [], "nothing reached the provider directly"


def test_a_host_the_environment_exempts_from_the_proxy_is_reached_directly(
    mock: MockServer, tmp_path: Path, proxy: pytest.MonkeyPatch
) -> None:
    proxy.setenv("NO_PROXY", "127.0.0.1,localhost")

    jobs = run(mock, tmp_path / "out")

    assert jobs and set(jobs) == {(None, None)}
