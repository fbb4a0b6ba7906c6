"""`lipflow run` against a hostile provider on loopback: every bad key, reply and output gets a
clear answer in bounded time and memory, and no key is ever shown."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from lipflow.cli import cli
from tests.runner.hostile import QUICKSTART, VIDEO, FakeRunware, hostile, reply

__all__ = ["hostile"]  # the fixture, imported for pytest


def run(
    fake: FakeRunware, out: Path, *args: str, key: str = "fake-runware-key"
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli,
        ["run", str(QUICKSTART), "--out", str(out), "--yes", "--format", "json", *args],
        env=fake.env(key),
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def journal_rows(out: Path, sql: str) -> list[Any]:
    with sqlite3.connect(out / "lipflow-journal.sqlite") as db:
        return list(db.execute(sql))


def notes(out: Path) -> str:
    return "\n".join(str(r[0]) for r in journal_rows(out, "SELECT detail FROM events"))


# ---------------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "key",
    ["sk-live-abc\r\nX-Injected: 1", "sk-live-\x07bell", "sk-live-clé-ünïcode", "sk live spaced"],
    ids=["crlf", "control", "non-ascii", "space"],
)
def test_a_key_that_cannot_be_sent_is_refused_without_printing_it(
    key: str, hostile: FakeRunware, tmp_path: Path
) -> None:
    code, out, err = run(hostile, tmp_path / "out", key=key)

    assert code == 2, err
    assert "RUNWARE_API_KEY is not a usable API key" in err
    assert "Traceback" not in err + out
    assert "live" not in err + out, "no part of the key is shown"
    assert sum(hostile.seen.values()) == 0, "nothing was sent"


KEY = "sk-Secret/42+key=Zz9"
FORMS = {
    "raw": KEY,
    "percent": urllib.parse.quote(KEY, safe=""),
    "form": urllib.parse.quote_plus(KEY),
    "json": json.dumps(KEY)[1:-1],
    "repr": repr(KEY),
    "base64": base64.b64encode(KEY.encode()).decode(),
    "basic": base64.b64encode(f"user:{KEY}".encode()).decode(),
}


def test_a_provider_echoing_the_key_in_every_encoding_never_gets_it_shown(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    echo = " ".join(FORMS.values())
    hostile.on_poll = lambda request, task: reply(
        {"errors": [{"code": "invalidApiKey", "message": f"bad key: {echo}"}]}, status=401
    )
    out_dir = tmp_path / "out"

    code, out, err = run(hostile, out_dir, key=KEY)

    assert code == 4, err
    assert "bad key: ***" in out
    core = KEY[3:-3]  # what any leak of the key would contain, in each form
    kept = [out, err] + [
        p.read_bytes().decode("latin-1") for p in out_dir.rglob("*") if p.is_file()
    ]
    for name, form in FORMS.items():
        for text in kept:
            assert form not in text, name
    for text in kept:
        assert core not in text
        assert base64.b64encode(core.encode()).decode()[2:-4] not in text


# ---------------------------------------------------------------------------------- replies


def test_a_400_mb_poll_reply_is_refused_at_the_cap_without_being_read(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    sent = []

    def endless(request: Request, task: dict[str, Any]) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(400):  # 400 MB if anyone read it all
                sent.append(1)
                yield b" " * (1 << 20)

        return Response(chunks(), mimetype="application/json")

    hostile.on_poll = endless
    out_dir = tmp_path / "out"

    code, out, err = run(hostile, out_dir)

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    assert job["state"] == "submitted", "the job is at the provider: resume polls it, never rebuys"
    assert "lipflow reads API replies of up to 16,777,216 bytes" in job["error"]["message"]
    assert len(sent) < 64, "the reply was dropped soon after the cap, not read to its end"
    assert hostile.seen["getResponse"] == 1, "an oversized reply is not asked for again"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"data": [{"taskUUID": "x", "cost": ' + b"9" * 5_000 + b"}]}", "5,000-digit number"),
    ],
    ids=["200000-deep", "5000-digits"],
)
def test_a_hostile_json_reply_is_a_provider_error_with_a_clear_message(
    body: bytes, said: str, hostile: FakeRunware, tmp_path: Path
) -> None:
    hostile.on_poll = lambda request, task: Response(body, mimetype="application/json")

    code, out, err = run(hostile, tmp_path / "out")

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    assert said in job["error"]["message"] and job["state"] == "submitted"
    assert "RecursionError" not in out + err and "Traceback" not in out + err


# ---------------------------------------------------------------------------------- outputs


def test_2000_output_urls_for_one_job_are_not_all_downloaded(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    urls = [f"{hostile.output_url}?n={n}" for n in range(2000)]
    hostile.on_poll = lambda request, task: hostile.success(request, task, *urls)
    out_dir = tmp_path / "out"

    code, out, err = run(hostile, out_dir, "--max-outputs", "3")

    assert code == 0, err
    (job,) = json.loads(out)["jobs"]
    assert len(job["outputs"]) == 3 and hostile.seen["download"] == 3
    assert "returned 2,000 outputs; the first 3 are downloaded" in notes(out_dir)


def test_an_endless_output_is_refused_while_streaming_and_fetched_once(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    def endless(request: Request) -> Response:
        return Response(iter([b"\0" * (1 << 20)] * 2048), mimetype="video/mp4")  # 2 GB

    hostile.on_output = endless
    out_dir = tmp_path / "out"

    code, out, err = run(hostile, out_dir, "--max-output-mb", "2")

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    assert "over the 2,097,152-byte output cap" in job["error"]["message"]
    assert hostile.seen["download"] == 1, "a refused output is not downloaded again"
    assert not [p for p in out_dir.iterdir() if p.suffix in (".mp4", ".part")]


def test_an_announced_oversized_output_is_refused_before_a_byte_is_written(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    hostile.on_output = lambda request: Response(
        VIDEO, mimetype="video/mp4", headers={"Content-Length": str(len(VIDEO))}
    )

    code, out, err = run(hostile, tmp_path / "out", "--max-output-mb", "0.01")

    assert code == 4, err
    assert f"is {len(VIDEO):,} bytes, over the 10,485-byte output cap" in out


def test_a_trickling_output_ends_at_the_download_deadline(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    def trickle(request: Request) -> Response:
        def drip() -> Iterator[bytes]:
            for byte in VIDEO:
                time.sleep(0.2)
                yield bytes([byte])

        return Response(drip(), mimetype="video/mp4")

    hostile.on_output = trickle

    code, out, err = run(hostile, tmp_path / "out", "--download-timeout", "0.5")

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    assert "did not arrive within 0.5 s (the download deadline" in job["error"]["message"]
    assert job["state"] == "downloading" and hostile.seen["download"] == 1


# ---------------------------------------------------------------------------------- resume


def saved_then_deleted(fake: FakeRunware, out_dir: Path) -> Path:
    """Run to done, then lose the output file: the path a resume must fill again."""
    assert run(fake, out_dir)[0] == 0
    ((path,),) = journal_rows(out_dir, "SELECT path FROM outputs")
    saved = out_dir / str(path)  # kept relative to the out directory
    saved.unlink()
    return saved


def test_an_output_overwritten_with_zeros_is_fetched_again_on_resume(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    assert run(hostile, out_dir)[0] == 0
    ((name, sha),) = journal_rows(out_dir, "SELECT path, sha256 FROM outputs")
    path = out_dir / name  # kept relative to the out directory
    assert sha == hashlib.sha256(VIDEO).hexdigest(), "the journal keeps the output's hash"
    Path(path).write_bytes(b"\0" * len(VIDEO))

    code, _, err = run(hostile, out_dir, "--resume")

    assert code == 0, err
    assert Path(path).read_bytes() == VIDEO
    assert hostile.seen["download"] == 2 and hostile.seen["videoInference"] == 1


def test_an_expired_output_url_is_re_polled_for_a_fresh_one(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    path = saved_then_deleted(hostile, out_dir)
    hostile.on_output = lambda request: (
        Response(VIDEO, mimetype="video/mp4")
        if request.args.get("fresh")
        else Response("expired", status=403)
    )
    hostile.on_poll = lambda request, task: hostile.success(
        request, task, hostile.output_url + "?fresh=1"
    )

    code, _, err = run(hostile, out_dir, "--resume")

    assert code == 0, err
    assert path.read_bytes() == VIDEO
    assert hostile.seen["videoInference"] == 1, "nothing was bought again"


def test_a_refused_output_says_so_and_what_a_fresh_take_costs_and_is_bought_only_when_asked(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    path = saved_then_deleted(hostile, out_dir)
    hostile.on_output = lambda request: Response("gone", status=404)

    code, out, err = run(hostile, out_dir, "--resume")

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    # the provider still calls the job done: its output is refused, not lost; a later run tries
    assert job["state"] == "downloading" and job["error"]["class"] == "output_refused"
    assert "a fresh take (about $" in job["error"]["message"]
    assert "--resume" in job["error"]["message"] and "--retake-lost" in job["error"]["message"]

    code, out, err = run(hostile, out_dir, "--resume")
    assert code == 4 and hostile.seen["videoInference"] == 1, "a refused output is not rebought"

    hostile.on_output = lambda request: (
        Response(VIDEO, mimetype="video/mp4")
        if hostile.seen["videoInference"] == 2
        else Response("gone", status=404)
    )
    code, out, err = run(hostile, out_dir, "--resume", "--retake-lost")
    assert code == 0, err
    assert hostile.seen["videoInference"] == 2 and path.read_bytes() == VIDEO


# ---------------------------------------------------------------------------------- waits


def test_a_retry_after_of_100000_s_is_not_obeyed_and_the_journal_says_so(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    answers = iter(
        [reply({"errors": [{"code": "rateLimitExceeded"}]}, 429, **{"Retry-After": "100000"})]
    )
    hostile.on_poll = lambda request, task: next(answers, None) or hostile.success(request, task)
    out_dir = tmp_path / "out"

    code, _, err = run(hostile, out_dir, "--retry-after-cap", "0.05")

    assert code == 0, err
    assert "Retry-After 100000 s capped at 0.05 s (a longer wait is not obeyed" in notes(out_dir)


def test_a_download_answered_503_with_retry_after_waits_that_long(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    answers = iter([Response("busy", status=503, headers={"Retry-After": "1"})])
    hostile.on_output = lambda request: next(answers, None) or Response(VIDEO, mimetype="video/mp4")
    out_dir = tmp_path / "out"

    code, _, err = run(hostile, out_dir)

    assert code == 0, err
    assert (
        "download: ambiguous (Retry-After) (download answered HTTP 503); sending again in 1 s"
        in (notes(out_dir))
    )
    assert hostile.seen["download"] == 2


def test_an_unknown_status_is_polled_a_bounded_number_of_times_then_reported(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    hostile.on_poll = lambda request, task: reply(
        {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "limbo"}]}
    )

    code, out, err = run(hostile, tmp_path / "out", "--unknown-status-polls", "3")

    assert code == 4, err
    (job,) = json.loads(out)["jobs"]
    assert job["state"] == "submitted" and job["error"]["class"] == "unknown_status"
    assert (
        "answered status 'limbo', which its documentation does not list, 3 times"
        in (job["error"]["message"])
    )
    assert hostile.seen["getResponse"] == 3 and hostile.seen["videoInference"] == 1


# ---------------------------------------------------------------------------------- disk


def test_an_out_directory_that_cannot_be_created_is_a_disk_error_exit_6(
    hostile: FakeRunware, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    code, _, err = run(hostile, blocker / "out")

    assert code == 6, err
    assert "cannot write the out directory: Not a directory" in err and "Traceback" not in err
    assert sum(hostile.seen.values()) == 0
