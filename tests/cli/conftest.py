"""Fixtures of the CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mock_server import MockServer
from tests.cli.invoking import invoke

REPO = Path(__file__).parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder whose ``media/`` is the bundled recipes' media."""
    (tmp_path / "media").symlink_to(REPO / "recipes" / "media")
    return tmp_path


@pytest.fixture
def saved_plan(tmp_path: Path) -> Path:
    """``plan.json``, the quickstart recipe's plan as `lipflow plan --out` saves it, beside a
    copy of the bundled recipes (``recipes/quickstart.yaml`` is the recipe it names)."""
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    plan = tmp_path / "plan.json"
    code, _, err = invoke("plan", str(tmp_path / "recipes" / "quickstart.yaml"), "--out", str(plan))
    assert code == 0, err
    return plan


@pytest.fixture
def live_env(lipflow_mock: MockServer) -> dict[str, str]:
    """The environment that points lipflow at the mock as if it were the real providers."""
    return {
        "LIPFLOW_RUNWARE_URL": lipflow_mock.urls.runware,
        "LIPFLOW_PIXVERSE_URL": lipflow_mock.urls.pixverse,
        "LIPFLOW_WAVESPEED_URL": lipflow_mock.urls.wavespeed,
        "RUNWARE_API_KEY": "k",
        "PIXVERSE_API_KEY": "k",
        "WAVESPEED_API_KEY": "k",
    }
