"""On a terminal `lipflow run` asks before submitting (Ctrl-C there is an interrupt, 130; the
input ending there is exit 2, nothing submitted) and redraws one status line in place; in a pipe
it writes log lines."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from mock_server import MockServer

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


def on_a_terminal(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """``lipflow run ARGS`` with its stderr (and stdout) on a pseudo-terminal: exit code, screen."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lipflow", "run", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env=env,
    )
    os.close(slave)
    screen = read_all(master).decode("utf-8", "replace")
    os.close(master)
    return proc.wait(timeout=120), screen


def test_a_terminal_gets_a_live_status_line(tmp_path: Path) -> None:
    recipe = REPO / "recipes" / "dub_matrix.yaml"
    code, screen = on_a_terminal(
        [str(recipe), "--mock", "--out", str(tmp_path / "out"), "--concurrency=4"]
    )
    assert code == 0, screen
    assert "\r\x1b[K" in screen, "the status line is redrawn in place"
    assert "36/36 done, 0 running, 0 queued, 0 failed, 0 ambiguous" in screen
    assert "submitting  dub[" not in screen, "no per-state log lines on a terminal"


def test_the_last_status_line_counts_every_outcome_of_a_run_with_failures(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    lipflow_mock.add_fault("moderation", provider="pixverse", op="submit", count=1)
    env = {
        **os.environ,
        "LIPFLOW_PIXVERSE_URL": lipflow_mock.urls.pixverse,
        "PIXVERSE_API_KEY": "k",
        "LIPFLOW_CACHE_DIR": str(tmp_path / "store"),
    }
    recipe = REPO / "recipes" / "pixverse_platform.yaml"

    code, screen = on_a_terminal([str(recipe), "--out", str(tmp_path / "out")], env)

    assert code == 4, screen
    assert "\r\x1b[Kfailed: " in screen, "a failure is printed above the status line as it happens"
    last = screen.rsplit("\r\x1b[K", 1)[-1].splitlines()[0]
    assert last.startswith("1/2 done, 0 running, 0 queued, 1 failed, 0 ambiguous;"), screen


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


def answering_the_prompt(args: list[str], env: dict[str, str], keys: bytes) -> tuple[int, str]:
    """``lipflow run ARGS`` with a pseudo-terminal as its controlling terminal, typed ``keys``
    once it asks whether to submit, as a user at the terminal does: exit code, screen."""
    master, slave = pty.openpty()

    def on_the_terminal() -> None:  # its own session, the pty its terminal: Ctrl-C is SIGINT
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "lipflow", "run", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**os.environ, **env},
        preexec_fn=on_the_terminal,
    )
    os.close(slave)
    screen = b""
    while b"[y/N]: " not in screen:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: it ended without asking
            break
        if not chunk:
            break
        screen += chunk
    else:
        os.write(master, keys)
    screen += read_all(master)
    os.close(master)
    return proc.wait(timeout=120), screen.decode("utf-8", "replace")


QUICKSTART = str(REPO / "recipes" / "quickstart.yaml")


@pytest.mark.parametrize(
    ("keys", "code", "said"),
    [
        pytest.param(b"\x03", 130, "interrupted", id="ctrl-c-is-an-interrupt"),
        pytest.param(
            b"\x04",
            2,
            "the input ended, so nothing was submitted; pass --yes to submit without being asked",
            id="ctrl-d-ends-the-input",
        ),
        pytest.param(
            b"n\n", 1, "not submitted: you answered no, so nothing was sent", id="no-is-an-answer"
        ),
    ],
)
def test_the_prompt_left_unanswered_submits_nothing_and_says_why(
    lipflow_mock: MockServer,
    live_env: dict[str, str],
    tmp_path: Path,
    keys: bytes,
    code: int,
    said: str,
) -> None:
    exit_code, screen = answering_the_prompt(
        [QUICKSTART, "--out", str(tmp_path / "out")], live_env, keys
    )

    assert exit_code == code, screen
    assert screen.rstrip().endswith(said), screen
    assert "Aborted!" not in screen
    assert lipflow_mock.simulator.jobs() == []


def test_yes_at_the_prompt_submits(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    code, screen = answering_the_prompt(
        [QUICKSTART, "--out", str(tmp_path / "out")], live_env, b"y\n"
    )

    assert code == 0, screen
    assert len(lipflow_mock.simulator.jobs()) >= 1
