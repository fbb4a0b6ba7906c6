"""A split lip sync run as a real process, killed with SIGKILL while its pieces are in flight
and while it joins them, then resumed: every piece is paid for once and the joined video is whole.

The mock runs in its own process with some processing time, so pieces are really at the
provider when the runner dies; its ``/_mock/jobs`` shows whether any piece was bought twice.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lipflow.longmedia.synthesis import INTERVIEW_SECONDS
from lipflow.media import probe
from tests.served_mock import env_for
from tests.served_mock import served_mock as serve

REPO = Path(__file__).parents[2]
LONG_INTERVIEW = REPO / "recipes" / "long_interview.yaml"
PYTHON = sys.executable
PIECES = 5

pytestmark = pytest.mark.slow


@pytest.fixture
def served_mock() -> Iterator[dict[str, str]]:
    with serve(0.5) as urls:
        yield urls


def lipflow_run(urls: dict[str, str], out: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "lipflow", "run", str(LONG_INTERVIEW), "--out", str(out), *extra]


def states(out: Path) -> dict[str, int]:
    try:
        with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db:
            return dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    except sqlite3.Error:
        return {}


def kill_when(urls: dict[str, str], out: Path, ready: Callable[[], bool], what: str) -> None:
    proc = subprocess.Popen(
        lipflow_run(urls, out, "--concurrency", "2"),
        env=env_for(urls),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        while not ready():
            assert proc.poll() is None, f"the run ended before {what}"
            assert time.monotonic() < deadline, f"never saw {what}"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)


def resume_and_check(urls: dict[str, str], out: Path) -> None:
    resumed = subprocess.run(
        lipflow_run(urls, out, "--resume", "--format", "json"),
        env=env_for(urls),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["counts"] == {"done": PIECES}
    assert report["assemblies"][0]["state"] == "done"
    jobs = httpx.get(urls["admin"] + "/jobs").json()["jobs"]
    assert len(jobs) == PIECES == len({j["id"] for j in jobs}), "each piece was bought once"
    joined = probe(out / "dub.mp4")
    assert abs(joined.duration_s - INTERVIEW_SECONDS) <= 0.2
    assert not list(out.glob("*.tmp")), "no half-written file is left under the out directory"


def test_killed_while_pieces_are_in_flight_resumes_piece_by_piece(
    served_mock: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"

    def some_done_some_in_flight() -> bool:
        s = states(out)
        return s.get("done", 0) >= 1 and s.get("submitted", 0) + s.get("submitting", 0) >= 1

    kill_when(served_mock, out, some_done_some_in_flight, "pieces in flight")
    assert states(out).get("done", 0) < PIECES, "killed mid-pieces"
    resume_and_check(served_mock, out)


def test_killed_while_joining_the_pieces_joins_them_on_resume_without_buying_any_again(
    served_mock: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    kill_when(
        served_mock, out, lambda: (out / "dub.mp4.tmp").exists(), "the joined file being written"
    )
    assert not (out / "dub.mp4").exists(), "killed mid-assembly"
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db:
        assert db.execute("SELECT state FROM assemblies").fetchall() == [("assembling",)]
    resume_and_check(served_mock, out)
