"""On a terminal `lipflow run` redraws one status line in place; in a pipe it writes log lines."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_terminal_gets_a_live_status_line(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lipflow",
            "run",
            str(REPO / "recipes" / "dub_matrix.yaml"),
            "--mock",
            "--out",
            str(tmp_path / "out"),
            "--concurrency",
            "4",
        ],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    screen = read_all(master).decode("utf-8", "replace")
    os.close(master)
    assert proc.wait(timeout=120) == 0, screen
    assert "\r\x1b[K" in screen, "the status line is redrawn in place"
    assert "36/36 done, 0 running, 0 queued, 0 failed, 0 ambiguous" in screen
    assert "submitting  dub[" not in screen, "no per-state log lines on a terminal"


def test_a_pipe_gets_plain_log_lines(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lipflow",
            "run",
            str(REPO / "recipes" / "quickstart.yaml"),
            "--mock",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stderr + proc.stdout
    assert " submitting  hello" in proc.stderr and " done        hello" in proc.stderr
