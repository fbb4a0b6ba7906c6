"""Image-to-video from a recipe, and routing that honours every documented input limit, as a
user meets them through `validate` and `plan` (text and JSON)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.media import synthesize_video
from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]


def _image(path: Path, width: int, height: int) -> Path:
    """A real still image of ``width`` x ``height`` in the format its extension names."""
    import av

    codec, pix, fmt = {
        ".png": ("png", "rgb24", None),
        ".jpg": ("mjpeg", "yuvj420p", "image2"),
        ".webp": ("libwebp", "yuv420p", "webp"),
        ".gif": ("gif", "rgb8", None),
    }[path.suffix]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, pix
        frame = av.VideoFrame(width, height, "rgb24")
        frame.planes[0].update(bytes([90]) * (frame.planes[0].line_size * height))
        for packet in stream.encode(frame.reformat(format=pix)):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _plan_json(path: Path) -> tuple[int, dict[str, Any], str]:
    code, out, err = _invoke("plan", "--format", "json", str(path))
    return code, json.loads(out), err


I2V = """version: 1
inputs:
  first: {image: FIRST}
  last: {image: LAST}
steps:
  clip:
    generate: {prompt: "the lighthouse keeper waves", image: first, last_image: last, size: 1280x720}
"""


def _refused(recipe: Path, text: str) -> tuple[Path, str]:
    """``text`` written to ``recipe``, which `validate` refuses (exit 1): its report."""
    recipe.write_text(text)
    code, out, _ = _invoke("validate", str(recipe))
    assert code == 1, out
    return recipe, out


def _validate_first_frame(folder: Path, name: str) -> tuple[int, str, Path]:
    """`validate` of the image-to-video recipe whose first frame is ``name`` (last: a JPEG)."""
    _image(folder / "last.jpg", 640, 360)
    recipe = folder / "i2v.yaml"
    recipe.write_text(I2V.replace("FIRST", name).replace("LAST", "last.jpg"))
    code, out, _ = _invoke("validate", str(recipe))
    return code, out, recipe


def test_a_local_png_and_jpeg_become_the_first_and_last_frames(folder: Path) -> None:
    _image(folder / "first.png", 1280, 720)
    _image(folder / "last.jpg", 640, 360)
    recipe = folder / "i2v.yaml"
    recipe.write_text(I2V.replace("FIRST", "first.png").replace("LAST", "last.jpg"))
    code, out, _ = _invoke("validate", str(recipe))
    assert code == 0, out
    code, plan, err = _plan_json(recipe)
    assert code == 0, err
    (job,) = plan["jobs"]
    uploads = [r["purpose"] for r in job["requests"] if r["purpose"].startswith("upload")]
    assert uploads == ["upload image 'first'", "upload image 'last'"]
    submit = next(r for r in job["requests"] if r["purpose"] == "submit")
    frames = submit["json"][0]["frameImages"]
    assert [f["frame"] for f in frames] == ["first", "last"]
    media = job["media"]
    assert (media["image"]["width"], media["image"]["format"]) == (1280, "png")
    assert (media["last_image"]["height"], media["last_image"]["format"]) == (360, "jpeg")
    code, out, _ = _invoke("plan", str(recipe))
    assert code == 0 and "upload image 'first'" in out


def test_an_image_url_is_passed_as_it_is(folder: Path) -> None:
    recipe = folder / "i2v.yaml"
    recipe.write_text(
        I2V.replace("FIRST", "https://example.com/first.webp").replace(
            "LAST", "https://example.com/last.png"
        )
    )
    code, plan, err = _plan_json(recipe)
    assert code == 0, err
    submit = plan["jobs"][0]["requests"][-2]
    assert submit["json"][0]["frameImages"][0]["inputImage"] == "https://example.com/first.webp"


@pytest.mark.parametrize(
    ("name", "size", "words"),
    [
        ("small.webp", (200, 400), "the image is 200 px on its shortest side; "),
        ("huge.png", (4100, 320), "the image is 4100 px on its longest side; "),
        ("anim.gif", (320, 320), "the image is GIF; runware/pixverse-v4 takes PNG, JPEG, WEBP"),
    ],
    ids=["under-300px", "over-4000px", "not-png-jpeg-webp"],
)
def test_images_outside_the_documented_limits_are_refused_on_their_line(
    folder: Path, name: str, size: tuple[int, int], words: str
) -> None:
    _image(folder / name, *size)
    code, out, recipe = _validate_first_frame(folder, name)
    assert code == 1
    assert f"{recipe}:3:10: error [job clip] at $.inputs.first: {words}" in out
    assert "no model offering video.image, video.text takes this image" in out
    code, plan, err = _plan_json(recipe)
    assert code == 1 and words in err
    assert any(words in p["message"] for p in plan["errors"])


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` (pixels are never decoded to check
    one, so a few rows of them do): FFmpeg reads such a size as 0x0."""
    row = b"\x00" + b"\x5a" * (3 * width)
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(row * 4)),
        (b"IEND", b""),
    ]
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + b"".join(
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
            for kind, data in chunks
        )
    )
    return path


