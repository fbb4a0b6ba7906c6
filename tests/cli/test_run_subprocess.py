"""`lipflow run` as real processes: killed with SIGKILL or stopped with Ctrl-C mid-run, then resumed.

The mock runs in its own process (`lipflow mock serve`) with some processing time, so jobs are
really in flight at the provider when the runner dies; the mock's `/_mock/jobs` then shows
whether any job was paid for twice.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lipflow.media import probe
from tests.served_mock import env_for
from tests.served_mock import served_mock as serve

REPO = Path(__file__).parents[2]
DUB = REPO / "recipes" / "dub_matrix.yaml"
PYTHON = sys.executable

pytestmark = pytest.mark.slow


@pytest.fixture
def served_mock() -> Iterator[dict[str, str]]:
    with serve(0.4) as urls:
        yield urls


def start_run(urls: dict[str, str], out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "lipflow", "run", str(DUB), "--out", str(out), "--concurrency", "6", *extra],
        env=env_for(urls),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_some_jobs_are_in_flight(out: Path, proc: subprocess.Popen[str]) -> None:
    """Until the journal shows jobs done and jobs still at the provider."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        try:
            # Read-only: a read-write connect would create an empty journal file for the run.
            uri = f"file:{out / 'lipflow-journal.sqlite'}?mode=ro"
            with closing(sqlite3.connect(uri, uri=True)) as db:
                states = dict(
                    db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
                )
        except sqlite3.Error:
            states = {}
        if (
            states.get("done", 0) >= 3
            and states.get("submitted", 0) + states.get("submitting", 0) >= 1
        ):
            return
        time.sleep(0.02)
    raise AssertionError("no job was in flight within 30 s")


def provider_jobs(urls: dict[str, str]) -> list[dict[str, object]]:
    jobs: list[dict[str, object]] = httpx.get(urls["admin"] + "/jobs").json()["jobs"]
    return jobs


def assert_every_job_once_and_on_disk(urls: dict[str, str], out: Path) -> None:
    jobs = provider_jobs(urls)
    task_uuids = [j["id"] for j in jobs]
    assert len(jobs) == 36 and len(set(task_uuids)) == 36, (
        "exactly one provider job per planned job"
    )
    videos = sorted(out.glob("*.mp4"))
    assert len(videos) == 36
    for video in videos:
        assert probe(video).kind == "video"
    assert not list(out.glob(".*.part")), "no temporary file is left behind"


def resume(urls: dict[str, str], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "lipflow", "run", str(DUB), "--out", str(out), "--resume", *extra],
        env=env_for(urls),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_run_killed_with_sigkill_resumes_without_paying_twice(
    served_mock: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = start_run(served_mock, out)
    wait_until_some_jobs_are_in_flight(out, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert len(provider_jobs(served_mock)) < 36, "killed mid-run"

    resumed = resume(served_mock, out, "--format", "json")

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["counts"] == {"done": 36}
    assert_every_job_once_and_on_disk(served_mock, out)


def test_ctrl_c_stops_submitting_settles_and_says_how_to_resume(
    served_mock: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = start_run(served_mock, out)
    wait_until_some_jobs_are_in_flight(out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert f"--out {out} --concurrency 6 --resume" in err, "the hint keeps the run's options"
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db:
        states = {s for (s,) in db.execute("SELECT DISTINCT state FROM jobs")}
    assert "submitting" not in states, "no submit is left half-written"

    resumed = resume(served_mock, out)
    assert resumed.returncode == 0, resumed.stderr
    assert_every_job_once_and_on_disk(served_mock, out)


def test_quickstart_with_mock_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "lipflow",
            "run",
            str(REPO / "recipes" / "quickstart.yaml"),
            "--mock",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert probe(tmp_path / "hello.mp4").kind == "video"
    assert "1 job(s): 1 done" in done.stdout
