"""An output URL the provider refuses (403/404/410) never buys the job again by itself.

A refused URL may be a CDN object not yet propagated or an expired signed URL: lipflow asks
the provider again and retries the download; a job it cannot fetch stays ``downloading`` (a
later run tries again) unless the provider itself says the job failed (``output_lost``). Every
outcome exits 4 with what happened and what to do, never 70. Nothing here submits twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request, Response

from tests.runner.hostile import VIDEO, FakeRunware, hostile, reply
from tests.runner.test_hostile_provider import run

__all__ = ["hostile"]  # the fixture, imported for pytest

Poll = Callable[[Request, dict[str, Any]], Response]


def _state(out: Path) -> tuple[str, str | None, str | None]:
    with sqlite3.connect(out / "lipflow-journal.sqlite") as db:
        (row,) = db.execute("SELECT state, error_class, error FROM jobs")
    return row[0], row[1], row[2]


def _deleted(hostile: FakeRunware, out: Path) -> Path:
    assert run(hostile, out)[0] == 0
    with sqlite3.connect(out / "lipflow-journal.sqlite") as db:
        ((path,),) = db.execute("SELECT path FROM outputs")
    file = out / str(path)  # a journaled path is absolute, or relative to the out directory
    file.unlink()
    return file


def _gone(_: Request) -> Response:
    return Response("gone", status=404)


def _failed(_: Request, task: dict[str, Any]) -> Response:
    return reply(
        {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "error"}]}
    )


POLL_ERRORS: dict[str, Poll] = {
    "not-found": lambda _r, _t: reply({"errors": [{"code": "taskNotFound"}]}, status=404),
    "server-error": lambda _r, _t: Response("boom", status=500),
}


@pytest.mark.parametrize("poll", list(POLL_ERRORS), ids=list(POLL_ERRORS))
def test_a_done_job_whose_output_and_provider_record_are_gone_exits_4_not_70(
    hostile: FakeRunware, tmp_path: Path, poll: str
) -> None:
    out = tmp_path / "out"
    _deleted(hostile, out)
    hostile.on_output = _gone
    hostile.on_poll = POLL_ERRORS[poll]

    for _ in range(2):
        code, stdout, err = run(hostile, out, "--resume")
        assert code == 4, err
        assert "Traceback" not in err + stdout
        state, error_class, error = _state(out)
        assert state == "downloading" and error_class == "output_refused", (state, error)
        assert error is not None and "--resume" in error and "--retake-lost" in error
    assert hostile.seen["videoInference"] == 1, "nothing was bought again"


def test_a_job_whose_download_and_re_poll_fail_in_its_first_run_exits_4_not_70(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    polls = 0

    def first_then_500(request: Request, task: dict[str, Any]) -> Response:
        nonlocal polls
        polls += 1
        return hostile.success(request, task) if polls == 1 else Response("boom", status=500)

    hostile.on_poll = first_then_500
    hostile.on_output = _gone
    out = tmp_path / "out"

    code, _, err = run(hostile, out)

    assert code == 4, err
    assert _state(out)[:2] == ("downloading", "output_refused")
    assert hostile.seen["videoInference"] == 1


def test_a_provider_saying_failed_after_the_output_is_gone_is_output_lost_not_70(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path = _deleted(hostile, out)
    hostile.on_output = _gone
    hostile.on_poll = _failed

    code, stdout, err = run(hostile, out, "--resume")

    assert code == 4, err
    (job,) = json.loads(stdout)["jobs"]
    assert job["state"] == "failed" and job["error"]["class"] == "output_lost"
    assert "--retake-lost" in job["error"]["message"]
    code, _, err = run(hostile, out, "--resume")
    assert code == 4 and hostile.seen["videoInference"] == 1, "a lost output is not rebought"

    # the provider serves it again: the next run fetches it before anything is bought
    hostile.on_poll = hostile.success
    hostile.on_output = lambda _: Response(VIDEO, mimetype="video/mp4")
    code, _, err = run(hostile, out, "--resume")
    assert code == 0, err
    assert path.read_bytes() == VIDEO and hostile.seen["videoInference"] == 1


def test_a_first_download_refused_a_few_times_is_retried_within_the_run(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    def not_yet_then_served(_: Request) -> Response:
        if hostile.seen["download"] <= 2:
            return Response("not yet", status=404)
        return Response(VIDEO, mimetype="video/mp4")

    hostile.on_output = not_yet_then_served
    out = tmp_path / "out"

    code, _, err = run(hostile, out)

    assert code == 0, err
    assert _state(out)[0] == "done"
    assert hostile.seen["videoInference"] == 1 and hostile.seen["download"] == 3


def test_a_refused_output_of_a_job_the_provider_calls_done_is_fetched_on_resume(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    hostile.on_output = _gone
    out = tmp_path / "out"

    code, stdout, err = run(hostile, out)

    assert code == 4, err
    (job,) = json.loads(stdout)["jobs"]
    assert job["state"] == "downloading" and job["error"]["class"] == "output_refused"
    assert "--resume" in job["error"]["message"]

    hostile.on_output = lambda _: Response(VIDEO, mimetype="video/mp4")
    code, _, err = run(hostile, out, "--resume")
    assert code == 0, err
    assert _state(out)[0] == "done" and hostile.seen["videoInference"] == 1


def test_retake_lost_buys_a_fresh_take_only_when_the_output_still_cannot_be_fetched(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path = _deleted(hostile, out)
    hostile.on_output = _gone
    assert run(hostile, out, "--resume")[0] == 4
    assert hostile.seen["videoInference"] == 1

    refused_then_fresh = {"n": 0}

    def gone_until_the_fresh_take(request: Request) -> Response:
        if hostile.seen["videoInference"] < 2:
            return Response("gone", status=404)
        refused_then_fresh["n"] += 1
        return Response(VIDEO, mimetype="video/mp4")

    hostile.on_output = gone_until_the_fresh_take
    code, _, err = run(hostile, out, "--resume", "--retake-lost")
    assert code == 0, err
    assert hostile.seen["videoInference"] == 2 and path.read_bytes() == VIDEO
