"""A disk that stops taking bytes at any point of a run: exit 6 with what to do, never a traceback.

Each run is a real `lipflow run --mock` process whose files may not grow past a limit
(``RLIMIT_FSIZE``, what a full disk or a quota does to one process, without privileges). Wherever
the limit falls (creating the journal, writing a fact, saving the output) the run stops with exit 6
and says to free some space; a run after it, with room again, finishes the job.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
QUICKSTART = REPO / "recipes" / "quickstart.yaml"

pytestmark = pytest.mark.slow


def run(out: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit_file_size() -> None:
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    # Coverage (when CI measures subprocesses) would write its data under the same limit and
    # fail at exit with a traceback of its own: this child is not measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    return subprocess.run(
        [sys.executable, "-m", "lipflow", "run", str(QUICKSTART), "--mock", "--out", str(out)],
        preexec_fn=limit_file_size,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("limit_kb", [0, 48, 100, 104, 108])
def test_a_run_that_cannot_write_stops_with_exit_6_and_finishes_once_there_is_room(
    tmp_path: Path, limit_kb: int
) -> None:
    out = tmp_path / "out"

    limited = run(out, limit_kb * 1024)

    assert limited.returncode in (0, 6), limited.stderr
    assert "Traceback" not in limited.stderr and "internal error" not in limited.stderr
    if limited.returncode == 6:
        assert "free some space" in limited.stderr
        assert "damaged" not in limited.stderr  # a file lipflow could not write is not damaged
    again = run(out)
    assert again.returncode == 0, again.stderr
    assert (out / "hello.mp4").stat().st_size > 0


def test_a_journal_that_cannot_be_created_is_said_so_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"

    limited = run(out, 16 * 1024)

    assert limited.returncode == 6
    assert "cannot create the run journal" in limited.stderr
    assert "Nothing was sent" in limited.stderr
    assert not [p.name for p in out.iterdir() if p.name.startswith(".lipflow-journal")]
