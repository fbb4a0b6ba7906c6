"""An output file changed since lipflow saved it (edited in place, re-encoded, replaced) is the
user's work: a resume that fetches the output again first moves that file aside, as
``<name>.edited-<UTC time>.<ext>``, and says so. Nothing is bought again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer
from tests.runner.conftest import RECIPES


def run(out: Path, env: dict[str, str], *more: str) -> tuple[int, str]:
    args = ["run", str(RECIPES / "quickstart.yaml"), "--out", str(out), "--yes", *more]
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda data: data + b"a user's appended bytes", id="appended"),
        pytest.param(lambda data: bytes(len(data)), id="same size, other bytes"),
    ],
)
def test_an_output_changed_since_it_was_saved_is_kept_aside_and_fetched_again(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path, edit: object
) -> None:
    out = tmp_path / "out"
    assert run(out, live_env)[0] == 0
    output = out / "hello.mp4"
    downloaded = output.read_bytes()
    edited = edit(downloaded)  # type: ignore[operator]
    output.write_bytes(edited)

    code, said = run(out, live_env, "--resume")

    assert code == 0, said
    (kept,) = out.glob("hello.edited-*.mp4")
    assert kept.read_bytes() == edited, "the user's file, as they left it"
    assert output.read_bytes() == downloaded, "the output, fetched again"
    assert f"hello.mp4 was changed since it was saved: kept as {kept.name}" in said
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1, "not bought again"

    again, _ = run(out, live_env, "--resume")
    assert again == 0
    assert list(out.glob("hello.edited-*.mp4")) == [kept], "the fetched output is not moved"


def test_a_deleted_output_is_fetched_again_with_nothing_to_keep(
    lipflow_mock: MockServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run(out, live_env)[0] == 0
    (out / "hello.mp4").unlink()

    code, said = run(out, live_env, "--resume")

    assert code == 0, said
    assert (out / "hello.mp4").is_file()
    assert list(out.glob("*.edited-*")) == []
    assert "kept as" not in said
