"""`lipflow plan` on lip syncs past a model's limits: the cuts land in the pauses of the driving
audio, every piece is within every documented limit (duration, bytes, resolution, billing
blocks), each piece shows its range, reason, size and cost, and routing shows both prices."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from click.testing import CliRunner

from lipflow.catalog import load_catalog
from lipflow.cli import cli
from lipflow.longmedia import speech_like, talking_video
from lipflow.longmedia.synthesis import INTERVIEW_PAUSES, INTERVIEW_SECONDS

REPO = Path(__file__).parents[2]
LONG_INTERVIEW = REPO / "recipes" / "long_interview.yaml"


def plan(recipe: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["plan", str(recipe), *extra])
    return result.exit_code, result.stdout, result.stderr


def plan_json(recipe: Path) -> dict[str, Any]:
    code, out, err = plan(recipe, "--format", "json")
    assert code == 0, out + err
    return json.loads(out)  # type: ignore[no-any-return]


def write_recipe(folder: Path, video: Path, audio: Path, **step: Any) -> Path:
    recipe = folder / "recipe.yaml"
    lines = [
        "version: 1",
        "inputs:",
        f"  talk: {{video: {video.name}}}",
        f"  voice: {{audio: {audio.name}}}",
        "steps:",
        "  dub:",
        "    lipsync: {video: talk, audio: voice}",
        *(f"    {key}: {json.dumps(value)}" for key, value in step.items()),
    ]
    recipe.write_text("\n".join(lines) + "\n")
    return recipe


def test_the_long_interview_is_planned_as_pieces_cut_in_its_pauses() -> None:
    plan_out = plan_json(LONG_INTERVIEW)
    pieces = [j["piece"] for j in plan_out["jobs"]]
    limit = load_catalog().model(plan_out["jobs"][0]["model_id"]).limits["video"]["max_seconds"]
    assert len(pieces) >= math.ceil(INTERVIEW_SECONDS / limit)
    assert pieces[0]["start"] == 0 and pieces[-1]["end"] == INTERVIEW_SECONDS
    for before, after in itertools.pairwise(pieces):
        assert before["end"] == after["start"]
        cut = after["start"]
        # Within a pause of the voice track (or the quiet tail of the syllable before it).
        assert any(lo - 0.3 <= cut <= hi for lo, hi in INTERVIEW_PAUSES), cut
        assert "pause" in after["why"]
    for job in plan_out["jobs"]:
        piece = job["piece"]
        assert piece["end"] - piece["start"] <= limit
        assert job["media"]["video"]["duration"] == round(piece["end"] - piece["start"], 3)
        assert job["cost"]["usd"] > 0
    assert not plan_out["errors"]


def test_routing_shows_one_job_on_a_model_without_the_limit_against_pieces_on_a_cheaper_one() -> (
    None
):
    (choice,) = plan_json(LONG_INTERVIEW)["choices"]
    assert choice["model"] == "runware/pixverse-lipsync"
    assert "in 5 pieces vs" in choice["reason"]
    assert "as one job on runware/sync-lipsync-2" in choice["reason"]
    rejected = {r["model"]: r["why"] for r in choice["rejected"]}
    assert rejected["runware/sync-lipsync-2"].startswith("costs $5.7200 as one job vs $1.7")


def test_the_text_plan_shows_each_pieces_range_reason_size_and_cost() -> None:
    code, out, _ = plan(LONG_INTERVIEW)
    assert code == 0
    assert "piece 2 of 5: 27.23-55.48 s (28.25 s) of dub" in out
    assert "    cut: in a 0.54 s pause (26.96-27.50 s)" in out
    assert (
        "    video: 160x90, about 20,752 bytes, re-encode: the cut at 27.23 s is not on a keyframe"
        in out
    )
    assert "    audio: 904,044 bytes (PCM WAV, cut sample-exact)" in out
    assert "  cost: $0.3842  = 28.25 s of audio x $0.0136/s" in out


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    audio = folder / "voice.wav"
    speech_like(audio, 70.0, [(14.0, 14.6), (29.0, 29.8), (44.0, 44.5), (58.0, 58.7)])
    return audio


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "talk.mp4"
    talking_video(path, 70.0, width=64, height=36, fps=10)
    return path


def _pieces(recipe: Path) -> list[dict[str, Any]]:
    return [j["piece"] for j in plan_json(recipe)["jobs"]]


def _in_folder(tmp_path: Path, *files: Path) -> None:
    for f in files:
        (tmp_path / f.name).symlink_to(f)


@pytest.mark.parametrize(
    "model",
    ["runware/pixverse-lipsync", "pixverse/lipsync", "wavespeed/pixverse-lipsync"],
)
def test_every_piece_is_within_the_models_documented_duration(
    tmp_path: Path, video: Path, speech: Path, model: str
) -> None:
    _in_folder(tmp_path, video, speech)
    plan_out = plan_json(write_recipe(tmp_path, video, speech, use=model))
    limits = load_catalog().model(model).limits
    for job in plan_out["jobs"]:
        seconds = job["piece"]["end"] - job["piece"]["start"]
        assert seconds <= limits["video"]["max_seconds"]
        assert seconds <= limits["audio"]["max_seconds"]
        if "max_bytes" in limits["audio"]:
            assert job["piece"]["audio_bytes"] <= limits["audio"]["max_bytes"]
    assert not plan_out["errors"]


def test_a_piece_may_be_exactly_the_documented_maximum_and_not_a_frame_more(
    tmp_path: Path, video: Path, speech: Path
) -> None:
    _in_folder(tmp_path, video, speech)
    model = "runware/pixverse-lipsync"
    exact = _pieces(write_recipe(tmp_path, video, speech, use=model, cut={"at": [30.0, 60.0]}))
    assert [p["end"] - p["start"] for p in exact] == [30.0, 30.0, 10.0]
    code, _, err = plan(write_recipe(tmp_path, video, speech, use=model, cut={"at": [30.1]}))
    assert code == 1
    assert (
        "recipe.yaml:9:10:" in err
        and "at $.steps.dub.cut: runware/pixverse-lipsync: piece 1 (0-30.1 s) is 30.1 s long; "
        "at most 30 s is allowed"
        in err
    )


def test_wavespeed_pieces_are_priced_per_started_5_s_each(
    tmp_path: Path, video: Path, speech: Path
) -> None:
    _in_folder(tmp_path, video, speech)
    plan_out = plan_json(write_recipe(tmp_path, video, speech, use="wavespeed/pixverse-lipsync"))
    for job in plan_out["jobs"]:
        seconds = job["media"]["video"]["duration"]
        assert job["cost"]["usd"] == pytest.approx(0.15 * math.ceil(seconds / 5))


def test_explicit_cut_times_show_where_they_fall(tmp_path: Path, video: Path, speech: Path) -> None:
    _in_folder(tmp_path, video, speech)
    pieces = _pieces(write_recipe(tmp_path, video, speech, cut={"at": [14.3, 40.0]}))
    assert [p["start"] for p in pieces] == [0.0, 14.3, 40.0]
    assert pieces[1]["why"].startswith("set in the recipe (cut.at), in a pause")
    assert pieces[2]["why"].startswith("set in the recipe (cut.at), inside sound at")


def test_the_cut_policy_is_checked_by_the_recipe_schema(
    tmp_path: Path, video: Path, speech: Path
) -> None:
    _in_folder(tmp_path, video, speech)
    code, _, err = plan(write_recipe(tmp_path, video, speech, cut={"max_second": 20}))
    assert code == 1
    assert "recipe.yaml:8:" in err and "max_second" in err and "did you mean 'max_seconds'" in err


def _noise_video(path: Path, seconds: float, width: int, height: int, fps: int = 10) -> None:
    """Lossless H.264 of random pixels: about as many bytes a second as a video can have."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "0"}
        for i in range(round(seconds * fps)):
            rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_a_video_over_the_byte_limit_is_cut_into_pieces_under_it(tmp_path: Path) -> None:
    video, audio = tmp_path / "talk.mp4", tmp_path / "voice.wav"
    _noise_video(video, 24.0, 320, 180)
    speech_like(audio, 24.0, [(6.0, 6.5), (12.0, 12.6), (18.0, 18.5)])
    most = load_catalog().model("runware/pixverse-lipsync").limits["video"]["max_bytes"]
    assert video.stat().st_size > most, "the source must break the 20 MB limit by itself"
    plan_out = plan_json(write_recipe(tmp_path, video, audio, use="runware/pixverse-lipsync"))
    assert len(plan_out["jobs"]) >= 2
    assert all(j["piece"]["video_bytes"] <= most for j in plan_out["jobs"])
    assert not plan_out["errors"]


