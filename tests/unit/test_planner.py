"""Planning: model choice with reasons, exact requests per provider, costs with assumptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lipflow.jobs import Plan
from lipflow.plan import expand_matrix, plan_recipe
from lipflow.recipe import parse_recipe

NO_ENV: dict[str, str] = {}


def plan_text(text: str, env: dict[str, str] | None = None) -> Plan:
    recipe, problems = parse_recipe(text, "r.yaml")
    assert recipe is not None, [p.format() for p in problems]
    return plan_recipe(recipe, env=NO_ENV if env is None else env)


TTS = """\
version: 1
inputs:
  clip: {video: "https://example.com/clip.mp4", duration: 6}
steps:
  hello:
    lipsync: {video: clip, tts: {text: "%s", voice: Sophia}}
"""


def test_the_cheapest_model_with_every_capability_is_chosen_and_the_rest_explained() -> None:
    plan = plan_text(TTS % "Hello there")
    (choice,) = plan.choices
    assert choice.model_id == "runware/pixverse-lipsync"
    rejected = dict(choice.rejected)
    assert rejected["runware/sync-lipsync-2"] == "does not offer lipsync.tts"
    assert rejected["wavespeed/pixverse-lipsync"] == "does not offer lipsync.tts"
    # 11 UTF-8 bytes are one 15-byte block of 4 credits; 11 Latin characters are 0.61-0.92 s
    assert rejected["pixverse/lipsync"] == "costs $0.0400 per job vs $0.0105"


def test_a_tts_job_is_priced_from_an_estimated_speech_length() -> None:
    (pj,) = plan_text(TTS % ("x" * 30)).jobs
    # 30 Latin letters at 12-18 per second: 1.67-2.5 s, priced at the middle
    assert (pj.usd_low, pj.usd_high) == pytest.approx((1.67 * 0.0136, 2.5 * 0.0136))
    assert pj.cost.usd == pytest.approx(2.08 * 0.0136, abs=0.0136 * 0.011)
    assert "s of audio x $0.0136/s" in pj.cost.basis
    assert any("30 Latin characters at 12-18/s" in a for a in pj.cost.assumptions)
    assert pj.cost.source == "https://runware.ai/docs/models/pixverse-lipsync"
    assert pj.cost.as_of == "2026-11-23"  # the date the price was read, not the release date


def test_runware_requests_are_the_documented_async_task_with_a_stable_uuid() -> None:
    first = plan_text(TTS % "Hi").jobs[0]
    again = plan_text(TTS % "Hi").jobs[0]
    submit, poll = first.requests
    (task,) = submit.json
    assert task["taskType"] == "videoInference" and task["deliveryMethod"] == "async"
    assert task["speech"] == {"text": "Hi", "voice": "Sophia"}
    assert task["inputs"] == {"referenceVideos": ["https://example.com/clip.mp4"]}
    assert poll.json == [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    assert poll.repeat
    assert submit.headers["Authorization"] == "Bearer ***"
    assert again.job.task_uuid == first.job.task_uuid


def test_base_urls_come_from_the_environment() -> None:
    env = {"LIPFLOW_RUNWARE_URL": "http://127.0.0.1:9/v1/"}
    plan = plan_text(TTS % "Hi", env=env)
    assert plan.jobs[0].requests[0].url == "http://127.0.0.1:9/v1"


def test_pixverse_uses_speaker_ids_and_uploads_urls_by_file_url() -> None:
    plan = plan_text((TTS % "Hi").replace("    lipsync:", "    provider: pixverse\n    lipsync:"))
    upload, submit, poll = plan.jobs[0].requests
    assert upload.form == {"file_url": "https://example.com/clip.mp4"}
    assert submit.to_json()["json"] == {
        "video_media_id": "${uploads.video.media_id}",
        "lip_sync_tts_speaker_id": "9",
        "lip_sync_tts_content": "Hi",
    }
    assert "Ai-Trace-Id" in submit.headers and submit.headers["API-KEY"] == "***"
    assert poll.method == "GET" and "/video/result/" in poll.url
    assert plan.jobs[0].cost.credits == 4  # 2 UTF-8 bytes -> one 15-byte block -> 4 credits


def test_an_unknown_duration_is_priced_at_the_documented_maximum_as_a_range() -> None:
    text = """\
version: 1
inputs:
  clip: {video: "https://example.com/clip.mp4"}
  voice: {audio: "https://example.com/voice.wav"}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: clip, audio: voice}
"""
    (pj,) = plan_text(text).jobs
    assert pj.usd_high == pytest.approx(30 * 0.0136)
    assert pj.usd_low == pytest.approx(0.0136)
    assert pj.cost.usd == pj.usd_high
    assert any("maximum of 30 s as an upper bound" in a for a in pj.cost.assumptions)
    totals = plan_text(text).to_json()
    assert totals["total_usd_low"] < totals["total_usd_high"]


def test_work_without_a_documented_price_is_unpriced_never_zero() -> None:
    text = """\
version: 1
steps:
  clip:
    use: runware/pixverse-v4
    generate: {prompt: "A lighthouse at dusk", duration: 5, size: 1280x720}
"""
    plan = plan_text(text)
    assert plan.jobs[0].cost.usd is None
    report = plan.to_json()
    assert report["jobs"][0]["cost"]["usd"] is None
    assert report["unpriced_jobs"] == 1 and report["total_usd"] == 0.0


def test_segments_compile_to_sync_segments_and_cost_their_video_ranges() -> None:
    text = """\
