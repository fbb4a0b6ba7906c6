"""Hand-edited or forged saved plans through `lipflow run PLAN.json`: a plan file is user input,
so each field lipflow reads or prints that is not as `lipflow plan --out` writes it is refused
with exit 2 at its JSON path, line and column, saying what it should be, before anything is
sent; never an internal error (exit 70), and never a character a terminal would act on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.invoking import invoke

Edit = Callable[[dict[str, Any]], None]


def _job(**fields: Any) -> Edit:
    return lambda plan: plan["jobs"][0].update(fields)


def _recipe(**fields: Any) -> Edit:
    return lambda plan: plan["recipe"].update(fields)


def _no_job_id(plan: dict[str, Any]) -> None:
    del plan["jobs"][0]["id"]


def _job_twice(plan: dict[str, Any]) -> None:
    plan["jobs"].append(dict(plan["jobs"][0]))


# (what was edited, the edit, the JSON path refused, what is said about it, what the file holds
# at the line and column given: the field's value, or the object a missing field belongs in)
FORGERIES: list[tuple[str, Edit, str, str, str]] = [
    (
        "an-esc-sequence-in-a-job-id",
        _job(id="hello\x1b[2J"),
        "$.jobs[0].id",
        "holds the character U+001B (ESC) at character 6",
        '"hello\\u001b[2J"',
    ),
    (
        "a-bidi-override-in-a-job-id",
        _job(id="hel\u202elo"),
        "$.jobs[0].id",
        "holds the character U+202E (RIGHT-TO-LEFT OVERRIDE) at character 4",
        '"hel\\u202elo"',
    ),
    (
        "a-carriage-return-in-a-job-id",
        _job(id="hello\rdone"),
        "$.jobs[0].id",
        "holds the character U+000D (CR) at character 6",
        '"hello\\rdone"',
    ),
    (
        "an-esc-sequence-in-the-recipe-file",
        _recipe(file="recipes/\x1b[2Jquickstart.yaml"),
        "$.recipe.file",
        "holds the character U+001B (ESC) at character 9",
        '"recipes/\\u001b[2J',
    ),
    ("a-duplicate-job-id", _job_twice, "$.jobs[1].id", "is the id of $.jobs[0] too", '"hello"'),
    (
        "a-number-for-a-step",
        _job(step=5),
        "$.jobs[0].step",
        "should be a string, not a number",
        "5",
    ),
    (
        "a-number-for-the-recipe-file",
        _recipe(file=5),
        "$.recipe.file",
        "should be a string, not a number",
        "5",
    ),
    (
        "a-number-for-the-digest",
        _recipe(digest=5),
        "$.recipe.digest",
        "should be the recipe's SHA-256 digest, 64 hexadecimal digits",
        "5",
    ),
    (
        "an-esc-sequence-for-the-digest",
        _recipe(digest="\x1b[2J" * 16),
        "$.recipe.digest",
        "should be the recipe's SHA-256 digest",
        '"\\u001b[2J',
    ),
    ("a-job-without-an-id", _no_job_id, "$.jobs[0].id", "is missing; it should be a string", "{"),
    (
        "a-job-that-is-a-string",
        lambda plan: plan.update(jobs=["hello"]),
        "$.jobs[0]",
        "should be a JSON object, not a string",
        '"hello"',
    ),
]


MEDIA_FIELDS = "name, kind, origin, value, provider, duration, size_bytes, width, height, format"
JOB_FIELDS = (
    "id, step, action, provider, model, model_id, task_uuid, media, params, options, needs, "
    "matrix, piece, key, cost, requests"
)


def _params(**fields: Any) -> Edit:
    return lambda plan: plan["jobs"][0]["params"].update(fields)


# Objects lipflow reads into its own records (a job, a media input, a piece, a job's parameters) with a
# field the record has not, or without one it needs: placed at the field (a missing one at its
# object), in lipflow's words, with the nearest field it has (what a terminal would act on
# escaped), never Python's ('MediaRef.__init__() got an unexpected keyword argument')
UNKNOWN_FIELDS: list[tuple[str, Edit, str, str, str]] = [
    (
        "a-misspelled-job-field-beside-the-real-one",
        _job(proivder="wavespeed"),
        "$.jobs[0].proivder",
        f"is not a field of a job, did you mean 'provider'? (its fields: {JOB_FIELDS})",
        '"wavespeed"',
    ),
    (
        "a-job-field-no-plan-has",
        _job(**{"retake\u202e": True}),
        "$.jobs[0]['retake\\u202e']",
        f"is not a field of a job (its fields: {JOB_FIELDS})",
        "true",
    ),
    (
        "a-media-field-no-plan-has",
        lambda plan: plan["jobs"][0]["media"]["video"].update({"bo\x1bgus": 1}),
        "$.jobs[0].media.video['bo\\x1bgus']",
        f"is not a field of a media input (its fields: {MEDIA_FIELDS})",
        "1",
    ),
    (
        "a-misspelled-media-field",
        lambda plan: plan["jobs"][0]["media"]["video"].update(heigth=360),
        "$.jobs[0].media.video.heigth",
        f"is not a field of a media input, did you mean 'height'? (its fields: {MEDIA_FIELDS})",
        "360",
    ),
    (
        "a-piece-without-its-group",
        _job(piece={"index": 0}),
        "$.jobs[0].piece.group",
        "is missing: a piece of a split lip sync has it",
        "{",
    ),
    (
        "a-piece-cut-sideways-then-that-is-not-a-list",
        _job(
            piece={
                **{"group": "hello", "index": 1, "count": 2, "start": 0.0, "end": 10.0},
                **{"why": "a pause", "video_method": "stream copy", "video_bytes": 1},
                **{"audio_bytes": 1, "size": [640, 360], "video": "v.mp4", "audio": "a.wav"},
                **{"fps": "25", "cut_sideways": 5},
            }
        ),
        "$.jobs[0].piece.cut_sideways",
        "should be a list, not a number",
        "5",
    ),
    (
        "a-misspelled-voice",
        lambda plan: plan["jobs"][0]["params"]["tts"].update(voise="Sophia"),
        "$.jobs[0].params.tts.voise",
        "is not a field of a text to speech, did you mean 'voice'? (its fields: text, voice, "
        "language)",
        '"Sophia"',
    ),
    (
        "a-misspelled-segment-end",
        _params(segments=[{"start": 0, "ende": 1}]),
        "$.jobs[0].params.segments[0].ende",
        "is not a field of a segment, did you mean 'end'?",
        "1",
    ),
    (
        "a-generate-parameter-on-a-lip-sync",
        _params(prompt="smile"),
        "$.jobs[0].params.prompt",
        "is not a field of a lip sync's parameters (its fields: tts, segments)",
        '"smile"',
    ),
]


def _edited(plan: Path, edit: Edit) -> str:
    saved = json.loads(plan.read_text(encoding="utf-8"))
    edit(saved)
    text = json.dumps(saved, indent=2)
    plan.write_text(text, encoding="utf-8")
    return text


@pytest.mark.parametrize(
    ("edit", "where", "says", "there"),
    [f[1:] for f in FORGERIES + UNKNOWN_FIELDS],
    ids=[f[0] for f in FORGERIES + UNKNOWN_FIELDS],
)
def test_a_forged_plan_is_refused_at_the_field_with_what_it_should_be(
    saved_plan: Path, edit: Edit, where: str, says: str, there: str
) -> None:
    said = _refused(saved_plan, edit, there)
    assert said.startswith(
        f"not a lipflow plan file as `lipflow plan --out` writes one: {where} {says}"
    )


# Plans of the right shape that ask for what the recipe does not plan now: (the edit, what is said
# first, what the file holds at the line and column given)
NOT_PLANNED: list[tuple[str, Edit, str, str]] = [
    (
        "a-job-id-naming-a-path",
        _job(id="../../evil"),
        "$.jobs[0].id: job '../../evil' is where 'hello' is planned",
        '"../../evil"',
    ),
    (
        "an-unknown-provider",
        _job(provider="nope"),
        "$.jobs[0].provider: job 'hello' is changed (provider)",
        '"nope"',
    ),
    (
        "an-unknown-model",
        _job(model_id="runware/nope"),
        "$.jobs[0].model_id: job 'hello' is changed (model_id)",
        '"runware/nope"',
    ),
    (
        "another-recipe-digest",
        _recipe(digest="0" * 64),
        "$.recipe.digest: the recipe",
        '"000000',
    ),
    (
        "a-job-more",
        lambda plan: plan["jobs"].append({**plan["jobs"][0], "id": "hello-again"}),
        "$.jobs[1]: job 'hello-again' is extra",
        "{",
    ),
]


@pytest.mark.parametrize(
    ("edit", "says", "there"), [f[1:] for f in NOT_PLANNED], ids=[f[0] for f in NOT_PLANNED]
)
def test_a_plan_asking_for_what_its_recipe_does_not_plan_is_refused_at_the_field(
    saved_plan: Path, edit: Edit, says: str, there: str
) -> None:
    said = _refused(saved_plan, edit, there)
    assert said.startswith(says), said
    assert "plan it again with `lipflow plan " in said


def _refused(plan: Path, edit: Edit, there: str) -> str:
    """What `lipflow run` says refusing ``plan`` edited by ``edit``, having checked it exits 2
    before running anything, places the error at the line and column where the file holds
    ``there``, and prints no character a terminal would act on."""
    text = _edited(plan, edit)
    out_dir = plan.parent / "out"

    code, out, err = invoke("run", "--mock", "--out", str(out_dir), str(plan), color=True)

    assert code == 2, err
    placed = re.match(rf"{re.escape(str(plan))}:(\d+):(\d+): error: (.*)", err)
    assert placed, err
    line, column = int(placed[1]), int(placed[2])
    assert text.splitlines()[line - 1][column - 1 :].startswith(there), "placed at the field"
    assert [c for c in out + err if c != "\n" and not c.isprintable()] == []
    assert not out_dir.exists(), "nothing was run"
    return placed[3]


def test_a_forged_job_id_of_ten_megabytes_is_quoted_cut_short(saved_plan: Path) -> None:
    _edited(saved_plan, _job(id="h" * 10_000_000))

    code, _, err = invoke("run", "--mock", "--out", str(saved_plan.parent / "out"), str(saved_plan))

    assert code == 2
    assert "job 'hhhh" in err and "... (10,000,002 characters) is where 'hello' is planned" in err
    assert len(err) < 1_000


def test_a_plan_saved_with_an_error_is_refused_at_the_error(saved_plan: Path) -> None:
    said = _refused(saved_plan, lambda plan: plan.update(errors=[{"message": "boom\x1b[2J"}]), "{")
    assert said == (
        "$.errors[0]: the saved plan has errors ('boom\\x1b[2J'); fix the recipe and plan it again"
    )


def test_what_a_plan_holds_for_review_only_is_never_read_back(saved_plan: Path) -> None:
    """Costs, totals, request bodies, base URLs, model choices and dubbed lines are what
    `lipflow plan` showed for review: the run plans, prices and builds its requests again, so an
    edit there, of any type, is not read and changes nothing."""

    def edit_what_is_for_review(plan: dict[str, Any]) -> None:
        plan.update(base_urls=5, choices="all", lines=[{}], totals=None, total_usd="lots")
        plan["jobs"][0].update(cost="lots", requests=[{"json": "sent instead"}])

    _edited(saved_plan, edit_what_is_for_review)

    code, out, err = invoke(
        "run", "--mock", "--out", str(saved_plan.parent / "out"), str(saved_plan)
    )

    assert code == 0, err
    assert "1 job(s): 1 done" in out
