"""The named checks: documented limits that a JSON Schema cannot express."""

from __future__ import annotations

from typing import Any

import pytest

from lipflow.errors import UsageError
from lipflow.plan.checks import check_media, check_tts_text
from lipflow.problems import Severity
from lipflow.providers.runware.checks import (
    audio_range,
    fast_motion_reverts,
    pixverse_speaker_name,
    run_task_checks,
    segment_order,
    segment_overlap,
)
from lipflow.schemas import check_request


def _sync(*segments: dict[str, Any]) -> dict[str, Any]:
    return {
        "taskType": "videoInference",
        "taskUUID": "550e8400-e29b-41d4-a716-446655440000",
        "model": "sync:lipsync-2@1",
        "inputs": {"video": "https://e.com/v.mp4"},
        "providerSettings": {"sync": {"segments": list(segments)}},
    }


def _seg(start: float, end: float, **fields: Any) -> dict[str, Any]:
    return {"startTime": start, "endTime": end, "audio": "https://e.com/a.wav", **fields}


def _pixverse(model: str = "pixverse:1@3", **fields: Any) -> dict[str, Any]:
    task = {
        "taskType": "videoInference",
        "taskUUID": "550e8400-e29b-41d4-a716-446655440000",
        "model": model,
        "positivePrompt": "a dancer",
        "duration": 5,
        "width": 1280,
        "height": 720,
        "providerSettings": {"pixverse": {"motionMode": "fast"}},
    }
    return {**task, **fields}


# ---------------------------------------------------------------------------- segments


@pytest.mark.parametrize(
    ("start", "end"),
    [(2, 2), (3, 1.5), (0.5, 0.49)],
    ids=["equal", "reversed", "a-hundredth-short"],
)
def test_a_segment_must_end_after_it_starts(start: float, end: float) -> None:
    (problem,) = segment_order(_sync(_seg(start, end)))
    assert problem.json_path == "$.providerSettings.sync.segments[0].endTime"
    assert "must be greater than startTime" in problem.message
    assert problem.source is not None and problem.source.startswith(
        "https://runware.ai/docs/models/sync-lipsync-2#request-providersettings-sync-segments-endtime"
    )


def test_a_segment_that_ends_after_it_starts_passes() -> None:
    assert segment_order(_sync(_seg(0, 0.01), _seg(1, 2.5))) == []


def test_overlapping_segments_are_found_in_time_order_not_list_order() -> None:
    task = _sync(_seg(4, 6), _seg(0, 2), _seg(1.5, 3))
    (problem,) = segment_overlap(task)
    assert problem.json_path == "$.providerSettings.sync.segments[2].startTime"
    assert "overlaps segment 1 (0 s to 2 s)" in problem.message
    assert "start it at 2 s or later" in problem.message


def test_a_long_segment_overlaps_every_segment_inside_it() -> None:
    task = _sync(_seg(0, 10), _seg(2, 3), _seg(5, 6))
    problems = segment_overlap(task)
    assert [p.path[3] for p in problems] == [1, 2]
    assert all("overlaps segment 0" in p.message for p in problems)


def test_touching_segments_do_not_overlap() -> None:
    assert segment_overlap(_sync(_seg(0, 1.5), _seg(1.5, 3))) == []


def test_audio_end_time_must_follow_audio_start_time() -> None:
    task = _sync(
        _seg(0, 2, audioStartTime=3, audioEndTime=1), _seg(2, 4, audioStartTime=1, audioEndTime=3)
    )
    (problem,) = audio_range(task)
    assert problem.json_path == "$.providerSettings.sync.segments[0].audioEndTime"
    assert problem.message == "audioEndTime 1 s must be greater than audioStartTime 3 s"


def test_checks_ignore_values_the_schema_already_rejects() -> None:
    task = _sync({"startTime": "0", "endTime": None}, "not a segment")  # type: ignore[arg-type]
    assert segment_order(task) == segment_overlap(task) == audio_range(task) == []
    assert run_task_checks({"model": 5}) == []


def test_check_request_runs_the_named_checks_after_the_schema() -> None:
    problems = check_request("runware", [_sync(_seg(0, 2), _seg(1, 0.5), _seg(1, 3))])
    assert [(p.json_path, p.code) for p in problems] == [
        ("$[0].providerSettings.sync.segments[1].endTime", "segment-order"),
        ("$[0].providerSettings.sync.segments[2].startTime", "segment-overlap"),
    ]