version: 1
inputs:
  clip: {video: "https://example.com/interview.mp4", duration: 20}
  a: {audio: "https://example.com/a.wav", duration: 9}
segments:
  answers:
    ranges:
      - {start: 0.5, end: 4.5, audio: a}
      - {start: 8, end: 10, audio: a, audio_start: 2, audio_end: 5.5}
steps:
  sync:
    lipsync: {video: clip, segments: answers}
"""
    (pj,) = plan_text(text).jobs
    (task,) = pj.requests[0].json
    assert task["model"] == "sync:lipsync-2@1"
    assert task["providerSettings"]["sync"]["segments"] == [
        {"startTime": 0.5, "endTime": 4.5, "audio": "https://example.com/a.wav"},
        {
            "startTime": 8,
            "endTime": 10,
            "audio": "https://example.com/a.wav",
            "audioStartTime": 2,
            "audioEndTime": 5.5,
        },
    ]
    # The billing basis: each segment's video range (4 s + 2 s), not its 3.5 s audio slice.
    assert pj.cost.usd == pytest.approx((4 + 2) * 0.044)


def test_a_step_fans_out_over_its_upstream_jobs_and_needs_them() -> None:
    text = """\
version: 1
steps:
  teaser:
    use: runware/pixverse-v4.5
    matrix: {style: [anime, clay]}
    generate: {prompt: "A lighthouse", style: "{{ matrix.style }}", duration: 5, size: 1280x720}
  voice:
    lipsync: {video: steps.teaser, tts: {text: "Hello", voice: Ava}}
"""
    plan = plan_text(text)
    assert [pj.job.id for pj in plan.jobs] == [
        "teaser[style=anime]",
        "teaser[style=clay]",
        "voice[style=anime]",
        "voice[style=clay]",
    ]
    voice = plan.jobs[2]
    assert voice.job.needs == ("teaser[style=anime]",)
    assert voice.requests[0].to_json()["json"][0]["inputs"]["referenceVideos"] == [
        "${jobs.teaser[style=anime].output_url}"
    ]


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ({"a": [1, 2], "b": ["x"]}, [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]),
        ({"a": [1, 2], "exclude": [{"a": 2}]}, [{"a": 1}]),
        ({"a": [1, 2], "include": [{"a": 2, "extra": True}]}, [{"a": 1}, {"a": 2, "extra": True}]),
        ({"a": [1], "include": [{"a": 9}]}, [{"a": 1}, {"a": 9}]),
        (
            {"include": [{"line": "Hola"}, {"line": "Bonjour"}]},
            [{"line": "Hola"}, {"line": "Bonjour"}],
        ),
        (
            {"a": [1, 2], "exclude": [{"a": 2}], "include": [{"a": 2, "x": 1}]},
            [{"a": 1}, {"a": 2, "x": 1}],
        ),
        (  # the example of GitHub's documentation, with its documented result
            {
                "fruit": ["apple", "pear"],
                "animal": ["cat", "dog"],
                "include": [
                    {"color": "green"},
                    {"color": "pink", "animal": "cat"},
                    {"fruit": "apple", "shape": "circle"},
                    {"fruit": "banana"},
                    {"fruit": "banana", "animal": "cat"},
                ],
            },
            [
                {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
                {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
                {"fruit": "pear", "animal": "cat", "color": "pink"},
                {"fruit": "pear", "animal": "dog", "color": "green"},
                {"fruit": "banana"},
                {"fruit": "banana", "animal": "cat"},
            ],
        ),
        (None, [{}]),
    ],
    ids=[
        "product",
        "exclude",
        "include-extends",
        "include-adds",
        "include-alone",
        "include-after-exclude",
        "github-docs-example",
        "none",
    ],
)
def test_matrix_expansion(matrix: dict[str, Any] | None, expected: list[dict[str, Any]]) -> None:
    assert expand_matrix(matrix) == expected


def test_plan_json_has_the_documented_fields() -> None:
    report = json.loads(json.dumps(plan_text(TTS % "Hi").to_json()))
    job = report["jobs"][0]
    assert {"id", "step", "provider", "model", "requests", "cost"} <= set(job)
    assert {"usd", "basis"} <= set(job["cost"])
    assert {"jobs", "total_usd", "warnings"} <= set(report)
    assert len(report["recipe"]["digest"]) == 64


def test_the_dub_matrix_example_fans_out_to_36_jobs() -> None:
    path = Path(__file__).parents[2] / "recipes" / "dub_matrix.yaml"
    recipe, _ = parse_recipe(path.read_text(encoding="utf-8"), str(path))
    assert recipe is not None
    plan = plan_recipe(recipe, env=NO_ENV)
    assert plan.ok and len(plan.jobs) == 36
    assert len({pj.job.task_uuid for pj in plan.jobs}) == 36


def test_a_plan_shows_an_upload_shared_by_later_jobs_as_not_sent_again() -> None:
    text = """\
version: 1
inputs:
  clip: {video: "https://example.com/clip.mp4", duration: 6}
steps:
  a:
    provider: pixverse
    lipsync: {video: clip, tts: {text: "One", voice: Emily}}
  b:
    provider: pixverse
    lipsync: {video: clip, tts: {text: "Two", voice: Ava}}
"""
    first, second = plan_text(text).jobs
    assert first.requests[0].reused_from is None
    assert second.requests[0].reused_from == "a"
    assert second.requests[0].to_json()["reused_from"] == "a"
    assert [r.purpose for r in second.requests][1:] == ["submit", "poll until done"]
