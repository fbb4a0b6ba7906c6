"""The header reader (lipflow.probe) answers exactly as PyAV does, or leaves the file to PyAV.

Every media file in the repository, files PyAV writes (MP4 and MOV with the index first or last,
audio-only MP4, fragmented MP4, WebM, WAV of several sample formats, MP3), hand-built boxes (a
64-bit movie header, a 64-bit box size) and damaged copies (truncated anywhere, size fields
overwritten with hostile values) go through :func:`lipflow.media.probe_input` and through
:func:`lipflow.media.probe_with_pyav`: the same MediaInfo, or the same InputError."""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from lipflow import media
from lipflow.errors import InputError
from lipflow.probe import read_header, read_image_size

REPO = Path(__file__).parents[2]
REPO_MEDIA = sorted(
    p
    for p in (REPO / "recipes").rglob("*")
    if p.suffix in {".mp4", ".mov", ".wav", ".mp3", ".m4a", ".webm"}
)


def outcome(probe: Callable[[Path], object], path: Path) -> object:
    try:
        return probe(path)
    except InputError as exc:
        return f"InputError: {exc}"


def assert_same_as_pyav(path: Path) -> None:
    assert outcome(media.probe_input, path) == outcome(media.probe_with_pyav, path), path


def encode(path: Path, *, video: bool, audio: bool, options: dict[str, str] | None = None) -> Path:
    """A short clip written by FFmpeg: H.264 and/or AAC, muxer options as given."""
    with av.open(str(path), "w", options=options or {}) as out:
        v = out.add_stream("libx264", rate=25) if video else None
        a = out.add_stream("aac", rate=16000, layout="mono") if audio else None
        if v is not None:
            v.width, v.height, v.pix_fmt = 48, 32, "yuv420p"
            for i in range(30):
                frame = av.VideoFrame(48, 32, "yuv420p")
                for plane in frame.planes:
                    plane.update(bytes([(i * 9) % 256]) * (plane.line_size * plane.height))
                frame.pts = i
                out.mux(v.encode(frame))
            out.mux(v.encode(None))
        if a is not None:
            for i in range(20):
                sound = av.AudioFrame(format="fltp", layout="mono", samples=1024)
                sound.planes[0].update(struct.pack("<1024f", *([0.1] * 1024)))
                sound.sample_rate, sound.pts = 16000, i * 1024
                out.mux(a.encode(sound))
            out.mux(a.encode(None))
    return path


