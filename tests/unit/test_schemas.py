"""The provider schemas, as a specification: what the docs allow, what they forbid, and how lipflow says so.

Every JSON example on the provider pages is a fixture under ``tests/example-files/requests/<provider>/`` with
its verdict and expected problems in a ``NAME.expect.yaml`` sidecar; the hand-written cases below
pin the rules the examples do not reach.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from lipflow._resources import schemas_dir
from lipflow.errors import UsageError
from lipflow.problems import Problem
from lipflow.providers import registry
from lipflow.schemas import (
    check_request,
    check_response,
    endpoints,
    find_endpoint,
    validator_for,
)
from lipflow.schemas.loading import document_names
from tests.contract.harness import walk


def runware_models() -> list[str]:
    return list(registry.get("runware").wire.endpoint("submit").models)


EXAMPLES = Path(__file__).resolve().parents[1] / "example-files" / "requests"
FIXTURES = sorted(EXAMPLES.glob("*/*/*.json"))

V4_UUID = "550e8400-e29b-41d4-a716-446655440000"


def _fixture_id(path: Path) -> str:
    return f"{path.parts[-3]}/{path.parts[-2]}/{path.stem}"


def _expectations(path: Path) -> dict[str, Any]:
    expect: dict[str, Any] = yaml.safe_load(path.with_suffix(".expect.yaml").read_text())
    return expect


def _assert_matches(found: list[Problem], expected: list[dict[str, Any]]) -> None:
    """Exactly the expected problems, by path; each with its message fragment and suggestion."""
    assert Counter(p.json_path for p in found) == Counter(e["path"] for e in expected), [
        p.format() for p in found
    ]
    for want in expected:
        at_path = [p for p in found if p.json_path == want["path"]]
        matching = [p for p in at_path if want["message"] in p.message]
        assert matching, f"no problem at {want['path']} says {want['message']!r}: {at_path}"
        if "suggestion" in want:
            assert matching[0].suggestion == want["suggestion"]


def _runware_task(model: str, **fields: Any) -> dict[str, Any]:
    return {"taskType": "videoInference", "taskUUID": V4_UUID, "model": model, **fields}


def _sync_task(**sync: Any) -> dict[str, Any]:
    return _runware_task(
        "sync:lipsync-2@1",
        inputs={"video": "https://e.com/v.mp4", "audio": "https://e.com/a.wav"},
        providerSettings={"sync": sync},
    )


def _video_task(model: str = "pixverse:1@2", **fields: Any) -> dict[str, Any]:
    base = {"positivePrompt": "a city at dusk", "duration": 5, "width": 1280, "height": 720}
    return _runware_task(model, **{**base, **fields})


def _lipsync_task(**fields: Any) -> dict[str, Any]:
    inputs = {"referenceVideos": ["https://e.com/v.mp4"]}
    return _runware_task("pixverse:lipsync@1", **{"inputs": inputs, **fields})


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


# ---------------------------------------------------------------------------- seed examples


def test_every_seed_example_is_a_fixture() -> None:
    """The Runware PixVerse page has 24 JSON request examples (the intro one and 23 under the
    models); the WaveSpeed model page one."""
    seed_fixtures = [p for p in FIXTURES if p.stem.startswith(("seed001-", "seed003-"))]
    assert len(seed_fixtures) == 25


@pytest.mark.parametrize("path", FIXTURES, ids=_fixture_id)
def test_example_file_gets_its_verdict(path: Path) -> None:
    expect = _expectations(path)
    provider = path.parts[-3]
    body = json.loads(path.read_text())
    found = check_request(
        provider, body, endpoint=expect.get("endpoint"), method=expect.get("method", "POST")
    )
    assert expect["verdict"] == path.parts[-2]
    errors = _errors(found)
    assert (not errors) == (expect["verdict"] == "valid"), [p.format() for p in errors]
    _assert_matches(errors, expect["problems"])
    _assert_matches([p for p in found if not p.is_error], expect.get("warnings", []))
    assert all(p.source for p in found), "every problem cites its doc"


# ---------------------------------------------------------------------------- Runware rules


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (0.57, True),
        (0.5, True),
        (0, True),
        (1, True),
        (0.555, False),
        (1.01, False),
        (-0.01, False),
        (0.1 + 0.2, True),
        (0.3 - 0.1, True),
        (0.07 * 3, True),
        (0.3000001, False),
        (0.30000000000001, False),
    ],
    ids=[
        "0.57",
        "0.5",
        "0",
        "1",
        "0.555-too-fine",
        "1.01-over-max",
        "negative",
        "0.1+0.2-float-noise",
        "0.3-0.1-float-noise",
        "0.07x3-float-noise",
        "0.3000001-written-digits",
        "0.30000000000001-beyond-noise",
    ],
)
def test_temperature_is_0_to_1_in_steps_of_a_hundredth(value: float, valid: bool) -> None:
    problems = check_request("runware", _sync_task(temperature=value))
    assert (not problems) == valid, problems
    if not valid:
        assert problems[0].path == ("providerSettings", "sync", "temperature")


def test_a_step_violation_says_the_step() -> None:
    (problem,) = check_request("runware", _sync_task(temperature=0.555))
    assert problem.message == "0.555 is not in steps of 0.01: use at most 2 decimal places"
    assert (
        problem.source is not None
        and "#request-providersettings-sync-temperature" in problem.source
    )


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("outputQuality", 19, "allowed: 20 to 99"),
        ("outputQuality", 100, "allowed: 20 to 99"),
        ("numberResults", 5, "allowed: 1 to 4"),
        ("numberResults", 0, "allowed: 1 to 4"),
        ("ttl", 59, "the minimum is 60"),
        ("outputFormat", "GIF", "allowed output formats (MP4, WEBM, MOV)"),
        ("outputType", "base64Data", "allowed output types (URL)"),
        ("deliveryMethod", "sync", "allowed delivery methods (async)"),
        ("webhookURL", "not a url", "is not an http(s) URL"),
    ],
    ids=[
        "quality-19",
        "quality-100",
        "results-5",
        "results-0",
        "ttl-59",
        "format-gif",
        "output-type-base64",
        "delivery-sync",
        "webhook-not-url",
    ],
)
def test_platform_options_outside_their_documented_range(
    field: str, value: Any, fragment: str
) -> None:
    for task in (_lipsync_task(speech={"text": "hi", "voice": "auto"}), _sync_task()):
        (problem,) = check_request("runware", {**task, field: value})
        assert problem.path == (field,)
        assert fragment in problem.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("outputQuality", 20), ("outputQuality", 99), ("numberResults", 4), ("ttl", 60)],
    ids=["quality-20", "quality-99", "results-4", "ttl-60"],
)
def test_platform_options_at_their_documented_bounds(field: str, value: int) -> None:
    assert check_request("runware", {**_sync_task(), field: value}) == []


def test_safety_mode_is_none_fast_or_full() -> None:
    assert (
        check_request("runware", {**_sync_task(), "safety": {"checkContent": True, "mode": "full"}})
        == []
    )
    (problem,) = check_request("runware", {**_sync_task(), "safety": {"mode": "ful"}})
    assert problem.suggestion == "full"
    assert "allowed safety modes (none, fast, full)" in problem.message


@pytest.mark.parametrize(
    "uuid",
    ["6ba7b810-9dad-11d1-80b4-00c04fd430c8", "550e8400-e29b-41d4-c716-446655440000", "28fa…", 42],
    ids=["v1-from-seed-001", "v4-bad-variant", "elided", "not-a-string"],
)
def test_task_uuid_must_be_a_uuid_v4(uuid: object) -> None:
    (problem,) = check_request("runware", {**_sync_task(), "taskUUID": uuid})
    assert problem.path == ("taskUUID",)


def test_task_uuid_is_required() -> None:
    task = _sync_task()
    del task["taskUUID"]
    (problem,) = check_request("runware", task)
    assert problem.message == "'taskUUID' is required"
    assert problem.path == ("taskUUID",)


def test_unknown_model_lists_the_six_with_a_suggestion() -> None:
    (problem,) = check_request("runware", _video_task("pixverse:1@4"))
    assert problem.path == ("model",)
    for model in runware_models():
        assert model in problem.message
    assert len(runware_models()) == 6
    (problem,) = check_request("runware", _runware_task("sync:lipsync-2"))
    assert problem.suggestion == "sync:lipsync-2@1"


def test_unknown_task_type_suggests_the_nearest() -> None:
    (problem,) = check_request("runware", {"taskType": "getresponse", "taskUUID": V4_UUID})
    assert problem.path == ("taskType",)
    assert problem.suggestion == "getResponse"


def test_paths_in_a_task_array_start_with_the_index() -> None:
    ok = _sync_task()
    bad = {**_sync_task(), "taskUUID": "5313e0c2-7a4d-4b8e-9f1a-3c2d1e0f9a8b", "ttl": 10}
    (problem,) = check_request("runware", [ok, bad])
    assert problem.json_path == "$[1].ttl"


def test_an_empty_task_array_is_a_problem() -> None:
    (problem,) = check_request("runware", [])
    assert "empty" in problem.message


def test_a_task_that_is_not_an_object() -> None:
    (problem,) = check_request("runware", ["videoInference"])
    assert problem.json_path == "$[0]"
    assert "a JSON object" in problem.message


# ---- PixVerse video models (https://runware.ai/docs/en/providers/pixverse#video-models)


@pytest.mark.parametrize(
    ("model", "width", "height", "suggestion"),
    [
        ("pixverse:1@1", 202, 360, "270x360"),
        ("pixverse:1@2", 405, 540, "360x480"),
        ("pixverse:1@3", 607, 1080, "540x960"),
        ("pixverse:1@5", 1000, 1000, "1080x1080"),
        ("pixverse:1@1", 360, 480, "405x540"),
    ],
    ids=["v3.5-202x360", "v4-405x540", "v4.5-607x1080", "v5-square", "v3.5-has-no-360x480"],
)
def test_a_size_outside_the_model_table_lists_the_table_and_the_nearest(
    model: str, width: int, height: int, suggestion: str
) -> None:
    (problem,) = check_request("runware", _video_task(model, width=width, height=height))
    assert problem.code == "size"
    assert f"{width}x{height} is not a size {model} allows" in problem.message
    assert "1920x1080" in problem.message  # the allowed pairs are listed
    assert problem.suggestion == suggestion


@pytest.mark.parametrize(
    ("model", "width", "height"),
    [
        ("pixverse:1@1", 270, 360),
        ("pixverse:1@1", 810, 1080),
        ("pixverse:1@2", 360, 480),
        ("pixverse:1@3", 1080, 1440),
        ("pixverse:1@5", 720, 960),
    ],
    ids=["v3.5-3:4-360p", "v3.5-3:4-1080p", "v4-3:4-360p", "v4.5-3:4-1080p", "v5-3:4-720p"],
)
def test_the_3_4_sizes_differ_between_v3_5_and_later_models(
    model: str, width: int, height: int
) -> None:
    assert check_request("runware", _video_task(model, width=width, height=height)) == []


def test_width_without_height_is_a_problem() -> None:
    task = _video_task()
    del task["height"]
    (problem,) = check_request("runware", task)
    assert problem.json_path == "$.height"
    assert "when 'width' is set" in problem.message


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("duration", 6, "allowed durations (seconds) (5, 8)"),
        ("fps", 30, "allowed frame rates (16, 24)"),
        ("positivePrompt", "a", "allowed: 2 to 2048 characters"),
        ("positivePrompt", "a" * 2049, "allowed: 2 to 2048 characters"),
        ("negativePrompt", "x", "allowed: 2 to 2048 characters"),
        ("frameImages", [{"inputImage": "u", "frame": "middle"}], "allowed frames (first, last)"),
        ("frameImages", [{"inputImage": "u"}] * 3, "allowed: 1 to 2 items"),
    ],
    ids=[
        "duration-6",
        "fps-30",
        "prompt-1-char",
        "prompt-2049",
        "negative-1-char",
        "frame-middle",
        "three-frames",
    ],
)
def test_video_model_parameters(field: str, value: Any, fragment: str) -> None:
    problems = check_request("runware", _video_task(**{field: value}))
    assert problems and fragment in problems[0].message, problems
    assert problems[0].path[0] == field


def test_the_positive_prompt_is_required() -> None:
    task = _video_task()
    del task["positivePrompt"]
    assert [p.message for p in check_request("runware", task)] == ["'positivePrompt' is required"]


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [("crane_u", "crane_up"), ("hitchcoc", "hitchcock"), ("zoom_i", "zoom_in")],
    ids=["crane_u", "hitchcoc", "zoom_i"],
)
def test_camera_movement_typos_from_the_examples_get_a_suggestion(
    value: str, suggestion: str
) -> None:
    task = _video_task("pixverse:1@3", providerSettings={"pixverse": {"cameraMovement": value}})
    (problem,) = check_request("runware", task)
    assert problem.message.startswith(f"'{value}' is not one of the allowed camera movements (")
    assert problem.message.count(", ") == 20  # all 21 listed
    assert problem.suggestion == suggestion


@pytest.mark.parametrize(
    ("model", "allowed"),
    [
        ("pixverse:1@1", False),
        ("pixverse:1@2", True),
        ("pixverse:1@3", True),
        ("pixverse:1@5", False),
    ],
    ids=["v3.5", "v4", "v4.5", "v5"],
)
def test_camera_movement_only_on_v4_and_v4_5(model: str, allowed: bool) -> None:
    task = _video_task(model, providerSettings={"pixverse": {"cameraMovement": "zoom_in"}})
    problems = check_request("runware", task)
    assert (not problems) == allowed
    if not allowed:
        assert "available on PixVerse v4 and v4.5 only" in problems[0].message


def test_effect_and_camera_movement_are_exclusive() -> None:
    settings = {"effect": "kiss kiss", "cameraMovement": "zoom_in"}
    (problem,) = check_request("runware", _video_task(providerSettings={"pixverse": settings}))
    assert problem.message == "set either 'effect' or 'cameraMovement', not both"
    assert problem.json_path == "$.providerSettings.pixverse"
    assert problem.source is not None and "mutually exclusive" in problem.source


@pytest.mark.parametrize(
    ("settings", "path", "suggestion"),
    [
        ({"motionmode": "fast"}, "$.providerSettings.pixverse.motionmode", "motionMode"),
        ({"watermark": False}, "$.providerSettings.pixverse.watermark", None),
        ({"style": "anmie"}, "$.providerSettings.pixverse.style", "anime"),
        ({"effect": "jiggle"}, "$.providerSettings.pixverse.effect", "jiggle jiggle"),
        ({"motionMode": "slow"}, "$.providerSettings.pixverse.motionMode", None),
        (
            {"soundEffectSwitch": True, "soundEffectContent": "x"},
            "$.providerSettings.pixverse.soundEffectContent",
            None,
        ),
    ],
    ids=[
        "motionmode-heading-spelling",
        "watermark",
        "style-typo",
        "effect-prefix",
        "motion-slow",
        "sound-effect-1-char",
    ],
)
def test_pixverse_provider_settings(
    settings: dict[str, Any], path: str, suggestion: str | None
) -> None:
    (problem,) = check_request("runware", _video_task(providerSettings={"pixverse": settings}))
    assert problem.json_path == path
    assert problem.suggestion == suggestion


def test_sound_effects_are_allowed_on_every_pixverse_video_model() -> None:
    settings = {"soundEffectSwitch": True, "soundEffectContent": "ocean waves"}
    for model in ("pixverse:1@1", "pixverse:1@2", "pixverse:1@3", "pixverse:1@5"):
        assert (
            check_request("runware", _video_task(model, providerSettings={"pixverse": settings}))
            == []
        )


# ---- PixVerse LipSync on Runware (https://runware.ai/docs/models/pixverse-lipsync)


def test_lipsync_with_tts_or_audio_file_is_valid() -> None:
    assert (
        check_request("runware", _lipsync_task(speech={"text": "Hello", "voice": "Sophia"})) == []
    )
    inputs = {"referenceVideos": ["https://e.com/v.mp4"], "audio": "https://e.com/a.mp3"}
    assert check_request("runware", _lipsync_task(inputs=inputs)) == []


def test_lipsync_speech_and_audio_file_are_exclusive() -> None:
    inputs = {"referenceVideos": ["https://e.com/v.mp4"], "audio": "https://e.com/a.mp3"}
    task = _lipsync_task(inputs=inputs, speech={"text": "Hello", "voice": "auto"})
    (problem,) = check_request("runware", task)
    assert problem.message == "set either 'speech' (text-to-speech) or 'inputs.audio', not both"


def test_lipsync_needs_an_audio_source() -> None:
    (problem,) = check_request("runware", _lipsync_task())
    assert problem.message == "set one of 'speech' (text-to-speech) or 'inputs.audio'"


@pytest.mark.parametrize(
    "videos", [[], ["https://e.com/a.mp4", "https://e.com/b.mp4"]], ids=["none", "two"]
)
def test_lipsync_takes_exactly_one_reference_video(videos: list[str]) -> None:
    task = _lipsync_task(inputs={"referenceVideos": videos}, speech={"text": "Hi", "voice": "auto"})
    (problem,) = check_request("runware", task)
    assert problem.json_path == "$.inputs.referenceVideos"
    assert "exactly 1 allowed" in problem.message


def test_voice_2_points_to_james() -> None:
    (problem,) = check_request("runware", _lipsync_task(speech={"text": "Hi", "voice": "2"}))
    assert problem.message.startswith("'2' is not one of the allowed voices (Emily, James, ")
    assert "auto)" in problem.message
    assert "PixVerse's native speaker_id for James" in problem.message
    assert problem.suggestion == "James"
    assert problem.source is not None and problem.source.startswith(
        "https://runware.ai/docs/models/pixverse-lipsync#request-speech-voice"
    )


def test_speech_text_is_at_most_200_characters() -> None:
    assert (
        check_request("runware", _lipsync_task(speech={"text": "a" * 200, "voice": "auto"})) == []
    )
    (problem,) = check_request(
        "runware", _lipsync_task(speech={"text": "a" * 201, "voice": "auto"})
    )
    assert problem.json_path == "$.speech.text"
    assert "201 characters long" in problem.message


def test_speech_needs_text_and_voice() -> None:
    (problem,) = check_request("runware", _lipsync_task(speech={"text": "Hello"}))
    assert problem.message == "'voice' is required"
    assert problem.json_path == "$.speech.voice"


# ---- sync lipsync-2 (https://runware.ai/docs/models/sync-lipsync-2)


def _segment(**fields: Any) -> dict[str, Any]:
    return {"startTime": 0, "endTime": 2, "audio": "https://e.com/a.wav", **fields}


def test_audio_start_time_without_audio_end_time() -> None:
    (problem,) = check_request("runware", _sync_task(segments=[_segment(audioStartTime=1)]))
    assert problem.json_path == "$.providerSettings.sync.segments[0].audioEndTime"
    assert "must be used together" in problem.message


def test_audio_end_time_without_audio_start_time() -> None:
    (problem,) = check_request("runware", _sync_task(segments=[_segment(audioEndTime=1)]))
    assert problem.json_path == "$.providerSettings.sync.segments[0].audioStartTime"


@pytest.mark.parametrize(
    ("segment", "path", "fragment"),
    [
        ({"startTime": -1}, "startTime", "the minimum is 0"),
        ({"startTime": 0.005}, "startTime", "steps of 0.01"),
        ({"endTime": 2.555}, "endTime", "steps of 0.01"),
        ({"audio": ""}, "audio", "is not an http(s) URL"),
        ({"ref": "x"}, "ref", "is not a documented property of segment"),
    ],
    ids=["negative-start", "start-too-fine", "end-too-fine", "empty-audio", "sdk-only-ref"],
)
def test_segment_fields(segment: dict[str, Any], path: str, fragment: str) -> None:
    (problem,) = check_request("runware", _sync_task(segments=[_segment(**segment)]))
    assert problem.json_path == f"$.providerSettings.sync.segments[0].{path}"
    assert fragment in problem.message


def test_segment_required_fields() -> None:
    problems = check_request("runware", _sync_task(segments=[{}]))
    assert sorted(str(p.field_name) for p in problems) == ["audio", "endTime", "startTime"]


def test_sync_mode_is_one_of_five() -> None:
    (problem,) = check_request("runware", _sync_task(syncMode="cutoff"))
    assert "allowed sync modes (bounce, loop, cut_off, silence, remap)" in problem.message
    assert problem.suggestion == "cut_off"


def test_lipsync_2_needs_an_input_video() -> None:
    task = _sync_task()
    task["inputs"] = {"audio": "https://e.com/a.wav"}
    (problem,) = check_request("runware", task)
    assert problem.json_path == "$.inputs.video"


# ---- other Runware tasks


def test_media_storage_upload_needs_media() -> None:
    task = {"taskType": "mediaStorage", "taskUUID": V4_UUID, "operation": "upload"}
    (problem,) = check_request("runware", task)
    assert problem.json_path == "$.media"


def test_ping_and_authentication() -> None:
    assert check_request("runware", [{"taskType": "ping", "ping": True}]) == []
    (problem,) = check_request("runware", {"taskType": "authentication"})
    assert problem.json_path == "$.apiKey"


# ---------------------------------------------------------------------------- PixVerse Platform

GENERATE = "/openapi/v2/video/lip_sync/generate"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"video_media_id": 1, "source_video_id": 2, "audio_media_id": 3},
            "set either 'source_video_id' or 'video_media_id', not both",
        ),
        ({"audio_media_id": 3}, "set one of 'source_video_id' or 'video_media_id'"),
        (
            {
                "video_media_id": 1,
                "audio_media_id": 3,
                "lip_sync_tts_speaker_id": "1",
                "lip_sync_tts_content": "Hi",
            },
            "set either 'audio_media_id' or 'lip_sync_tts_speaker_id' + 'lip_sync_tts_content', not both",
        ),
        (
            {"video_media_id": 1},
            "set one of 'audio_media_id' or 'lip_sync_tts_speaker_id' + 'lip_sync_tts_content'",
        ),
    ],
    ids=["two-video-sources", "no-video-source", "two-audio-sources", "no-audio-source"],
)
def test_pixverse_one_video_source_and_one_audio_source(body: dict[str, Any], message: str) -> None:
    (problem,) = check_request("pixverse", body, endpoint=GENERATE)
    assert problem.message == message
    assert problem.path == ()
    assert problem.source is not None and "not both" in problem.source


@pytest.mark.parametrize("speaker", [str(i) for i in range(1, 15)] + ["Auto"])
def test_pixverse_takes_the_fifteen_speaker_ids(speaker: str) -> None:
    body = {"video_media_id": 1, "lip_sync_tts_speaker_id": speaker, "lip_sync_tts_content": "Hi"}
    assert check_request("pixverse", body, endpoint=GENERATE) == []


@pytest.mark.parametrize(
    ("speaker", "suggestion"),
    [("James", None), ("Emily", None), ("auto", "Auto")],
    ids=["name-james", "name-emily", "lowercase-auto-from-the-spec-example"],
)
def test_pixverse_rejects_other_speaker_ids(speaker: str, suggestion: str | None) -> None:
    body = {"video_media_id": 1, "lip_sync_tts_speaker_id": speaker, "lip_sync_tts_content": "Hi"}
    (problem,) = check_request("pixverse", body, endpoint=GENERATE)
    assert problem.json_path == "$.lip_sync_tts_speaker_id"
    assert "allowed TTS speaker ids (1, 2, 3" in problem.message
    assert problem.suggestion == suggestion


def test_pixverse_ids_are_integers() -> None:
    (problem,) = check_request(
        "pixverse", {"video_media_id": "1", "audio_media_id": 2}, endpoint=GENERATE
    )
    assert problem.message == "'1' is a string; expected an integer"


def test_pixverse_upload_needs_file_or_url() -> None:
    (problem,) = check_request("pixverse", {}, endpoint="/openapi/v2/media/upload")
    assert problem.message == "set one of 'file' or 'file_url'"


def test_pixverse_query_parameters_come_from_the_endpoint() -> None:
    assert (
        check_request(
            "pixverse",
            None,
            endpoint="/openapi/v2/video/lip_sync/tts_list?page_num=2",
            method="GET",
        )
        == []
    )
    (problem,) = check_request(
        "pixverse", None, endpoint="/openapi/v2/video/lip_sync/tts_list?page_size=-1", method="GET"
    )
    assert problem.json_path == "$.page_size"


def test_pixverse_result_path_template_and_its_parameter() -> None:
    assert (
        check_request("pixverse", None, endpoint="/openapi/v2/video/result/3771", method="GET")
        == []
    )
    (problem,) = check_request(
        "pixverse", None, endpoint="/openapi/v2/video/result/abc", method="GET"
    )
    assert "video_id" in problem.message


# ---------------------------------------------------------------------------- endpoints and usage


def test_endpoints_per_provider() -> None:
    assert endpoints("runware") == [
        "authentication",
        "getResponse",
        "getTaskDetails",
        "mediaStorage",
        "ping",
        "videoInference",
    ]
    assert GENERATE in endpoints("pixverse")
    assert "/openapi/v2/video/result/{video_id}" in endpoints("pixverse")
    assert "/api/v3/predictions/{id}/result" in endpoints("wavespeed")


def test_find_endpoint_matches_method_and_template() -> None:
    found = find_endpoint("wavespeed", "GET", "/api/v3/predictions/abc123/result")
    assert found is not None
    endpoint, params = found
    assert params == {"id": "abc123"}
    assert endpoint.response == "prediction.response.json"
    assert find_endpoint("wavespeed", "POST", "/api/v3/predictions/abc123/result") is None
    assert find_endpoint("pixverse", "POST", "/openapi/v2/nothing") is None


def test_a_full_url_is_read_as_its_path() -> None:
    url = "https://api.wavespeed.ai/api/v3/pixverse/lipsync"
    assert check_request("wavespeed", {"video": "v", "audio": "a"}, endpoint=url) == []


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: check_request("runwar", {}), "did you mean 'runware'?"),
        (lambda: check_request("pixverse", {}), "needs an endpoint"),
        (
            lambda: check_request("pixverse", {}, endpoint="/openapi/v2/video/lip_sync/generat"),
            "did you mean '/openapi/v2/video/lip_sync/generate'?",
        ),
        (
            lambda: check_request("runware", {}, endpoint="videoinference"),
            "did you mean 'videoInference'?",
        ),
        (
            lambda: check_response("runware", {"data": []}, model="pixverse:1@9"),
            "unknown Runware model",
        ),
        (lambda: endpoints("fal"), "known: pixverse, runware, wavespeed"),
        (lambda: validator_for("runware/nothing.json"), "unknown schema"),
    ],
    ids=[
        "provider-typo",
        "no-endpoint",
        "endpoint-typo",
        "task-type-typo",
        "model-typo",
        "unknown-provider",
        "unknown-schema",
    ],
)
def test_usage_errors_list_the_valid_choices(call: Any, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        call()
    assert fragment in caught.value.message


def test_validators_are_compiled_once() -> None:
    rel = "runware/videoInference.sync-lipsync-2-1.json"
    by_path = validator_for(rel)
    assert validator_for(rel) is by_path
    assert validator_for(f"https://lipflow.dev/schemas/{rel}").schema is by_path.schema


# ---------------------------------------------------------------------------- responses

TASK = "c1df2a47-5b1e-4f3a-8c6d-0e9b8a7f6d5c"
VIDEO = "d7e8f9a0-2b5c-4e7f-a1d3-9c8b7a6e5d4f"


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"taskType": "videoInference", "taskUUID": TASK}]},
        {"data": [{"taskType": "videoInference", "taskUUID": TASK, "status": "processing"}]},
        {
            "data": [
                {
                    "taskType": "videoInference",
                    "taskUUID": TASK,
                    "status": "success",
                    "videoUUID": VIDEO,
                    "videoURL": "https://im.runware.ai/video/v.mp4",
                    "cost": 0.1,
                    "seed": 7,
                    "NSFWContent": False,
                }
            ]
        },
        {
            "errors": [
                {
                    "code": "invalidApiKey",
                    "message": "Invalid API key. Get one at https://my.runware.ai/signup",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                }
            ]
        },
        {"data": [{"taskType": "authentication", "connectionSessionUUID": TASK}]},
        {"data": [{"taskType": "ping", "pong": True}]},
        {
            "data": [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": TASK,
                    "mediaUUID": VIDEO,
                    "mediaURL": "https://im.runware.ai/m.mp3",
                }
            ]
        },
        {
            "data": [{"taskType": "videoInference", "taskUUID": TASK}],
            "errors": [
                {
                    "code": "timeoutProvider",
                    "message": "took too long",
                    "taskUUID": TASK,
                    "taskType": "videoInference",
                }
            ],
        },
    ],
    ids=[
        "ack",
        "processing",
        "success",
        "invalid-api-key",
        "auth-ok",
        "pong",
        "media-stored",
        "data-and-errors",
    ],
)
def test_runware_documented_replies_are_accepted(body: dict[str, Any]) -> None:
    assert check_response("runware", body) == []


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({}, "$", "set at least one of 'data' or 'errors'"),
        ({"data": [{"taskUUID": TASK}]}, "$.data[0].taskType", "'taskType' is required"),
        (
            {"data": [{"taskType": "videoInference", "taskUUID": TASK, "status": "success"}]},
            "$.data[0].videoUUID",
            "'videoUUID' is required",
        ),
        (
            {"data": [{"taskType": "videoInference", "taskUUID": TASK, "status": "done"}]},
            "$.data[0].status",
            "allowed running statuses",
        ),
        ({"errors": [{"message": "no code"}]}, "$.errors[0].code", "'code' is required"),
        ({"data": [{"taskType": "ping", "pong": False}]}, "$.data[0].pong", "it must be true"),
        ({"data": [{"taskType": "imageInference"}]}, "$.data[0].taskType", "reply task types"),
        ({"data": [], "extra": 1}, "$.extra", "is not a documented property"),
    ],
    ids=[
        "empty",
        "item-without-task-type",
        "success-without-video",
        "unknown-status",
        "error-without-code",
        "pong-false",
        "unknown-task-type",
        "extra-envelope-key",
    ],
)
def test_runware_malformed_replies_are_rejected(
    body: dict[str, Any], path: str, fragment: str
) -> None:
    problems = check_response("runware", body)
    assert [p.json_path for p in problems] == [path]
    assert fragment in problems[0].message


def _pixverse(resp: object, code: int = 0) -> dict[str, Any]:
    return {
        "ErrCode": code,
        "ErrMsg": "success" if code == 0 else "Invalid parameter",
        "Resp": resp,
    }


RESULT_STATUS_5 = {
    "create_time": "string",
    "id": 0,
    "modify_time": "string",
    "negative_prompt": "string",
    "outputHeight": 0,
    "outputWidth": 0,
    "prompt": "string",
    "resolution_ratio": 0,
    "seed": 0,
    "size": 0,
    "status": 5,
    "style": "string",
    "url": "string",
}


@pytest.mark.parametrize(
    ("endpoint", "method", "body"),
    [
        (
            "/openapi/v2/media/upload",
            "POST",
            _pixverse(
                {
                    "media_id": 0,
                    "media_type": "video",
                    "url": "https://media.pixverse.ai/111111.mp4",
                }
            ),
        ),
        (
            "/openapi/v2/media/upload",
            "POST",
            _pixverse(
                {
                    "media_id": 0,
                    "media_type": "audio",
                    "url": "https://media.pixverse.ai/111111.mp3",
                }
            ),
        ),
        (GENERATE, "POST", {"ErrCode": 0, "ErrMsg": "success", "Resp": {"video_id": 0}}),
        (
            "/openapi/v2/video/result/0",
            "GET",
            {"ErrCode": 0, "ErrMsg": "string", "Resp": RESULT_STATUS_5},
        ),
        (
            "/openapi/v2/video/result/0",
            "GET",
            {"ErrCode": 0, "ErrMsg": "string", "Resp": {**RESULT_STATUS_5, "status": 1}},
        ),
        (
            "/openapi/v2/video/lip_sync/tts_list",
            "GET",
            _pixverse(
                {
                    "total": 15,
                    "data": [
                        {"speaker_id": "2", "name": "James"},
                        {"speaker_id": "Auto", "name": "Auto"},
                    ],
                }
            ),
        ),
        (GENERATE, "POST", {"ErrCode": 400017, "ErrMsg": "Invalid parameter"}),
    ],
    ids=[
        "seed002-upload-video",
        "seed002-upload-audio",
        "seed002-generate",
        "seed002-result-status-5",
        "seed002-result-status-1",
        "tts-list",
        "error-without-resp",
    ],
)
def test_pixverse_documented_replies_are_accepted(
    endpoint: str, method: str, body: dict[str, Any]
) -> None:
    assert check_response("pixverse", body, endpoint=endpoint, method=method) == []


@pytest.mark.parametrize(
    ("endpoint", "body", "path", "fragment"),
    [
        (
            "/openapi/v2/video/result/1",
            _pixverse({**RESULT_STATUS_5, "status": 6}),
            "$.Resp.status",
            "allowed status codes (1, 5, 7, 8)",
        ),
        (
            "/openapi/v2/media/upload",
            _pixverse({"media_id": 1, "media_type": "image", "url": "u"}),
            "$.Resp.media_type",
            "allowed media types (video, audio)",
        ),
        (GENERATE, {"ErrCode": 0, "ErrMsg": "success"}, "$.Resp", "'Resp' is required"),
        (
            GENERATE,
            {"ErrMsg": "success", "Resp": {"video_id": 1}},
            "$.ErrCode",
            "'ErrCode' is required",
        ),
        (GENERATE, _pixverse({"video_id": "1"}), "$.Resp.video_id", "expected an integer"),
    ],
    ids=["status-6", "media-type-image", "success-without-resp", "no-errcode", "video-id-string"],
)
def test_pixverse_malformed_replies_are_rejected(
    endpoint: str, body: object, path: str, fragment: str
) -> None:
    problems = check_response(
        "pixverse", body, endpoint=endpoint, method="GET" if "result" in endpoint else "POST"
    )
    assert [p.json_path for p in problems] == [path]
    assert fragment in problems[0].message


WS_ENVELOPE: dict[str, Any] = {
    "code": 200,
    "message": "success",
    "data": {
        "id": "abc",
        "model": "pixverse/lipsync",
        "outputs": [],
        "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/abc/result"},
        "has_nsfw_contents": [],
        "status": "created",
        "created_at": "2023-04-01T12:34:56.789Z",
        "error": "",
        "timings": {"inference": 0},
    },
}


def _ws(**data: Any) -> dict[str, Any]:
    body = copy.deepcopy(WS_ENVELOPE)
    body["data"].update(data)
    return body


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/api/v3/pixverse/lipsync", WS_ENVELOPE),
        (
            "/api/v3/predictions/abc/result",
            _ws(
                status="completed",
                outputs=["https://cdn.wavespeed.ai/o.mp4"],
                has_nsfw_contents=[False],
            ),
        ),
        ("/api/v3/predictions/abc", _ws(status="failed", error="face not found")),
        (
            "/api/v3/media/uploads",
            {
                "code": 200,
                "message": "success",
                "data": {
                    "upload": {
                        "method": "PUT",
                        "url": "https://up.example.com/x",
                        "headers": {"Content-Type": "audio/x-wav"},
                    },
                    "download_url": "https://cdn.example.com/a.wav",
                },
            },
        ),
        ("/api/v3/pixverse/lipsync", {"code": 401, "message": "Unauthorized", "data": None}),
    ],
    ids=["submit-created", "result-completed", "result-failed", "upload-ticket", "unauthorized"],
)
def test_wavespeed_documented_replies_are_accepted(endpoint: str, body: dict[str, Any]) -> None:
    method = "POST" if endpoint in ("/api/v3/pixverse/lipsync", "/api/v3/media/uploads") else "GET"
    assert check_response("wavespeed", body, endpoint=endpoint, method=method) == []


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        (_ws(status="done"), "$.data.status", "(created, processing, completed, failed)"),
        (_ws(outputs=["https://o.mp4"]), "$.data.outputs", "at most 0 allowed"),
        ({"code": 200, "message": "success"}, "$.data", "'data' is required"),
        (_ws(id=None), "$.data.id", "expected a string"),
    ],
    ids=["unknown-status", "outputs-before-completed", "ok-without-data", "id-null"],
)
def test_wavespeed_malformed_replies_are_rejected(
    body: dict[str, Any], path: str, fragment: str
) -> None:
    problems = check_response(
        "wavespeed", body, endpoint="/api/v3/predictions/abc/result", method="GET"
    )
    assert [p.json_path for p in problems] == [path]
    assert fragment in problems[0].message


# ---------------------------------------------------------------------------- the schema files


def _schema_files() -> list[Path]:
    own = registry.names()
    return sorted(p for p in schemas_dir().rglob("*.json") if p.parent.name in own)


@pytest.mark.parametrize("path", _schema_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_schema_has_its_id_and_cites_a_source_for_every_rule(path: Path) -> None:
    doc = json.loads(path.read_text())
    rel = path.relative_to(schemas_dir()).as_posix()
    assert doc["$id"] == f"https://lipflow.dev/schemas/{rel}"
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator_for(rel).check_schema(doc)
    for where, node in walk(doc):
        if any(part in where for part in ("/if", "/then", "/else", "/anyOf/", "/oneOf/")):
            continue  # conditions and alternatives: their enclosing rule carries the citation
        properties = node.get("properties")
        for name, prop in properties.items() if isinstance(properties, dict) else ():
            if isinstance(prop, dict) and "$ref" not in prop and set(prop) != {"required"}:
                assert "$comment" in prop, f"{rel} {where}/properties/{name} has no $comment"
        rules = {"enum", "oneOf", "anyOf", "not", "dependentRequired", "minimum", "maxLength"}
        if rules & set(node):
            assert "$comment" in node, f"{rel} {where} has a rule without a $comment"


def test_the_wire_descriptions_name_only_existing_schemas() -> None:
    for provider in registry.providers():
        for endpoint in provider.wire.endpoints:
            for file in endpoint.schema_files():
                assert validator_for(f"{provider.name}/{file}") is not None
    assert "recipe.schema.json" in document_names()


def test_enumerations_have_the_documented_counts() -> None:
    pixverse = json.loads((schemas_dir() / "runware" / "pixverse.json").read_text())["$defs"]
    common = json.loads((schemas_dir() / "runware" / "common.json").read_text())["$defs"]
    assert len(pixverse["effect"]["enum"]) == 20
    assert len(pixverse["cameraMovement"]["enum"]) == 21
    assert len(pixverse["style"]["enum"]) == 5
    assert len(common["voice"]["enum"]) == 15
    assert (
        len(pixverse["dimensions_v3_5"]["anyOf"]) == len(pixverse["dimensions_v4"]["anyOf"]) == 20
    )


def test_bulk_validation_gives_the_same_verdict_every_time() -> None:
    """The compiled, cached validators answer a repeated request alike. How fast they are is
    measured by benchmarks/plan_scale.py, not asserted here: a timed assertion fails on a loaded
    machine without anything being wrong."""
    task = _sync_task(segments=[_segment()], temperature=0.57)
    bad = _sync_task(segments=[_segment()], temperature=0.555)
    for _ in range(200):
        assert not check_request("runware", task)
        assert [p.code for p in check_request("runware", bad)] == ["step"]


def test_the_shipped_recipe_schema_names_the_built_in_providers() -> None:
    """The file keeps the built-ins; loading fills both enums from the registry, whatever it holds."""
    shipped = json.loads((schemas_dir() / "recipe.schema.json").read_text())
    builtins = [name.rsplit(".", 1)[-1] for name in registry.BUILTINS]
    source = shipped["$defs"]["mediaSource"]["oneOf"][1]["properties"]["provider"]["enum"]
    assert source == shipped["$defs"]["step"]["properties"]["provider"]["enum"] == builtins
    assert builtins == list(registry.names())[: len(builtins)]


# ---------------------------------------------------------------------------- prose rules
# Constraints the docs state in a field's description rather than in its table: each is encoded,
# cites its page and anchor, and a bad example is rejected with a message that says the fix.


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("https://e.com/v.mp4", True),
        ("http://127.0.0.1:8080/media/v.mp4", True),
        ("c64351d5-4c59-42f7-95e1-eace013eddab", True),
        ("data:video/mp4;base64,AAAA", True),
        ("/home/me/interview.mp4", False),
        ("interview.mp4", False),
        ("ftp://e.com/v.mp4", False),
        ("c64351d5-4c59-42f7-95e1", False),
    ],
    ids=["https", "http", "uuid", "data-uri", "local-path", "file-name", "ftp", "cut-uuid"],
)
def test_media_inputs_are_a_uuid_or_a_url(value: str, valid: bool) -> None:
    """inputs.video / inputs.audio / inputs.referenceVideos: "UUID or URL"."""
    task = _runware_task(
        "sync:lipsync-2@1", inputs={"video": value, "audio": "https://e.com/a.wav"}
    )
    problems = check_request("runware", task)
    assert (not problems) == valid, problems
    if not valid:
        (problem,) = problems
        assert problem.json_path == "$.inputs.video"
        assert (
            problem.message
            == f"{value!r} is not a media UUID or a URL (https://..., or a data: URI)"
        )
        assert problem.source is not None
        assert (
            "https://runware.ai/docs/models/sync-lipsync-2#request-inputs-video" in problem.source
        )


def test_a_reference_video_that_is_a_local_path_is_rejected() -> None:
    task = _lipsync_task(
        inputs={"referenceVideos": ["clip.mp4"]}, speech={"text": "Hi", "voice": "auto"}
    )
    (problem,) = check_request("runware", task)
    assert problem.json_path == "$.inputs.referenceVideos[0]"
    assert "is not a media UUID or a URL" in problem.message


def test_a_segment_audio_is_a_url_not_a_media_uuid() -> None:
    """segments.audio: "Audio source URL", where inputs take "UUID or URL"."""
    segment = _segment(audio="b4c57832-2075-492b-bf89-9b5e3ac02503")
    (problem,) = check_request("runware", _sync_task(segments=[segment]))
    assert problem.json_path == "$.providerSettings.sync.segments[0].audio"
    assert "is not an http(s) URL (a segment's audio is a URL, not a media UUID)" in problem.message
    assert problem.source is not None
    assert "#request-providersettings-sync-segments-audio" in problem.source


def test_lipsync_2_needs_audio_from_inputs_or_segments() -> None:
    """A lip sync aligns a video to audio: inputs.audio or segments, though neither is marked
    required on its own."""
    task = _runware_task("sync:lipsync-2@1", inputs={"video": "https://e.com/v.mp4"})
    (problem,) = check_request("runware", task)
    assert problem.message == (
        "set at least one of 'inputs.audio' or "
        "'providerSettings.sync.segments' (each with its own audio)"
    )
    assert problem.source is not None and "#request-inputs-audio" in problem.source
    with_segments = _runware_task(
        "sync:lipsync-2@1",
        inputs={"video": "https://e.com/v.mp4"},
        providerSettings={"sync": {"segments": [_segment()]}},
    )
    assert check_request("runware", with_segments) == []


def test_each_task_of_a_request_has_its_own_task_uuid() -> None:
    """taskUUID: "Must be unique per task"."""
    first = _sync_task()
    second = _sync_task(temperature=0.5)
    (problem,) = check_request("runware", [first, second])
    assert problem.json_path == "$[1].taskUUID"
    assert (
        problem.message
        == f"taskUUID '{V4_UUID}' is already task 0's; give each task its own UUID v4"
    )
    assert problem.source is not None and "#request-taskuuid" in problem.source


def test_a_poll_may_name_the_task_it_polls_in_the_same_request() -> None:
    poll = {"taskType": "getResponse", "taskUUID": V4_UUID}
    assert check_request("runware", [_sync_task(), poll]) == []


def test_one_first_frame_and_one_last_frame() -> None:
    """frameImages: PixVerse takes "first and last frame", one image for each end."""
    frames = [
        {"inputImage": "c64351d5-4c59-42f7-95e1-eace013eddab", "frame": "first"},
        {"inputImage": "d7e8f9a0-2b5c-4e7f-a1d3-9c8b7a6e5d4f", "frame": "first"},
    ]
    (problem,) = check_request("runware", _video_task(frameImages=frames))
    assert problem.json_path == "$.frameImages[1].frame"
    assert problem.message == (
        "frameImages 0 and 1 are both the 'first' frame; "
        "give one image per end: one 'first' and, optionally, one 'last'"
    )
    assert problem.suggestion == "last"
    assert problem.source is not None and "#video-models" in problem.source


def test_sound_effect_content_without_the_switch_is_a_warning() -> None:
    """soundEffectContent "works in conjunction with soundEffectSwitch": alone it does nothing."""
    task = _video_task(providerSettings={"pixverse": {"soundEffectContent": "ocean waves"}})
    (problem,) = check_request("runware", task)
    assert not problem.is_error
    assert problem.json_path == "$.providerSettings.pixverse.soundEffectContent"
    assert "ignored unless soundEffectSwitch is true" in problem.message
    assert problem.source is not None and problem.source.endswith(
        "#request-providersettings-pixverse-soundeffectcontent"
    )
