"""Every test gets its own output store: a run never finds outputs another test (or the user's
own runs) paid for, unless the test means it to."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_output_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    store = tmp_path_factory.mktemp("output-store")
    monkeypatch.setenv("LIPFLOW_CACHE_DIR", str(store))
    return store
