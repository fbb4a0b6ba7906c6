"""`lipflow plan --out FILE` saves the plan by renaming a new file into place, so whatever the
name held is gone: it refuses the recipe itself and its input files (by any name: a symlink, a
hard link, another spelling of the path), and anything that is not a regular file (a directory,
pipe, socket or device). A symlink is followed: its target is replaced and the link is kept."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lipflow.cli import cli

MEDIA = Path(__file__).parents[2] / "recipes" / "media"

RECIPE = """\
version: 1
name: out-file
inputs:
  presenter: {video: media/presenter.mp4}
  es: {lines: media/es.srt, language: es}
steps:
  hello:
    lipsync:
      video: presenter
      tts: {text: "Hello there.", voice: Sophia}
"""

SRT = "1\n00:00:00,500 --> 00:00:02,000\nHola.\n"


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recipe with a local video and a local subtitle file, in the working directory."""
    (tmp_path / "media").mkdir()
    shutil.copy(MEDIA / "presenter.mp4", tmp_path / "media" / "presenter.mp4")
    (tmp_path / "media" / "es.srt").write_text(SRT, encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


def plan_out(recipe: Path, out: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", str(recipe), "--out", out, *args])


def _contents(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("out", "what"),
    [
        ("r.yaml", "is the recipe"),
        ("./media/../r.yaml", "is the recipe"),
        ("recipe-link.yaml", "is the recipe"),
        ("recipe-hardlink.yaml", "is the recipe"),
        ("media/presenter.mp4", "is the file of input 'presenter'"),
        ("media/es.srt", "is the file of input 'es'"),
    ],
)
def test_the_recipe_and_its_input_files_are_never_replaced_by_the_plan(
    recipe: Path, out: str, what: str
) -> None:
    os.symlink("r.yaml", "recipe-link.yaml")
    os.link("r.yaml", "recipe-hardlink.yaml")
    before = _contents(recipe.parent)

    result = plan_out(recipe, out)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{out}: error: {what}")
    assert "--out would replace it with the plan; name another file" in result.stderr
    assert _contents(recipe.parent) == before
    assert os.path.islink("recipe-link.yaml")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_directory_pipe_socket_or_device_is_refused_and_left_as_it_is(recipe: Path) -> None:
    os.mkfifo("pipe.json")
    os.mkdir("folder.json")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind("socket.json")
    kinds = {
        "pipe.json": ("a named pipe", stat.S_ISFIFO),
        "folder.json": ("a directory", stat.S_ISDIR),
        "socket.json": ("a socket", stat.S_ISSOCK),
    }
    try:
        os.mknod("null.json", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
        kinds["null.json"] = ("a character device", stat.S_ISCHR)
    except PermissionError:
        pass  # not root: the device is not tried

    try:
        for out, (kind, still) in kinds.items():
            result = plan_out(recipe, out)
            assert result.exit_code == 2, result.output
            assert result.stderr.startswith(f"{out}: error: is {kind}, not a regular file")
            assert still(os.lstat(out).st_mode), out
    finally:
        listening.close()


def test_a_previous_plan_is_replaced_and_through_a_symlink_its_target_is(recipe: Path) -> None:
    Path("plans").mkdir()
    Path("plans/old.json").write_text('{"lipflow_plan": 1, "jobs": []}\n', encoding="utf-8")
    os.symlink("plans/old.json", "plan.json")
    os.symlink("plans/new.json", "dangling.json")

    assert plan_out(recipe, "plan.json").exit_code == 0
    assert plan_out(recipe, "dangling.json").exit_code == 0

    for link, target in (("plan.json", "plans/old.json"), ("dangling.json", "plans/new.json")):
        assert os.readlink(link) == target
        saved = json.loads(Path(target).read_text(encoding="utf-8"))
        assert [job["id"] for job in saved["jobs"]] == ["hello"]
    assert sorted(os.listdir("plans")) == ["new.json", "old.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("", "error: --out needs a file name, not an empty string"),
        ("-", "error: --out saves to a file, not to stdout (-)"),
    ],
)
def test_an_empty_out_or_a_dash_is_a_usage_error(recipe: Path, out: str, message: str) -> None:
    result = plan_out(recipe, out)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message)
    assert not os.path.lexists("-")


def test_out_with_lines_is_a_usage_error_not_ignored(recipe: Path) -> None:
    result = plan_out(recipe, "lines.csv", "--lines", "--format", "csv")
    assert result.exit_code == 2, result.output
    assert "--out saves the plan; --lines prints the line table on stdout" in result.stderr
    assert not os.path.lexists("lines.csv")