def test_an_image_bigger_than_ffmpeg_decodes_is_held_to_its_true_size(folder: Path) -> None:
    _png_header(folder / "huge.png", 30000, 30000)
    code, out, recipe = _validate_first_frame(folder, "huge.png")
    assert code == 1
    assert (
        f"{recipe}:3:10: error [job clip] at $.inputs.first: the image is 30000 px on its "
        "longest side; runware/pixverse-v4 accepts at most 4000 px on its longest side"
    ) in out


def test_an_image_whose_size_cannot_be_read_is_refused_not_passed(folder: Path) -> None:
    # A BMP lipflow's header reader does not know, declaring 30000x30000: FFmpeg says 0x0.
    info = struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    (folder / "huge.bmp").write_bytes(
        b"BM" + struct.pack("<IHHI", 14 + 40 + 64, 0, 0, 54) + info + bytes(64)
    )
    code, out, recipe = _validate_first_frame(folder, "huge.bmp")
    assert code == 1
    assert (
        f"{recipe}:3:3: error at $.inputs.first: input 'first': "
        "the BMP image's width and height cannot be read"
    ) in out


def test_an_image_input_that_is_a_video_is_said_so(folder: Path) -> None:
    _image(folder / "last.jpg", 640, 360)
    recipe = folder / "i2v.yaml"
    recipe.write_text(I2V.replace("FIRST", "media/presenter.mp4").replace("LAST", "last.jpg"))
    code, out, _ = _invoke("validate", str(recipe))
    assert code == 1
    assert "input 'first' is declared as image, but media/presenter.mp4 is a video file" in out


LIPSYNC = """version: 1
inputs:
  presenter: {video: VIDEO}
steps:
  dub:
    PROVIDERlipsync: {video: presenter, tts: {text: "Hi", voice: Emily}}
"""


def test_routing_passes_over_a_model_whose_limit_an_input_breaks_and_says_which(
    folder: Path,
) -> None:
    recipe = folder / "route.yaml"
    recipe.write_text(
        LIPSYNC.replace(
            "VIDEO", '"https://example.com/p.mp4", size_bytes: 21000000, duration: 10'
        ).replace("PROVIDER", "")
    )
    code, out, _ = _invoke("plan", "--no-requests", str(recipe))
    assert code == 0, out
    assert "step dub: pixverse/lipsync" in out
    why = "video 'presenter': the video is 21 MB; runware/pixverse-lipsync accepts at most 20 MB"
    assert f"rejected runware/pixverse-lipsync: {why}" in out
    code, plan, _ = _plan_json(recipe)
    assert {"model": "runware/pixverse-lipsync", "why": why} in plan["choices"][0]["rejected"]


def test_an_input_no_model_takes_is_an_error_naming_each_models_limit(folder: Path) -> None:
    recipe = folder / "route.yaml"
    recipe.write_text(
        LIPSYNC.replace("VIDEO", '"https://example.com/p.mp4", duration: 45').replace(
            "PROVIDER", ""
        )
    )
    for args in (("validate",), ("plan",)):
        code, out, err = _invoke(*args, str(recipe))
        assert code == 1
        for model in ("runware/pixverse-lipsync", "pixverse/lipsync"):
            assert f"the video is 45 s; {model} accepts at most 30 s" in out + err


def test_pixverse_platform_refuses_video_wider_than_1920_px(folder: Path) -> None:
    (folder / "wide.mp4").write_bytes(synthesize_video(1.0, width=2048, height=16))
    recipe = folder / "wide.yaml"
    recipe.write_text(
        LIPSYNC.replace("VIDEO", "wide.mp4").replace("PROVIDER", "provider: pixverse\n    ")
    )
    code, out, _ = _invoke("validate", "--format", "json", str(recipe))
    report = json.loads(out)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["code"] == "media-too-wide"]
    assert problem["message"].startswith(
        "the video is 2048 px on its longest side; pixverse/lipsync accepts at most 1920 px"
    )
    assert problem["path"] == "$.inputs.presenter"


def test_a_video_too_wide_for_the_provider_asked_for_is_said_by_its_size_and_the_limit(
    folder: Path,
) -> None:
    # With audio the video could be cut into pieces, but no piece is narrower: the limit and
    # the video's size are said, not the other providers the step did not ask for.
    (folder / "wide.mp4").write_bytes(synthesize_video(1.0, width=7680, height=16))
    recipe, out = _refused(
        folder / "wide.yaml",
        "version: 1\ninputs:\n  v: {video: wide.mp4}\n  a: {audio: media/voice_en.wav}\n"
        "steps:\n  s:\n    provider: pixverse\n    lipsync: {video: v, audio: a}\n",
    )
    assert out.splitlines()[0] == (
        f"{recipe}:6:3: error [job s] at $.steps.s: no pixverse model offering lipsync.audio "
        "can take step 's': pixverse/lipsync: the video is 7680x16; the model accepts at most "
        "1920 px on its longest side: set fit: scale to scale it down"
    )


