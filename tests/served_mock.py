"""`lipflow mock serve` in its own process, and the environment that points `lipflow run` at it:
the end-to-end tests that kill and resume real runs share these."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served_mock(processing_seconds: float) -> Iterator[dict[str, str]]:
    """The mock's URLs while it serves, jobs taking ``processing_seconds``; stopped after."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "lipflow", "mock", "serve"),
            *("--processing-seconds", str(processing_seconds), "--print-urls", "json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def env_for(urls: dict[str, str]) -> dict[str, str]:
    """This environment with every provider's base URL at the mock and a key for each."""
    return {
        **os.environ,
        "LIPFLOW_RUNWARE_URL": urls["runware"],
        "LIPFLOW_PIXVERSE_URL": urls["pixverse"],
        "LIPFLOW_WAVESPEED_URL": urls["wavespeed"],
        "RUNWARE_API_KEY": "k",
        "PIXVERSE_API_KEY": "k",
        "WAVESPEED_API_KEY": "k",
    }
