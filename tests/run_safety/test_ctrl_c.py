"""After the first Ctrl-C nothing new is sent (issue 8, item 5): not from a 429's Retry-After wait
already scheduled, not from a job that was waiting for a free slot. A real ``lipflow run``
process against ``lipflow mock serve``."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lipflow.run.journal import JOURNAL_NAME
from tests.cli.test_run_subprocess import DUB, PYTHON, served_mock
from tests.served_mock import env_for

__all__ = ["served_mock"]  # the fixture, imported for this module's tests

pytestmark = pytest.mark.slow


def submits(urls: dict[str, str]) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = httpx.get(
        urls["admin"] + "/requests", params={"op": "submit"}
    ).json()["requests"]
    return requests


def waiting_out_retry_after(journal: Path) -> bool:
    """The run's journal (read only: this never folds its -wal) notes a Retry-After wait."""
    if not journal.exists():
        return False
    try:
        with closing(sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True)) as db:
            found = db.execute(
                "SELECT 1 FROM events WHERE detail LIKE '%Retry-After%' LIMIT 1"
            ).fetchone()
    except sqlite3.Error:  # not created whole yet
        return False
    return found is not None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_a_retry_after_wait_sends_no_submit(
    served_mock: dict[str, str], tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGTERM (docker stop, a cancelled CI job) is a Ctrl-C: settled, and the resume said."""
    httpx.post(
        served_mock["admin"] + "/faults",
        json={"action": "rate_limit", "op": "submit", "seconds": 60},
    ).raise_for_status()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [PYTHON, "-m", "lipflow", "run", str(DUB), "--out", str(out), "--concurrency", "1"],
        env=env_for(served_mock),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    # The run journals its wait before it starts waiting: only then is it waiting out the 60 s.
    while not waiting_out_retry_after(out / JOURNAL_NAME):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never waited"
        time.sleep(0.02)

    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert len(submits(served_mock)) == 1, "neither the waiting job nor a queued one sent a submit"
    assert "--resume" in err
