"""``lipflow mock serve`` and ``python -m mock_server`` in a real subprocess, stopped by signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lipflow.cli import cli

LIPFLOW = Path(sys.executable).with_name("lipflow")


def _start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "sig"),
    [
        pytest.param([str(LIPFLOW), "mock", "serve"], signal.SIGTERM, id="lipflow-SIGTERM"),
        pytest.param([sys.executable, "-m", "mock_server"], signal.SIGINT, id="python-m-SIGINT"),
    ],
)
def test_serve_prints_the_urls_as_json_then_stops_on_a_signal(
    argv: list[str], sig: signal.Signals
) -> None:
    process = _start(*argv, "--port", "0", "--print-urls", "json", "--api-key", "secret-key")
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        assert set(urls) >= {"runware", "runware_ws", "pixverse", "wavespeed", "admin"}
        assert urls["pixverse"].endswith("/openapi/v2")
        assert urls["wavespeed"].endswith("/api/v3") and urls["runware"].endswith("/v1")
        assert urls["runware_ws"].startswith("ws://127.0.0.1:")

        tts = urls["pixverse"] + "/video/lip_sync/tts_list"
        wrong = httpx.get(tts, headers={"API-KEY": "other", "Ai-Trace-Id": "t"}).json()
        right = httpx.get(tts, headers={"API-KEY": "secret-key", "Ai-Trace-Id": "t"}).json()
        assert (wrong["ErrCode"], right["ErrCode"]) == (10005, 0)
        assert len(httpx.get(urls["admin"] + "/requests").json()["requests"]) == 2
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "secret-key" not in out + err


def test_a_port_in_use_is_a_usage_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["mock", "serve", "--port", str(port)])
    assert result.exit_code == 2
    assert "cannot listen" in result.output


def test_serve_help_names_every_option() -> None:
    result = CliRunner().invoke(cli, ["mock", "serve", "--help"])
    for option in (
        "--host",
        "--port",
        "--processing-seconds",
        "--seed",
        "--api-key",
        "--print-urls",
    ):
        assert option in result.output
