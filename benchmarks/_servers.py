"""What the benchmarks with a server share: the server in its own process, its command line,
and the Runware lip-sync submit every client sends."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["VIDEO", "arguments", "runware_submit", "server"]

VIDEO = "https://example.com/presenter.mp4"  # a URL: nothing to upload, for every client alike


@contextmanager
def server(*command: str) -> Iterator[tuple[int, dict[str, str]]]:
    """A server process (its pid and the URLs it prints as one JSON line); stopped after."""
    proc = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        assert proc.stdout is not None
        yield proc.pid, json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def arguments(
    doc: str, serve: Callable[[], None], *, jobs: int, concurrency: int
) -> argparse.Namespace | None:
    """The benchmark's options (--jobs, --concurrency, --rounds); None when this process was
    started to be the bare server (``--serve-bare``), which then served until killed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=jobs)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve()
        return None
    return args


def runware_submit(n: int, task_uuid: str) -> dict[str, Any]:
    """Job ``n``'s Runware TTS lip-sync task, as lipflow's runner sends it."""
    return {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "pixverse:lipsync@1",
        "deliveryMethod": "async",
        "includeCost": True,
        "speech": {"text": f"Line {n} of the benchmark.", "voice": "Sophia"},
        "inputs": {"referenceVideos": [VIDEO]},
    }