# ---------------------------------------------------------------------------- fast motion


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"duration": 8}, "because duration is 8 s"),
        ({"width": 1920, "height": 1080}, "because 1920x1080 is 1080p"),
        ({"width": 1080, "height": 1440}, "because 1080x1440 is 1080p"),
        ({"model": "pixverse:1@1", "width": 810, "height": 1080}, "because 810x1080 is 1080p"),
        (
            {"duration": 8, "width": 1080, "height": 1920},
            "because duration is 8 s and 1080x1920 is 1080p",
        ),
    ],
    ids=["8-seconds", "1080p-landscape", "1080p-3:4", "v3.5-1080p-3:4", "both"],
)
def test_fast_motion_reverts_to_normal_with_a_warning(fields: dict[str, Any], reason: str) -> None:
    (problem,) = fast_motion_reverts(_pixverse(**fields))
    assert problem.severity is Severity.WARNING
    assert problem.json_path == "$.providerSettings.pixverse.motionMode"
    assert reason in problem.message
    assert problem.suggestion == "normal"
    assert problem.source is not None and problem.source.endswith(
        "#request-providersettings-pixverse-motionmode"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"width": 1280, "height": 720},
        {"providerSettings": {"pixverse": {"motionMode": "normal"}}},
        {"duration": 8, "providerSettings": {"pixverse": {}}},
    ],
    ids=["720p-5s", "720p", "normal-motion", "no-motion-mode"],
)
def test_fast_motion_that_stays_fast_gets_no_warning(fields: dict[str, Any]) -> None:
    assert fast_motion_reverts(_pixverse(**fields)) == []


def test_the_warning_does_not_make_a_request_invalid() -> None:
    problems = check_request("runware", _pixverse(duration=8))
    assert [p.severity for p in problems] == [Severity.WARNING]


# ---------------------------------------------------------------------------- media limits


@pytest.mark.parametrize(
    ("model", "role", "measure", "code", "fragment"),
    [
        (
            "runware/pixverse-lipsync",
            "video",
            {"seconds": 31},
            "media-too-long",
            "the video is 31 s; runware/pixverse-lipsync accepts at most 30 s",
        ),
        (
            "runware/pixverse-lipsync",
            "video",
            {"size_bytes": 25_000_000},
            "media-too-large",
            "the video is 25 MB; runware/pixverse-lipsync accepts at most 20 MB",
        ),
        ("runware/pixverse-lipsync", "audio", {"seconds": 30.5}, "media-too-long", "at most 30 s"),
        (
            "pixverse/lipsync",
            "video",
            {"size_bytes": 50_000_001},
            "media-too-large",
            "at most 50 MB",
        ),
        (
            "pixverse/lipsync",
            "video",
            {"max_side_px": 2160},
            "media-too-wide",
            "the video is 2160 px on its longest side; pixverse/lipsync accepts at most 1920 px",
        ),
        ("wavespeed/pixverse-lipsync", "audio", {"seconds": 45}, "media-too-long", "at most 30 s"),
    ],
    ids=[
        "runware-video-31s",
        "runware-video-25MB",
        "runware-audio-30.5s",
        "pixverse-video-50MB",
        "pixverse-video-4k",
        "wavespeed-audio-45s",
    ],
)
def test_media_over_the_documented_limits(
    model: str, role: str, measure: dict[str, Any], code: str, fragment: str
) -> None:
    kwargs: dict[str, Any] = {"seconds": None, "size_bytes": None, **measure}
    (problem,) = check_media(model, role, **kwargs)
    assert problem.code == code
    assert fragment in problem.message
    assert problem.source is not None and problem.source.startswith("https://")


def test_the_runware_video_limit_cites_the_provider_page() -> None:
    (problem,) = check_media("runware/pixverse-lipsync", "video", seconds=31, size_bytes=None)
    assert problem.source == (
        "https://runware.ai/docs/en/providers/pixverse#pixverse-lipsync (Input video requirements)"
    )


def test_media_within_the_limits_and_unknown_measures_pass() -> None:
    assert check_media("runware/pixverse-lipsync", "video", seconds=30, size_bytes=20_000_000) == []
    assert (
        check_media("pixverse/lipsync", "video", seconds=None, size_bytes=None, max_side_px=1920)
        == []
    )
    assert check_media("runware/sync-lipsync-2", "video", seconds=300, size_bytes=10**9) == []


def test_every_exceeded_limit_is_reported_at_once() -> None:
    problems = check_media(
        "pixverse/lipsync", "video", seconds=40, size_bytes=60_000_000, max_side_px=3840
    )
    assert [p.code for p in problems] == ["media-too-long", "media-too-large", "media-too-wide"]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (
            lambda: check_media("runware/pixverse-lipsynk", "video", seconds=1, size_bytes=1),
            "did you mean 'runware/pixverse-lipsync'?",
        ),
        (
            lambda: check_media("pixverse/lipsync", "image", seconds=1, size_bytes=1),
            "unknown media role",
        ),
    ],
    ids=["unknown-model", "unknown-role"],
)
def test_media_check_usage_errors(call: Any, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        call()
    assert fragment in caught.value.message


@pytest.mark.parametrize("model", ["runware/pixverse-lipsync", "pixverse/lipsync"])
def test_tts_text_is_at_most_200_characters(model: str) -> None:
    assert check_tts_text(model, "a" * 200) == []
    (problem,) = check_tts_text(model, "a" * 201)
    assert problem.code == "tts-too-long"
    assert f"201 characters; {model} takes at most 200" in problem.message


def test_tts_text_on_a_model_without_tts_is_not_a_length_problem() -> None:
    assert check_tts_text("wavespeed/pixverse-lipsync", "a" * 500) == []


@pytest.mark.parametrize(
    ("speaker", "name"), [("2", "James"), ("14", "Ethan"), ("Auto", None), ("99", None)]
)
def test_pixverse_speaker_ids_name_their_voice(speaker: str, name: str | None) -> None:
    assert pixverse_speaker_name(speaker) == name
