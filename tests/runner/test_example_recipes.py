"""Every example recipe runs end to end against the mock and leaves valid media on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipflow.jobs import to_display
from lipflow.media import probe
from lipflow.plan import plan_file
from lipflow.reporting.runs import format_run
from mock_server import MockServer
from tests.runner.conftest import RECIPES, RunRecipe, jobs_at

EXAMPLES = sorted(RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("recipe", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_recipe_produces_valid_media(
    recipe: Path, run_recipe: RunRecipe, mock: MockServer
) -> None:
    report = run_recipe(recipe, concurrency=4)

    assert report.ok, format_run(report)
    assert len(jobs_at(mock)) == len(report.jobs), "exactly one provider job per planned job"
    for job in report.jobs:
        assert job.outputs, job.id
        for output in job.outputs:
            assert output.path is not None and Path(output.path).parent == Path(report.out_dir)
            info = probe(output.path)
            assert info.kind == "video" and info.duration_s > 0
            assert info.size_bytes == output.size_bytes


def test_the_run_sends_the_bodies_the_plan_shows(run_recipe: RunRecipe, mock: MockServer) -> None:
    plan = plan_file(str(RECIPES / "pixverse_platform.yaml"), env={})
    run_recipe("pixverse_platform")

    sent = [r.body for r in mock.simulator.journal.records(provider="pixverse", op="submit")]
    shown = [
        to_display(req.json) for pj in plan.jobs for req in pj.requests if req.purpose == "submit"
    ]
    assert len(sent) == len(shown) == 2
    for body, planned in zip(sorted(sent, key=sorted), sorted(shown, key=sorted), strict=True):
        assert body.keys() == planned.keys()
        for key, value in planned.items():
            if not str(value).startswith("${"):
                assert body[key] == value, key
            else:
                assert isinstance(body[key], int), f"{key} carries the uploaded media_id"


def test_reported_cost_is_set_beside_the_estimate(run_recipe: RunRecipe) -> None:
    report = run_recipe("quickstart").to_json()

    (job,) = report["jobs"]
    assert job["estimated_usd"] == pytest.approx(0.041888)
    assert job["reported_usd"] == pytest.approx(job["estimated_usd"])
    assert report["reported_usd"] == pytest.approx(report["estimated_usd"])


def test_a_generated_video_feeds_the_lip_sync_that_needs_it(
    run_recipe: RunRecipe, mock: MockServer
) -> None:
    report = run_recipe("teaser")

    teaser, voice = report.jobs
    assert [teaser.id, voice.id] == ["teaser", "voice"] and report.ok
    (submit,) = [
        r.body[0]
        for r in mock.simulator.journal.records(provider="runware", op="submit")
        if r.body[0]["taskUUID"] == voice.task_uuid
    ]
    assert submit["inputs"]["referenceVideos"] == [teaser.outputs[0].url]


@pytest.mark.parametrize("recipe", EXAMPLES, ids=lambda p: p.stem)
def test_the_mock_charges_what_the_plan_estimates(recipe: Path, run_recipe: RunRecipe) -> None:
    """Plan and mock price from the same catalog and rules, so every reported cost matches."""
    report = run_recipe(recipe, concurrency=4).to_json()
    for job in report["jobs"]:
        if job["reported_usd"] is not None and job["estimated_usd"] is not None:
            assert job["reported_usd"] == pytest.approx(job["estimated_usd"]), job["id"]


@pytest.mark.parametrize(
    ("recipe", "provider", "uploads"),
    [("dub_matrix", "runware", 1), ("pixverse_platform", "pixverse", 2)],
    ids=["36-jobs-one-video", "two-jobs-two-files"],
)
def test_a_file_many_jobs_use_is_uploaded_once(
    recipe: str, provider: str, uploads: int, run_recipe: RunRecipe, mock: MockServer
) -> None:
    report = run_recipe(recipe, concurrency=8)

    assert report.ok, format_run(report)
    sent = mock.simulator.journal.records(provider=provider, op="upload")
    assert len(sent) == uploads, [r.path for r in sent]