def wav(path: Path, *, tag: int, channels: int, rate: int, bits: int, frames: int) -> Path:
    """A RIFF/WAVE file written byte by byte (tag 0xFFFE: WAVE_FORMAT_EXTENSIBLE)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if tag == 0xFFFE:
        sub = 3 if bits == 64 else 1
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", sub)
        fmt += b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    data = bytes(frames * align)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # an odd chunk, padded
    chunks += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


def box(kind: bytes, body: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body
    return struct.pack(">I4s", 8 + len(body), kind) + body


def real_avcc(width: int, height: int) -> bytes:
    """The avcC box (H.264 decoder configuration) of a clip FFmpeg encoded at that size."""
    data = media.synthesize_video(1.0, width=width, height=height)
    at = data.index(b"avcC") - 4
    return data[at : at + struct.unpack_from(">I", data, at)[0]]


def handmade_mp4(
    *, mvhd_version: int, timescale: int, duration: int, large: bool, track: int | None = None
) -> bytes:
    """An MP4 with no samples: ftyp, moov (mvhd, one avc1 video track), an empty mdat. The
    track's own duration (mdhd, tkhd; 32-bit) is ``track``, else the movie's."""
    if mvhd_version == 1:
        mvhd = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, duration)
    else:
        mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration)
    mvhd += struct.pack(">IH10x36x24xI", 0x10000, 0x100, 2)
    avcc = real_avcc(64, 48)
    avc1 = box(
        b"avc1",
        bytes(6)
        + struct.pack(">H16xHHIIIH32sHh", 1, 64, 48, 0x480000, 0x480000, 0, 1, bytes(32), 24, -1)
        + avcc,
    )
    stsd = box(b"stsd", struct.pack(">II", 0, 1) + avc1)
    empty = struct.pack(">II", 0, 0)
    stbl = box(
        b"stbl",
        stsd
        + box(b"stts", empty)
        + box(b"stsc", empty)
        + box(b"stsz", struct.pack(">III", 0, 0, 0))
        + box(b"stco", empty),
    )
    short = min(duration if track is None else track, 2**32 - 1)
    hdlr = box(b"hdlr", struct.pack(">II4s12x", 0, 0, b"vide") + b"Video\x00")
    mdhd = box(b"mdhd", struct.pack(">B3xIIIIHH", 0, 0, 0, timescale, short, 0x55C4, 0))
    mdia = box(b"mdia", mdhd + hdlr + box(b"minf", stbl))
    tkhd = box(
        b"tkhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1, 0)
        + struct.pack(">I", short)
        + bytes(60)
        + struct.pack(">II", 64 << 16, 48 << 16),
    )
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", tkhd + mdia), large=large)
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomavc1")
    return ftyp + moov + box(b"mdat", b"")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    files = {
        "av.mp4": encode(d / "av.mp4", video=True, audio=True),
        "faststart.mp4": encode(
            d / "faststart.mp4", video=True, audio=True, options={"movflags": "faststart"}
        ),
        "audio.m4a": encode(d / "audio.m4a", video=False, audio=True),
        "video.mov": encode(d / "video.mov", video=True, audio=True),
        "fragmented.mp4": encode(
            d / "fragmented.mp4",
            video=True,
            audio=False,
            options={"movflags": "frag_keyframe+empty_moov"},
        ),
        "pcm16.wav": wav(d / "pcm16.wav", tag=1, channels=1, rate=16000, bits=16, frames=16001),
        "pcm24.wav": wav(d / "pcm24.wav", tag=1, channels=2, rate=44100, bits=24, frames=99999),
        "pcm8.wav": wav(d / "pcm8.wav", tag=1, channels=1, rate=8000, bits=8, frames=3),
        "float.wav": wav(
            d / "float.wav", tag=3, channels=2, rate=48000, bits=32, frames=48000 * 3 + 7
        ),
        "extensible.wav": wav(
            d / "extensible.wav", tag=0xFFFE, channels=6, rate=48000, bits=16, frames=12345
        ),
        "extensible64.wav": wav(
            d / "extensible64.wav", tag=0xFFFE, channels=1, rate=22050, bits=64, frames=22051
        ),
    }
    for seconds, width, height in ((5.3, 96, 64), (0.04, 16, 16), (12.345, 36, 64)):
        for container in ("mp4", "mov", "webm"):
            name = f"synth-{seconds}-{width}x{height}.{container}"
            clip = media.synthesize_video(seconds, width=width, height=height, container=container)
            (d / name).write_bytes(clip)
            files[name] = d / name
    for seconds in (0.01, 3.47, 7.5):
        for container in ("wav", "mp3"):
            name = f"synth-{seconds}.{container}"
            (d / name).write_bytes(media.synthesize_audio(seconds, container=container))  # type: ignore[arg-type]
            files[name] = d / name
    handmade = {
        "handmade-v0.mp4": dict(mvhd_version=0, timescale=1000, duration=8000, large=False),
        "handmade-v1.mp4": dict(mvhd_version=1, timescale=90000, duration=1_234_567, large=False),
        "handmade-large-moov.mp4": dict(mvhd_version=0, timescale=600, duration=1, large=True),
        "handmade-thirds.mp4": dict(mvhd_version=0, timescale=3, duration=2, large=False),
        "handmade-track-shorter.mp4": dict(
            mvhd_version=0, timescale=1000, duration=8000, large=False, track=5000
        ),
        "handmade-track-unknown.mp4": dict(
            mvhd_version=1, timescale=48000, duration=2**33 + 17, large=True
        ),
    }
    for name, shape in handmade.items():
        (d / name).write_bytes(handmade_mp4(**shape))  # type: ignore[arg-type]
        files[name] = d / name
    return files


@pytest.mark.parametrize("path", REPO_MEDIA, ids=lambda p: p.name)
def test_every_media_file_in_the_repository_probes_as_pyav_says(path: Path) -> None:
    assert_same_as_pyav(path)


def test_every_generated_file_probes_as_pyav_says(generated: dict[str, Path]) -> None:
    for path in generated.values():
        assert_same_as_pyav(path)


def test_plain_mp4_mov_and_pcm_wav_are_read_from_their_headers(generated: dict[str, Path]) -> None:
    read = sorted(n for n, p in generated.items() if read_header(str(p), p.stat().st_size))
    left = sorted(set(generated) - set(read))
    assert "presenter.mp4" in {p.name for p in REPO_MEDIA if read_header(str(p), p.stat().st_size)}
    assert [n for n in left if not n.endswith((".mp3", ".webm"))] == [
        "fragmented.mp4",
        "handmade-track-shorter.mp4",
        "handmade-track-unknown.mp4",
    ]
    assert all(n.endswith((".mp4", ".m4a", ".mov", ".wav")) for n in read)


def test_media_held_in_memory_probes_as_the_same_file_on_disk(generated: dict[str, Path]) -> None:
    for name in ("av.mp4", "video.mov", "pcm24.wav", "synth-3.47.wav"):
        path = generated[name]
        in_memory = media.probe_bytes(path.read_bytes(), name=str(path))
        assert in_memory == media.probe_with_pyav(path)


def held_probe(path: Path) -> object:
    """What a download's check says of ``path``: probed with its bytes held (as written)."""
    return media.probe(path, held=path.read_bytes())


