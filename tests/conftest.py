"""Every test gets its own output store: a run never finds outputs another test (or the user's
own runs) paid for, unless the test means it to.

Property tests have no deadline: Hypothesis's default (200 ms an example) is a timed assertion,
and a loaded CI machine fails it on examples that are merely slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("lipflow", deadline=None)
settings.load_profile("lipflow")


@pytest.fixture(autouse=True)
def _own_output_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    store = tmp_path_factory.mktemp("output-store")
    monkeypatch.setenv("LIPFLOW_CACHE_DIR", str(store))
    return store
