"""`lipflow validate`, `plan`, `check-request` and `schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.cli.commands import MAX_REQUEST_BYTES

REPO = Path(__file__).parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
BAD = REPO / "tests" / "acceptance" / "recipes" / "invalid" / "matrix_voices.yaml"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_example_recipe_validates_and_plans(recipe: Path) -> None:
    code, out, _ = run("validate", str(recipe))
    assert code == 0, out
    code, out, err = run("plan", "--format", "json", str(recipe))
    assert code == 0, err
    plan = json.loads(out)
    assert plan["jobs"], "an example recipe plans at least one job"
    for job in plan["jobs"]:
        assert job["requests"][-1]["repeat"] == "until the job is done"


def test_validate_exit_codes_and_a_summary_line() -> None:
    code, out, _ = run("validate", str(BAD))
    assert code == 1
    assert out.splitlines()[-1].endswith("2 error(s), 0 warning(s)")
    assert f"{BAD}:13:16: error [job dub[voice=Sofia]]" in out


def test_validate_reports_unreadable_files_with_exit_2(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "missing.yaml: error: no such file" in out


def test_github_format_prints_workflow_annotations() -> None:
    code, out, _ = run("validate", "--format", "github", str(BAD))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"::error file={BAD},line=13,col=16,title=lipflow enum::")


def test_json_format_is_machine_readable() -> None:
    _, out, _ = run("validate", "--format", "json", str(BAD))
    report = json.loads(out)
    assert report["valid"] is False and report["errors"] == 2
    assert {p["suggestion"] for p in report["problems"]} == {"Sophia", "James"}


def test_plan_text_shows_requests_costs_and_totals() -> None:
    code, out, _ = run("plan", str(REPO / "recipes" / "quickstart.yaml"))
    assert code == 0
    assert "step hello: runware/pixverse-lipsync - cheapest model offering lipsync.tts" in out
    assert "rejected pixverse/lipsync: costs" in out
    assert "upload video 'presenter': POST https://api.runware.ai/v1" in out
    assert "Authorization: Bearer ***" in out
    assert "price: https://runware.ai/docs/models/pixverse-lipsync (read 2026-11-23)" in out
    assert "overall: $0.0316 - $0.0521 over 1 job(s)" in out  # the speech's length is a range


def test_plan_shows_each_price_page_and_read_date_or_that_it_is_unconfirmed() -> None:
    code, out, _ = run("plan", str(REPO / "recipes" / "wavespeed.yaml"))
    assert code == 0
    page = "https://wavespeed.ai/docs/docs-api/pixverse/pixverse-lipsync#playground"
    assert f"price: {page} (read date unknown)" in out
    assert "assumes: price not confirmed: it could not be read on the current page" in out
    code, out, _ = run("plan", "--format", "json", str(REPO / "recipes" / "quickstart.yaml"))
    (job,) = json.loads(out)["jobs"]
    assert job["cost"]["source"] == "https://runware.ai/docs/models/pixverse-lipsync"
    assert job["cost"]["as_of"] == "2026-11-23"  # the day the price was read, not a release date


@pytest.mark.parametrize(
    ("body", "message", "citation"),
    [
        (
            {"inputs": {"video": "clip.mp4", "audio": "https://e.com/a.wav"}},
            "$[0].inputs.video: 'clip.mp4' is not a media UUID or a URL",
            "https://runware.ai/docs/models/sync-lipsync-2#request-inputs-video",
        ),
        (
            {"inputs": {"video": "https://e.com/v.mp4"}},
            "set at least one of 'inputs.audio' or 'providerSettings.sync.segments'",
            "https://runware.ai/docs/models/sync-lipsync-2#request-inputs-audio",
        ),
        (
            {
                "inputs": {"video": "https://e.com/v.mp4"},
                "providerSettings": {
                    "sync": {
                        "segments": [
                            {
                                "startTime": 0,
                                "endTime": 1,
                                "audio": "b4c57832-2075-492b-bf89-9b5e3ac02503",
                            }
                        ]
                    }
                },
            },
            "is not an http(s) URL (a segment's audio is a URL, not a media UUID)",
            "#request-providersettings-sync-segments-audio",
        ),
    ],
    ids=["input-not-uuid-or-url", "no-audio", "segment-audio-uuid"],
)
def test_check_request_says_a_prose_rule_and_cites_its_page(
    body: dict[str, object], message: str, citation: str
) -> None:
    task = {
        "taskType": "videoInference",
        "taskUUID": "5313e0c2-7a4d-4b8e-9f1a-3c2d1e0f9a8b",
        "model": "sync:lipsync-2@1",
        **body,
    }
    code, out, _ = run("check-request", "--provider", "runware", "-", input=json.dumps([task]))
    assert code == 1, out
    assert message in out
    see = [line for line in out.splitlines() if line.startswith("  see https://")]
    assert see and citation in see[0]


def test_check_request_refuses_two_tasks_with_one_task_uuid() -> None:
    task = {
        "taskType": "videoInference",
        "taskUUID": "5313e0c2-7a4d-4b8e-9f1a-3c2d1e0f9a8b",
        "model": "sync:lipsync-2@1",
        "inputs": {"video": "https://e.com/v.mp4", "audio": "https://e.com/a.wav"},
    }
    code, out, _ = run(
        "check-request", "--provider", "runware", "-", input=json.dumps([task, task])
    )
    assert code == 1
    assert (
        "at $[1].taskUUID: taskUUID '5313e0c2-7a4d-4b8e-9f1a-3c2d1e0f9a8b' is already task 0's"
        in out
    )
    assert "see https://runware.ai/docs/models/pixverse-lipsync#request-taskuuid" in out


def test_plan_out_saves_the_json_plan(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    code, _, err = run("plan", str(REPO / "recipes" / "teaser.yaml"), "--out", str(target))
    assert code == 0 and "plan saved" in err
    saved = json.loads(target.read_text())
    assert [j["id"] for j in saved["jobs"]] == ["teaser", "voice"]
    assert saved["jobs"][1]["needs"] == ["teaser"]
    assert not list(tmp_path.glob("*.tmp.*"))


def test_a_plan_with_errors_exits_1_and_saves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    code, _, err = run("plan", str(BAD), "--out", str(target))
    assert code == 1 and "did you mean 'Sophia'" in err
    assert not target.exists()


def test_api_keys_in_the_environment_never_reach_a_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-canary-5a1d9e"
    for var in ("RUNWARE_API_KEY", "PIXVERSE_API_KEY", "WAVESPEED_API_KEY"):
        monkeypatch.setenv(var, canary)
    for recipe in RECIPES:
        for fmt in ("text", "json"):
            _, out, err = run("plan", "--format", fmt, str(recipe))
            assert canary not in out + err


@pytest.mark.parametrize(
    ("provider", "endpoint", "body", "code", "fragment"),
    [
        (
            "runware",
            None,
            {"taskType": "getResponse", "taskUUID": "550e8400-e29b-41d4-a716-446655440000"},
            0,
            "valid",
        ),
        (
            "runware",
            None,
            [
                {
                    "taskType": "videoInference",
                    "taskUUID": "550e8400-e29b-41d4-a716-446655440000",
                    "model": "pixverse:lipsync@1",
                    "inputs": {"referenceVideos": ["https://e.com/v.mp4"]},
                    "speech": {"text": "Hi", "voice": "Sofia"},
                }
            ],
            1,
            "$[0].speech.voice",
        ),
        (
            "pixverse",
            "/openapi/v2/video/lip_sync/generate",
            {"video_media_id": 1, "source_video_id": 2, "audio_media_id": 3},
            1,
            "source_video_id",
        ),
        ("wavespeed", "/api/v3/pixverse/lipsync", {}, 1, "'video' is required"),
    ],
    ids=["runware-ok", "runware-voice", "pixverse-either-or", "wavespeed-empty"],
)
def test_check_request(
    provider: str, endpoint: str | None, body: object, code: int, fragment: str
) -> None:
    args = ["check-request", "--provider", provider, "-"]
    if endpoint:
        args[3:3] = ["--endpoint", endpoint]
    exit_code, out, _ = run(*args, input=json.dumps(body))
    assert exit_code == code, out
    assert fragment in out


def test_check_request_usage_and_io_errors_exit_2(tmp_path: Path) -> None:
    assert run("check-request", "--provider", "runware", str(tmp_path / "none.json"))[0] == 2
    (tmp_path / "bad.json").write_text("{nope")
    code, _, err = run("check-request", "--provider", "runware", str(tmp_path / "bad.json"))
    assert code == 2 and "not JSON" in err
    code, _, err = run(
        "check-request", "--provider", "pixverse", "--endpoint", "/openapi/v2/nope", "-", input="{}"
    )
    assert code == 2 and "/openapi/v2/video/lip_sync/generate" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_check_request_reads_a_bounded_body_and_refuses_the_rest_with_exit_2(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "pipe.json")  # nobody writes to it: reading would wait for ever
    for path, says in (
        (tmp_path / "pipe.json", "is a named pipe, not a request body file"),
        (tmp_path, "is a directory, not a request body file"),
    ):
        code, _, err = run("check-request", "--provider", "runware", str(path))
        assert code == 2 and says in err
    deep = "[" * 100_000 + "]" * 100_000
    code, _, err = run("check-request", "--provider", "runware", "-", input=deep)
    assert code == 2 and "nested about 1,000 levels deep" in err
    huge = " " * (MAX_REQUEST_BYTES + 1)
    code, _, err = run("check-request", "--provider", "runware", "-", input=huge)
    assert code == 2 and "a request body is a small text file" in err


def test_check_request_reads_utf16_with_its_byte_order_mark(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    task = {"taskType": "getResponse", "taskUUID": "0a0a0a0a-0000-4000-8000-000000000000"}
    body.write_bytes(json.dumps([task]).encode("utf-16"))
    code, out, _ = run("check-request", "--provider", "runware", str(body))
    assert code == 0 and "valid" in out


def test_schema_prints_the_recipe_schema_with_a_stable_id() -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out)["$id"] == "https://lipflow.dev/schemas/recipe.schema.json"
    code, _, err = run("schema", "runware/getresponse")
    assert code == 2 and "did you mean 'runware/getResponse'" in err


def test_bad_input_never_prints_a_traceback_in_a_real_process(tmp_path: Path) -> None:
    cases = {"binary.yaml": b"\x00\xff\x00", "alias.yaml": b"a: &a [*a]\n", "list.yaml": b"- 1\n"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        proc = subprocess.run(
            [sys.executable, "-m", "lipflow", "validate", str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode in (1, 2), (name, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout, name


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("lipflow, version ")


def test_a_paid_job_of_a_tiny_declared_duration_is_never_shown_or_recorded_as_free(
    tmp_path: Path,
) -> None:
    # No provider page documents a minimum billed length: the job is priced by the duration as
    # declared (0.0000001 s of audio at $0.0136/s), which four decimals would show as $0.0000.
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: 'https://example.com/v.mp4', duration: 5}\n"
        "  a: {audio: 'https://example.com/a.wav', duration: 0.0000001}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: a}\n"
    )
    code, out, _ = run("plan", "--no-requests", str(recipe))
    assert code == 0, out
    assert "$0.0000" not in out
    assert "cost: <$0.0001  = 1e-07 s of audio x $0.0136/s = <$0.0001" in out
    assert "overall: <$0.0001 over 1 job(s)" in out
    code, out, _ = run("plan", "--format", "json", str(recipe))
    plan = json.loads(out)
    assert plan["jobs"][0]["cost"]["usd"] > 0
    assert plan["totals"]["overall"]["usd"] > 0
