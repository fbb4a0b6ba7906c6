"""A provider that signs its output links with the user's API key (``?token=<key>``) never gets
the key kept or shown: the journal keeps the link with the key masked, the report and the
streams show it masked, and a resume fetches the journaled link with the key put back from the
environment, asking the provider nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.secrets import encoded_forms
from mock_server import MockServer
from tests.cli.test_run_subprocess import PYTHON
from tests.runner.conftest import RECIPES

KEY = "sk_live_Abc123SignsLinks987"
DOWNLOAD_LATENCY_S = 3.0  # the download is held at the mock this long: the run is killed meanwhile
RECIPE_OF = {
    "runware": "quickstart.yaml",
    "pixverse": "pixverse_platform.yaml",
    "wavespeed": "wavespeed.yaml",
}


@pytest.fixture
def signing_mock() -> Iterator[MockServer]:
    """A mock taking only ``KEY``, whose every job's output link carries it as its token."""
    with MockServer(api_key=KEY) as mock:
        mock.add_fault("key_in_url")
        yield mock


def env_of(mock: MockServer) -> dict[str, str]:
    return {
        **{f"LIPFLOW_{name.upper()}_URL": mock.urls[name] for name in RECIPE_OF},
        **{f"{name.upper()}_API_KEY": KEY for name in RECIPE_OF},
    }


def held_key_forms(text: bytes) -> list[str]:
    """The forms of ``KEY`` (raw, percent-encoded, JSON, base64...) found in ``text``."""
    return [form for form in encoded_forms(KEY) if len(form) >= 4 and form.encode() in text]