def test_a_video_over_the_pixel_limit_is_a_planning_error_unless_fit_scale(
    tmp_path: Path, speech: Path
) -> None:
    wide = tmp_path / "wide.mp4"
    talking_video(wide, 70.0, width=1936, height=16, fps=2)
    _in_folder(tmp_path, speech)
    code, _, err = plan(write_recipe(tmp_path, wide, speech, use="pixverse/lipsync"))
    assert code == 1
    assert "the video is 1936x16; the model accepts at most 1920 px on its longest side" in err
    assert "set fit: scale" in err
    scaled = plan_json(write_recipe(tmp_path, wide, speech, use="pixverse/lipsync", fit="scale"))
    for job in scaled["jobs"]:
        assert job["piece"]["size"] == [1920, 14]
        assert job["piece"]["video_method"].startswith("re-encode: scaled from 1936x16 to 1920x14")
        assert job["media"]["video"]["width"] == 1920
    assert not scaled["errors"]


def test_cut_and_fit_on_a_generate_step_are_errors_on_their_lines(tmp_path: Path) -> None:
    recipe = tmp_path / "gen.yaml"
    recipe.write_text(
        "version: 1\nsteps:\n  teaser:\n    use: runware/pixverse-v4\n"
        "    generate: {prompt: a lighthouse, duration: 5, size: 1280x720}\n"
        "    cut: {max_seconds: 10}\n    fit: scale\n"
    )
    code, _, err = plan(recipe)
    assert code == 1
    assert "gen.yaml:6:" in err and "cut applies to lip-sync steps" in err
    assert "gen.yaml:7:" in err and "fit applies to lip-sync steps" in err
