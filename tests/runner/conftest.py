"""Fixtures for the runner's tests: a reset mock on real sockets and a helper that runs a recipe.

``run_recipe`` is the runner as a library user drives it: plan a recipe, build the settings,
inject the HTTP layer ``lipflow run`` sends through (aiohttp, directly) and run, with every
provider pointed at the mock. Waits are injected too (``sleeps`` records them and only yields), so retry and backoff tests take no time
while every request still crosses a socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lipflow.plan import plan_file
from lipflow.providers import registry
from lipflow.run.report import RunReport
from lipflow.run.retry import RetryPolicy
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from lipflow.run.transport import AiohttpSender
from mock_server import MockServer

REPO = Path(__file__).parents[2]
RECIPES = REPO / "recipes"
KEY = "test-key-not-secret"
FAST = RetryPolicy(backoff_first=0.0, capacity_wait=0.0, poll_next=0.01, poll_cap=0.05)


def urls_of(mock: MockServer) -> dict[str, str]:
    """Every registered provider's base URL at the mock."""
    return {name: mock.urls[name] for name in registry.names()}


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keys_for_all(key: str = KEY) -> dict[str, str]:
    return dict.fromkeys(registry.names(), key)


@dataclass
class Sleeps:
    """An injected ``sleep`` that records each wait and only yields to the event loop."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def mock(lipflow_mock: MockServer) -> MockServer:
    return lipflow_mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


RunRecipe = Callable[..., RunReport]


@pytest.fixture
def run_recipe(mock: MockServer, tmp_path: Path, sleeps: Sleeps) -> RunRecipe:
    """Run ``recipes/<name>.yaml`` (or a path) against the mock into ``tmp_path/out``."""

    def run(recipe: str | Path, **options: Any) -> RunReport:
        path = recipe if isinstance(recipe, Path) else RECIPES / f"{recipe}.yaml"
        plan = plan_file(str(path), env={})
        sleep = sleeps if options.pop("fake_sleep", True) else None
        client = options.pop("client", AiohttpSender)
        settings = RunSettings(
            out_dir=options.pop("out_dir", tmp_path / "out"),
            base_urls=options.pop("base_urls", urls_of(mock)),
            keys=options.pop("keys", keys_for_all()),
            retry=options.pop("retry", FAST),
            allow_unpriced=options.pop("allow_unpriced", True),
            **options,
        )

        async def main() -> RunReport:
            async with client() as http:
                return await Runner(plan, settings, http, sleep=sleep).run()

        return asyncio.run(main())

    return run


def jobs_at(mock: MockServer, provider: str | None = None) -> list[Any]:
    return mock.simulator.jobs(provider)