def files_holding_the_key(folder: Path) -> dict[str, list[str]]:
    """Every file under ``folder`` (the journal, its WAL, the outputs) holding a form of the key."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and (forms := held_key_forms(path.read_bytes())):
            found[path.name] = forms
    return found


@pytest.mark.parametrize("provider", sorted(RECIPE_OF))
def test_an_output_link_signed_with_the_key_is_downloaded_and_the_key_kept_nowhere(
    signing_mock: MockServer, tmp_path: Path, provider: str
) -> None:
    out = tmp_path / "out"
    recipe = str(RECIPES / RECIPE_OF[provider])
    result = CliRunner().invoke(
        cli,
        ["run", recipe, "--out", str(out), "--yes", "--format", "json"],
        env=env_of(signing_mock),
    )

    assert result.exit_code == 0, result.output
    assert list(out.glob("*.mp4")), "the signed link was fetched"
    assert "?token=***" in result.stdout
    assert held_key_forms(result.stdout.encode()) == []
    assert held_key_forms(result.stderr.encode()) == []
    assert files_holding_the_key(tmp_path) == {}


def test_a_run_killed_before_its_download_resumes_with_the_link_signed_again_from_the_env(
    signing_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["run", str(RECIPES / "quickstart.yaml"), "--out", str(out), "--yes"]
    signing_mock.add_fault("latency", op="download", seconds=DOWNLOAD_LATENCY_S, count=1)
    proc = subprocess.Popen(
        [PYTHON, "-m", "lipflow", *args],
        env={**os.environ, **env_of(signing_mock)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not signing_mock.simulator.journal.records(op="download"):
            assert proc.poll() is None and time.monotonic() < deadline, "no download was asked"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        stdout, stderr = proc.communicate(timeout=30)
    assert held_key_forms(stdout + stderr) == []
    assert files_holding_the_key(tmp_path) == {}, "the journal and its WAL, as the kill left them"
    polls = len(signing_mock.simulator.journal.records(op="poll"))

    again = CliRunner().invoke(cli, [*args, "--resume"], env=env_of(signing_mock))

    assert again.exit_code == 0, again.output
    assert list(out.glob("*.mp4")), "the journaled link was fetched"
    assert len(signing_mock.simulator.journal.records(op="poll")) == polls, "no fresh link asked"
    assert len(signing_mock.simulator.journal.records(op="submit")) == 1, "not bought again"
    assert held_key_forms(again.output.encode()) == []
    assert files_holding_the_key(tmp_path) == {}


def test_an_upload_link_signed_with_the_key_is_sent_signed_again_by_a_resume(
    signing_mock: MockServer, tmp_path: Path
) -> None:
    """WaveSpeed's submit names the upload by its link: a resume submitting a job whose upload
    is journaled sends that link with the key put back, never the masked one (the mock refuses
    a link without its signature)."""
    out = tmp_path / "out"
    args = ["run", str(RECIPES / "wavespeed.yaml"), "--out", str(out), "--yes"]
    signing_mock.add_fault("server_error", provider="wavespeed", op="submit")
    first = CliRunner().invoke(cli, args, env=env_of(signing_mock))
    assert first.exit_code != 0 and not list(out.glob("*.mp4")), first.output
    uploads = len(signing_mock.simulator.journal.records(op="upload"))
    assert uploads >= 1
    signing_mock.simulator.faults.clear()
    signing_mock.add_fault("key_in_url")  # the submits go through now

    resume = [*args, "--resume", "--resubmit-ambiguous"]  # the 503 made no job: sent again
    again = CliRunner().invoke(cli, resume, env=env_of(signing_mock))

    assert again.exit_code == 0, again.output
    assert len(signing_mock.simulator.journal.records(op="upload")) == uploads, "not uploaded again"
    assert list(out.glob("*.mp4"))
    assert files_holding_the_key(tmp_path) == {}


OTHER_KEY = "sk_other_Provider456NeverSees"
CHAINS = [("runware", "wavespeed"), ("wavespeed", "pixverse"), ("pixverse", "runware")]


def chained_recipe(folder: Path, first: str, second: str) -> Path:
    """``first`` lip-syncs the presenter; ``second`` lip-syncs ``first``'s output again."""
    media = RECIPES / "media"
    recipe = folder / "chained.yaml"
    recipe.write_text(
        f"""version: 1
name: chained
inputs:
  presenter: {{video: {media / "presenter.mp4"}}}
  voice_en: {{audio: {media / "voice_en.wav"}}}
steps:
  first:
    provider: {first}
    lipsync: {{video: presenter, audio: voice_en}}
  second:
    provider: {second}
    lipsync: {{video: steps.first, audio: voice_en}}
"""
    )
    return recipe


@pytest.mark.parametrize(("first", "second"), CHAINS)
def test_an_output_link_signed_with_one_providers_key_never_reaches_another_provider(
    signing_mock: MockServer, tmp_path: Path, first: str, second: str
) -> None:
    """The first provider signs its output link with its key; the second step takes that output
    as its video. The second provider (its own mock, its own key) gets the downloaded file
    uploaded as it takes a local file, never the link: no request it receives names the first
    provider's host, signed or not."""
    recipe = chained_recipe(tmp_path, first, second)
    out = tmp_path / "out"
    with MockServer() as other:
        env = {
            **{f"LIPFLOW_{name.upper()}_URL": other.urls[name] for name in RECIPE_OF},
            **{f"{name.upper()}_API_KEY": OTHER_KEY for name in RECIPE_OF},
            f"LIPFLOW_{first.upper()}_URL": signing_mock.urls[first],
            f"{first.upper()}_API_KEY": KEY,
        }
        planned = CliRunner().invoke(cli, ["plan", str(recipe)], env=env)
        result = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(out), "--yes"], env=env)
        received = httpx.get(other.urls.admin + "/requests").text
        uploads = other.simulator.journal.records(op="upload")

    assert planned.exit_code == 0, planned.output
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.mp4"))) == 2
    assert signing_mock.simulator.base_url not in received, "the signed link was sent"
    assert "token" not in received
    assert uploads, "the first step's output was uploaded to the second provider"
    assert held_key_forms((planned.output + result.output).encode()) == []
    assert files_holding_the_key(tmp_path) == {}
