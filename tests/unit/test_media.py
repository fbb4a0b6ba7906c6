"""lipflow.media: probing real files and synthesizing valid ones of a given duration."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipflow import media
from lipflow.errors import InputError


@pytest.mark.parametrize("container", ["mp4", "mov", "webm"])
def test_synthesized_video_probes_as_video_of_the_asked_duration(
    tmp_path: Path, container: str
) -> None:
    data = media.synthesize_video(5.3, width=96, height=64, container=container)  # type: ignore[arg-type]
    path = tmp_path / f"clip.{container}"
    path.write_bytes(data)

    info = media.probe(path)

    assert info.kind == "video"
    assert info.format == container
    assert (info.width, info.height) == (96, 64)
    assert info.size_bytes == len(data)
    assert 5.3 <= info.duration_s < 5.3 + 0.05


@pytest.mark.parametrize("container", ["wav", "mp3"])
def test_synthesized_audio_probes_as_audio_of_the_asked_duration(container: str) -> None:
    data = media.synthesize_audio(3.47, container=container)  # type: ignore[arg-type]

    info = media.probe_bytes(data, name=f"a.{container}")

    assert info.kind == "audio"
    assert info.format == container
    assert info.width is None and info.height is None
    assert info.duration_s == pytest.approx(3.47, abs=0.05)


def test_mp4_video_is_h264() -> None:
    import io

    import av

    with av.open(io.BytesIO(media.synthesize_video(1.0))) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_synthesis_is_cached_by_arguments() -> None:
    assert media.synthesize_video(2.0) is media.synthesize_video(2.0)
    assert media.synthesize_video(2.0) is not media.synthesize_video(2.0, container="mov")
    assert media.synthesize_audio(2.0, container="mp3") is media.synthesize_audio(
        2.0, container="mp3"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"seconds": 0}, "seconds must be", id="zero-seconds"),
        pytest.param({"seconds": 10_000}, "seconds must be", id="too-long"),
        pytest.param(
            {"seconds": 1, "container": "avi"}, "container must be", id="unknown-container"
        ),
        pytest.param({"seconds": 1, "width": 63}, "even", id="odd-width"),
    ],
)
def test_synthesize_video_refuses_impossible_arguments(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        media.synthesize_video(**kwargs)  # type: ignore[arg-type]


def test_synthesize_audio_refuses_unknown_container() -> None:
    with pytest.raises(ValueError, match="container must be one of wav, mp3"):
        media.synthesize_audio(1.0, container="ogg")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, this is text and not a video\n" * 20, id="text"),
        pytest.param(bytes(range(256)) * 40, id="binary-noise"),
        pytest.param(media.synthesize_video(2.0)[:300], id="truncated-mp4"),
    ],
)
def test_probe_raises_input_error_naming_the_file_for_unreadable_media(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "input.mp4"
    path.write_bytes(content)

    with pytest.raises(InputError) as info:
        media.probe(path)

    assert info.value.path == str(path)
    assert info.value.exit_code == 2


def test_probe_raises_input_error_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read media file"):
        media.probe(tmp_path / "nope.wav")


def test_probe_raises_input_error_for_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        media.probe(tmp_path)


def test_importing_media_does_not_load_pyav() -> None:
    import subprocess
    import sys

    code = "import sys, lipflow.media; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _wav(seconds: float, rate: int, channels: int, fmt: int, bits: int) -> bytes:
    """A canonical WAV: RIFF, WAVE, fmt (PCM 1 or float 3), data of silence."""
    import struct

    align = channels * bits // 8
    data = b"\0" * (int(seconds * rate) * align)
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _full_probe(data: bytes) -> tuple[str, float, str]:
    """What FFmpeg finds with its default (full) stream probe: the reference."""
    import io

    import av

    with av.open(io.BytesIO(data), "r") as container:
        assert len(container.streams.audio) == 1
        assert container.duration is not None
        return "audio", round(container.duration / av.time_base, 3), container.format.name


@pytest.mark.parametrize(
    ("seconds", "rate", "channels", "fmt", "bits"),
    [(0.05, 8000, 1, 1, 8), (1.0, 16000, 1, 1, 16), (3.3, 44100, 2, 1, 16), (7.0, 48000, 2, 3, 32)],
)
def test_a_pcm_wav_probes_to_the_facts_a_full_probe_finds(
    seconds: float, rate: int, channels: int, fmt: int, bits: int
) -> None:
    data = _wav(seconds, rate, channels, fmt, bits)

    info = media.probe_bytes(data)

    assert (info.kind, info.duration_s, info.format) == _full_probe(data)
    assert info.duration_s == pytest.approx(seconds, abs=0.001)


def test_a_wav_file_probes_as_its_bytes_do(tmp_path: Path) -> None:
    data = _wav(2.5, 22050, 1, 1, 16)
    path = tmp_path / "voice.wav"
    path.write_bytes(data)

    assert media.probe(path) == media.probe_bytes(data)
