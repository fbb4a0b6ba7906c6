"""A media input the system cannot give lipflow (missing, a directory, a pipe, a path through a
file) is a file that cannot be read: exit 2 in validate, plan and run, as README's exit code
table says, placed at the input's line and column. A file lipflow reads and refuses (no audio
or video in it, the wrong kind) is an invalid input: exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.invoking import invoke

REPO = Path(__file__).parents[2]


def _recipe(folder: Path, video: str, audio: str) -> Path:
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        "version: 1\n"
        "inputs:\n"
        "  presenter:\n"
        f"    video: {video}\n"
        "  voice:\n"
        f"    audio: {audio}\n"
        "steps:\n"
        "  s:\n"
        "    lipsync: {video: presenter, audio: voice}\n"
    )
    return recipe


def _errors(command: str, out: str) -> list[dict[str, Any]]:
    """The errors of a JSON report: validate lists them as problems, plan as errors."""
    report = json.loads(out)
    found: list[dict[str, Any]] = report["problems" if command == "validate" else "errors"]
    return found


def _unreadable(folder: Path) -> dict[str, str]:
    """Paths the system refuses to read, each with what lipflow says of it."""
    (folder / "folder.mp4").mkdir()
    (folder / "a_file").write_text("not a folder")
    found = {
        str(folder / "missing.mp4"): "No such file or directory",
        str(folder / "folder.mp4"): "is a directory, not a media file",
        str(folder / "a_file" / "inside.mp4"): "Not a directory",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.mp4")  # nobody writes to it: reading would wait for ever
        found[str(folder / "pipe.mp4")] = "is a named pipe, not a media file"
    return found


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_video_input_that_cannot_be_read_exits_2_at_the_input(
    tmp_path: Path, command: str
) -> None:
    audio = str(REPO / "recipes" / "media" / "voice_en.wav")
    for video, says in _unreadable(tmp_path).items():
        recipe = _recipe(tmp_path, video, audio)
        code, out, err = invoke(command, "--format", "json", str(recipe))
        assert code == 2, (video, out, err)
        (problem,) = _errors(command, out)
        assert problem["code"] == "unreadable"
        assert (problem["file"], problem["line"], problem["column"]) == (str(recipe), 3, 3)
        assert problem["path"] == "$.inputs.presenter" and says in problem["message"]

        code, out, err = invoke(command, str(recipe))
        assert code == 2, (video, out, err)
        assert f"{recipe}:3:3: error at $.inputs.presenter: input 'presenter': " in out + err


def test_an_audio_input_that_cannot_be_read_stops_a_mock_run_with_exit_2(tmp_path: Path) -> None:
    video = str(REPO / "recipes" / "media" / "presenter.mp4")
    recipe = _recipe(tmp_path, video, str(tmp_path / "missing.wav"))
    code, out, err = invoke("run", str(recipe), "--mock", "--out", str(tmp_path / "out"))
    assert code == 2, (out, err)
    assert f"{recipe}:5:3: error at $.inputs.voice: input 'voice': cannot read" in out + err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_media_input_that_is_read_and_refused_is_an_invalid_input(
    tmp_path: Path, command: str
) -> None:
    """Bytes lipflow read but that are no audio or video (a text file, a file cut short), or
    the wrong kind of media, are the recipe's problem to fix: exit 1, as for any invalid input."""
    (tmp_path / "notes.mp4").write_text("these are meeting notes, not a video\n")
    audio = str(REPO / "recipes" / "media" / "voice_en.wav")
    for video, says in (
        (str(tmp_path / "notes.mp4"), "not a readable audio or video file"),
        (audio, "is declared as video, but"),
    ):
        code, out, err = invoke(command, "--format", "json", str(_recipe(tmp_path, video, audio)))
        assert code == 1, (video, out, err)
        problems = _errors(command, out)
        assert any(says in p["message"] and p["code"] == "media" for p in problems), problems