def test_a_download_probed_from_the_bytes_it_wrote_answers_as_the_file_on_disk(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    data = generated["av.mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    paths = [*generated.values(), *REPO_MEDIA, cut, noise, _empty(tmp_path)]
    for path in paths:
        assert outcome(held_probe, path) == outcome(media.probe, path), path


@pytest.mark.parametrize("name", ["av.mp4", "faststart.mp4", "audio.m4a", "pcm16.wav"])
def test_a_file_cut_short_anywhere_probes_as_pyav_says(
    generated: dict[str, Path], tmp_path: Path, name: str
) -> None:
    data = generated[name].read_bytes()
    cuts = sorted({*range(1, 64, 3), *range(0, len(data), max(1, len(data) // 40)), len(data) - 1})
    for cut in cuts[1:]:
        path = tmp_path / f"cut-{cut}-{name}"
        path.write_bytes(data[:cut])
        assert_same_as_pyav(path)


def box_offsets(data: bytes) -> list[int]:
    """Where every box header (and every RIFF chunk header) starts, found by walking them."""
    found: list[int] = []
    if data[:4] == b"RIFF":
        at = 12
        while at + 8 <= len(data):
            found.append(at)
            at += 8 + math.ceil(struct.unpack_from("<I", data, at + 4)[0] / 2) * 2
        return found

    def walk(start: int, end: int) -> None:
        at = start
        while at + 8 <= end:
            length, kind = struct.unpack_from(">I4s", data, at)
            if length < 8 or at + length > end:
                return
            found.append(at)
            if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
                walk(at + 8, at + length)
            elif kind == b"stsd":
                walk(at + 16, at + length)
            at += length

    walk(0, len(data))
    return found


HOSTILE_SIZES = (0, 1, 7, 8, 9, 0x7FFFFFFF, 0xFFFFFFFF)


@pytest.mark.parametrize("name", ["av.mp4", "audio.m4a", "extensible.wav", "float.wav"])
def test_hostile_sizes_and_types_in_any_header_probe_as_pyav_says(
    generated: dict[str, Path], tmp_path: Path, name: str
) -> None:
    data = generated[name].read_bytes()
    riff = data[:4] == b"RIFF"
    offsets = box_offsets(data)
    assert len(offsets) >= 3
    for i, at in enumerate(offsets):
        size_at, type_at = (at + 4, at) if riff else (at, at + 4)
        pack = "<I" if riff else ">I"
        for size in HOSTILE_SIZES:
            bad = bytearray(data)
            struct.pack_into(pack, bad, size_at, size)
            path = tmp_path / f"size-{i}-{size}-{name}"
            path.write_bytes(bad)
            assert_same_as_pyav(path)
        bad = bytearray(data)
        bad[type_at : type_at + 4] = b"junk"
        path = tmp_path / f"type-{i}-{name}"
        path.write_bytes(bad)
        assert_same_as_pyav(path)


def test_a_box_claiming_more_bytes_than_exist_is_never_allocated(tmp_path: Path) -> None:
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00")
    for claim in (
        struct.pack(">I4sQ", 1, b"moov", 2**63),
        struct.pack(">I4s", 0xFFFFFFF0, b"moov"),
    ):
        path = tmp_path / "hostile.mp4"
        path.write_bytes(ftyp + claim + bytes(64))
        assert read_header(str(path), path.stat().st_size) is None
        assert_same_as_pyav(path)


def test_garbage_and_text_files_give_the_error_they_gave_before(tmp_path: Path) -> None:
    samples = {
        "noise.mp4": bytes((i * 37 + 11) % 256 for i in range(4096)),
        "ftyp-only.mp4": box(b"ftyp", b"isom\x00\x00\x02\x00"),
        "riff-only.wav": b"RIFF\x04\x00\x00\x00WAVE",
        "notes.wav": b"just some text, not a recording\n" * 10,
    }
    for name, data in samples.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert isinstance(outcome(media.probe_input, path), str)
        assert_same_as_pyav(path)
    with pytest.raises(InputError, match="empty"):
        media.probe_input(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return path


def test_reading_a_header_leaves_an_in_memory_file_where_it_was(generated: dict[str, Path]) -> None:
    buf = io.BytesIO(generated["av.mp4"].read_bytes())
    buf.seek(5)
    assert read_header(buf, len(buf.getvalue())) is not None
    assert buf.tell() == 5


def still(path: Path, width: int, height: int, options: dict[str, str] | None = None) -> Path:
    """A still image written by FFmpeg in the format its extension names."""
    codec, pix, fmt = {
        ".png": ("png", "rgb24", None),
        ".jpg": ("mjpeg", "yuvj420p", "image2"),
        ".webp": ("libwebp", "bgra" if options else "yuv420p", "webp"),
        ".gif": ("gif", "rgb8", None),
    }[path.suffix]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, pix
        stream.options = options or {}
        frame = av.VideoFrame(width, height, "rgb24").reformat(format=pix)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "lossy.webp", "lossless.webp", "a.gif"])
def test_still_images_probe_as_pyav_says_from_their_headers(tmp_path: Path, name: str) -> None:
    options = {"lossless": "1"} if name == "lossless.webp" else None
    for width, height in ((1280, 720), (301, 4001), (17, 9)):
        path = still(tmp_path / f"{width}-{name}", width, height, options)
        assert media.probe_input(path) == media.probe_with_pyav(path), path
        header = read_image_size(str(path))
        assert header is not None and (header.width, header.height) == (width, height)