def test_a_provider_without_the_capability_asked_for_is_said_so_at_provider(
    folder: Path,
) -> None:
    recipe, out = _refused(
        folder / "gen.yaml",
        "version: 1\nsteps:\n  s:\n    provider: pixverse\n    generate: {prompt: a cat}\n",
    )
    assert (
        f"{recipe}:4:15: error [job s] at $.steps.s.provider: provider pixverse has no model "
        "offering video.text; models that do: runware/pixverse-v3.5"
    ) in out


SEGMENTS = """version: 1
inputs:
  clip: {video: media/interview.mp4}
  answer: {audio: media/answer_1.wav}
segments:
  answers:
    ranges:
      - {start: 0, end: 3, audio: answer}
      - {start: 4, end: 25, audio: answer, audio_start: 5, audio_end: 4.5}
steps:
  sync:
    lipsync: {video: clip, segments: answers}
"""


def test_segments_are_held_against_the_lengths_of_their_video_and_audio(folder: Path) -> None:
    recipe, out = _refused(folder / "segments.yaml", SEGMENTS)
    assert (
        f"{recipe}:9:25: error [job sync] at $.segments.answers.ranges[1].end: "
        "end 25 s is past the end of video 'clip', which lasts 20 s"
    ) in out
    assert "audio_start 5 s is past the end of audio 'answer', which lasts 4.5 s" in out
    assert "audio_end 4.5 s is past" not in out, "4.5 s is the audio's own length: within it"
    assert (
        f"{recipe}:9:71: error at $.segments.answers.ranges[1].audio_end: "
        "audio_end 4.5 s must be after audio_start 5 s"
    ) in out
    code, plan, err = _plan_json(recipe)
    assert code == 1 and "end 25 s is past the end of video 'clip'" in err
    assert {p["code"] for p in plan["errors"]} == {"segment-past-end", "audio-range"}


@pytest.mark.parametrize(
    ("range_", "step_extra", "where", "words"),
    [
        (
            "{start: 2, end: 4, audio: answer}",
            "",
            (9, 17, "$.segments.answers.ranges[1].start"),
            "this range (2 s to 4 s) overlaps range 0 (0 s to 3 s) of the same video; "
            "start it at 3 s or later",
        ),
        (
            "{start: 6, end: 5, audio: answer}",
            "    bogus: 1\n",  # sets the step aside: the range is still said
            (9, 25, "$.segments.answers.ranges[1].end"),
            "end 5 s must be after start 6 s",
        ),
        (
            "{start: 4.005, end: 6, audio: answer}",
            "",
            (9, 17, "$.segments.answers.ranges[1].start"),
            "4.005 is not in steps of 0.01",
        ),
    ],
    ids=["overlap", "order-in-a-step-set-aside", "provider-rule"],
)
def test_a_segment_range_at_fault_is_placed_on_that_range_whatever_else_is_wrong(
    folder: Path, range_: str, step_extra: str, where: tuple[int, int, str], words: str
) -> None:
    path = folder / "recipe.yaml"
    second = "{start: 4, end: 25, audio: answer, audio_start: 5, audio_end: 4.5}"
    path.write_text(SEGMENTS.replace(second, range_) + step_extra, encoding="utf-8")
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    assert got == 1
    found = [p for p in json.loads(out)["problems"] if words in p["message"]]
    assert [(p["line"], p["column"], p["path"]) for p in found] == [where]


@pytest.mark.parametrize(
    ("declared", "file", "said"),
    [
        ("video", "voice.wav", "holds no video stream: it is an audio file"),
        ("audio", "silent.mp4", "holds no audio stream: it is a video without sound"),
    ],
)
def test_an_input_without_the_stream_it_is_declared_as_is_refused_before_it_is_paid_for(
    folder: Path, declared: str, file: str, said: str
) -> None:
    """A lip sync bought with an audio file as its video, or a silent video as its voice, can
    only fail or come back wrong: both are said on the input's line, and nothing is planned."""
    from lipflow.media import synthesize_audio

    (folder / "voice.wav").write_bytes(synthesize_audio(4.0))
    (folder / "silent.mp4").write_bytes(synthesize_video(4.0))
    video, audio = ("voice.wav", "voice.wav") if declared == "video" else ("silent.mp4", file)
    recipe = folder / "r.yaml"
    recipe.write_text(
        "version: 1\n"
        f"inputs:\n  face: {{video: {video}}}\n  voice: {{audio: {audio}}}\n"
        "steps:\n  s:\n    lipsync: {video: face, audio: voice}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(recipe)])
    assert result.exit_code == 1, result.output
    line = 3 if declared == "video" else 4
    assert f"r.yaml:{line}:" in result.output
    assert said in result.output
