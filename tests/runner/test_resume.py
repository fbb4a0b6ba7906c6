"""Running again into the same out directory: finished work is kept, nothing is paid twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lipflow.errors import UsageError
from mock_server import MockServer
from tests.runner.conftest import RunRecipe, jobs_at


def test_a_finished_run_is_kept_without_a_single_request(
    run_recipe: RunRecipe, mock: MockServer
) -> None:
    first = run_recipe("pixverse_platform")
    seen = len(mock.simulator.journal.records())

    again = run_recipe("pixverse_platform")

    assert again.ok and again.requests == 0
    assert len(mock.simulator.journal.records()) == seen
    assert [j.outputs for j in again.jobs] == [j.outputs for j in first.jobs]


def test_a_missing_output_is_downloaded_again_not_resubmitted(
    run_recipe: RunRecipe, mock: MockServer
) -> None:
    first = run_recipe("dub_matrix", concurrency=8)
    lost = first.jobs[5].outputs[0].path
    assert lost is not None
    os.unlink(lost)
    Path(first.jobs[6].outputs[0].path or "").write_bytes(b"truncated")

    again = run_recipe("dub_matrix", resume=True)

    assert again.ok and Path(lost).exists()
    assert again.requests == 2, "two downloads, no upload, submit or poll"
    assert len(jobs_at(mock)) == 36


def test_resume_needs_a_journal(run_recipe: RunRecipe, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nothing to resume"):
        run_recipe("quickstart", resume=True, out_dir=tmp_path / "empty")


def test_an_edited_job_runs_again_and_its_earlier_output_is_kept_beside_it(
    run_recipe: RunRecipe, mock: MockServer, tmp_path: Path
) -> None:
    recipe = tmp_path / "r.yaml"
    text = (Path(__file__).parents[2] / "recipes" / "quickstart.yaml").read_text()
    recipe.write_text(
        text.replace(
            "media/presenter.mp4", str(Path(__file__).parents[2] / "recipes/media/presenter.mp4")
        )
    )
    first = run_recipe(recipe)
    recipe.write_text(recipe.read_text().replace("Hello!", "Hi!"))

    again = run_recipe(recipe)

    assert again.ok and len(jobs_at(mock)) == 2, "the changed job was submitted again"
    ((kept_id, kept_state),) = again.not_in_recipe
    assert kept_id.startswith("hello@") and kept_state == "done"
    old = Path(first.jobs[0].outputs[0].path or "")
    assert not old.exists() or old.read_bytes() != b""
    assert len(list(old.parent.glob("hello*.mp4"))) == 2, "the earlier take is kept, renamed"


def test_an_out_dir_of_another_target_is_refused(run_recipe: RunRecipe) -> None:
    run_recipe("quickstart")
    with pytest.raises(UsageError, match="holds a run against"):
        run_recipe("quickstart", target="mock")


def test_one_runner_per_out_dir_and_stale_temporary_files_are_swept(
    run_recipe: RunRecipe, tmp_path: Path
) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".hello.mp4.999.deadbeef.part"
    stale.write_bytes(b"half a video from a killed run")
    with open(out / ".lipflow.lock", "wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another lipflow run is using"):
            run_recipe("quickstart")
    assert run_recipe("quickstart").ok
    assert not stale.exists()
