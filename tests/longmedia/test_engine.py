"""The long-media engine on synthetic media with known pauses: where cuts land, how pieces are
cut, and that assembly gives one output of the source's length with audio and video aligned at
every join (measured with PyAV)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lipflow.errors import AssemblyFailed
from lipflow.longmedia import (
    AssemblyPiece,
    CutError,
    CutPolicy,
    assemble,
    audio_facts,
    cut_audio,
    cut_video,
    find_pauses,
    lipsync_output,
    loudness_of,
    plan_cuts,
    plan_split,
    speech_like,
    talking_video,
    verify,
    video_facts,
)
from lipflow.longmedia.loudness import decode_mono, measure
from lipflow.longmedia.pieces import SplitProblem

SECONDS = 40.0
PAUSES = [(7.0, 7.6), (11.0, 11.5), (19.2, 19.9), (26.0, 26.4), (33.0, 33.8)]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """40 s of speech-like audio with five known pauses, and a video of it (keyframe every 2 s)."""
    folder = tmp_path_factory.mktemp("media")
    audio, video = folder / "speech.wav", folder / "talk.mp4"
    speech_like(audio, SECONDS, PAUSES)
    talking_video(video, SECONDS, width=96, height=54, fps=10, keyframe_seconds=2.0)
    return video, audio


def _in_a_pause(t: float) -> bool:
    """Within a known pause, or the quiet tail of the syllable before it (under -40 dBFS)."""
    return any(lo - 0.3 <= t <= hi for lo, hi in PAUSES)


def test_pauses_are_measured_from_the_audio_itself(media: tuple[Path, Path]) -> None:
    found = find_pauses(loudness_of(media[1]), silence_db=-40, min_pause=0.3)
    assert len(found) == len(PAUSES)
    for pause, (lo, hi) in zip(found, PAUSES, strict=True):
        # The quiet ends of the syllables around a pause add a little to it, never more.
        assert lo - 0.3 <= pause.start <= lo + 0.02 and hi - 0.02 <= pause.end <= hi + 0.3


@pytest.mark.parametrize("max_seconds", [10.0, 12.0, 15.0], ids=["10s", "12s", "15s"])
def test_cuts_land_in_pauses_and_keep_every_piece_within_the_limit(
    media: tuple[Path, Path], max_seconds: float
) -> None:
    cuts = plan_cuts(loudness_of(media[1]), SECONDS, CutPolicy(), max_seconds)
    bounds = [0.0, *(c.time for c in cuts), SECONDS]
    assert all(b - a <= max_seconds + 1e-9 for a, b in itertools.pairwise(bounds))
    assert all(_in_a_pause(c.time) and c.in_pause for c in cuts), cuts
    loud = loudness_of(media[1])
    assert all(loud.window(c.time - 0.04, c.time + 0.04).max() < -40 for c in cuts)
    assert all("pause" in c.reason for c in cuts)


def test_a_cut_prefers_a_keyframe_inside_the_pause(media: tuple[Path, Path]) -> None:
    keys = video_facts(media[0]).keyframes
    cuts = plan_cuts(loudness_of(media[1]), SECONDS, CutPolicy(), 12.0, keyframes=keys)
    on_keys = [c for c in cuts if c.on_keyframe]
    assert on_keys and all(c.time in keys and _in_a_pause(c.time) for c in on_keys)


def test_without_a_pause_in_reach_the_cut_goes_to_the_least_loud_point_and_says_so(
    media: tuple[Path, Path],
) -> None:
    # No pause lies in the first 6.5 s, so a 6.5 s limit must cut inside sound.
    cuts = plan_cuts(loudness_of(media[1]), SECONDS, CutPolicy(), 6.5)
    first = cuts[0]
    assert not first.in_pause
    assert first.time <= 6.5
    assert "no pause" in first.reason and "least-loud" in first.reason


def test_explicit_cut_times_are_honoured_and_checked(media: tuple[Path, Path]) -> None:
    loud = loudness_of(media[1])
    cuts = plan_cuts(loud, SECONDS, CutPolicy(at=(11.2, 26.2)), 30.0)
    assert [c.time for c in cuts] == [11.2, 26.2]
    assert all("cut.at" in c.reason and c.in_pause for c in cuts)
    with pytest.raises(CutError, match=r"piece 2 \(11.2-40 s\) is 28.8 s long; at most 15 s"):
        plan_cuts(loud, SECONDS, CutPolicy(at=(11.2,)), 15.0)
    with pytest.raises(CutError, match="must increase"):
        plan_cuts(loud, SECONDS, CutPolicy(at=(20.0, 10.0)), 30.0)
    with pytest.raises(CutError, match="outside the input"):
        plan_cuts(loud, SECONDS, CutPolicy(at=(45.0,)), 60.0)
    with pytest.raises(CutError, match=r"piece 2 \(5-5.01 s\) is 0.01 s long; .* at least 1 s"):
        plan_cuts(loud, SECONDS, CutPolicy(at=(5.0, 5.01, 30.0)), 30.0)


@pytest.mark.parametrize(
    ("seconds", "pauses", "max_seconds"),
    [
        (70.0, [(20.0, 21.0)], 30.0),  # the only pause early in the window, cut in, then again
        (61.0, [(30.1, 30.9)], 30.0),
        (40.0, PAUSES, 20.0),
        (30.5, [(29.9, 30.3)], 30.0),  # just past the limit: no tail of a few hundredths
    ],
)
def test_no_piece_is_shorter_than_a_second_nor_cut_where_the_last_cut_was(
    tmp_path: Path, seconds: float, pauses: list[tuple[float, float]], max_seconds: float
) -> None:
    """Each piece is a paid job: a piece of the rest of the pause just cut in (0.05-0.3 s) may
    hold no video frame, and fails after its siblings were bought."""
    audio = tmp_path / "speech.wav"
    speech_like(audio, seconds, pauses)
    cuts = plan_cuts(loudness_of(audio), seconds, CutPolicy(), max_seconds)
    bounds = [0.0, *(c.time for c in cuts), seconds]
    lengths = [b - a for a, b in itertools.pairwise(bounds)]
    assert min(lengths) >= 1.0, (lengths, [c.reason for c in cuts])
    assert max(lengths) <= max_seconds + 1e-9
    for cut in cuts:  # a reason names the pause as measured: never one under min_pause
        if cut.in_pause:
            assert float(cut.reason.split(" s pause")[0].rsplit(" ", 1)[1]) >= 0.3, cut.reason


def test_loudness_is_rms_in_dbfs() -> None:
    rate = 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    loud = measure(np.concatenate([tone, np.zeros(rate, dtype=np.float32)]), rate=rate)
    assert loud.db[:40].mean() == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.2)
    assert loud.db[-10:].max() <= -100


LIMITS = {"video": {"max_seconds": 12}, "audio": {"max_seconds": 12}}


def test_split_plan_gives_each_piece_its_range_reason_method_and_size(
    media: tuple[Path, Path],
) -> None:
    video, audio = video_facts(media[0]), audio_facts(media[1])
    split = plan_split(LIMITS, video, audio, CutPolicy())
    assert split.bound_by == "the model's video limit of 12 s"
    assert split.pieces[0].start == 0 and split.pieces[-1].end == SECONDS
    for piece in split.pieces:
        assert piece.seconds <= 12
        assert piece.audio_bytes == 44 + round(piece.seconds * 16000) * 2
        assert piece.video_bytes > 0
        assert piece.video_method == "stream copy" or piece.video_method.startswith("re-encode: ")
    assert split.pieces[0].why == "start of the input"


def test_a_video_over_the_pixel_limit_needs_fit_scale(media: tuple[Path, Path]) -> None:
    video, audio = video_facts(media[0]), audio_facts(media[1])
    limits = {"video": {"max_seconds": 30, "max_pixels": 64}}
    with pytest.raises(SplitProblem, match="at most 64 px on its longest side: set fit: scale"):
        plan_split(limits, video, audio, CutPolicy())
    split = plan_split(limits, video, audio, CutPolicy(), fit="scale")
    assert {p.size for p in split.pieces} == {(64, 36)}
    assert all("scaled from 96x54 to 64x36" in p.video_method for p in split.pieces)


def test_pieces_are_cut_by_stream_copy_on_keyframes_and_re_encoded_elsewhere(
    media: tuple[Path, Path], tmp_path: Path
) -> None:
    copied, encoded, sound = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.wav"
    cut_video(media[0], copied, 4.0, 10.0, copy=True)
    cut_video(media[0], encoded, 4.3, 10.0, copy=False, size=(48, 28))
    cut_audio(media[1], sound, 4.3, 10.0)
    with av.open(str(copied)) as c:
        assert c.streams.video[0].frames == 60 and not c.streams.audio
    with av.open(str(encoded)) as c:
        stream = c.streams.video[0]
        assert (stream.frames, stream.codec_context.width, stream.codec_context.height) == (
            57,
            48,
            28,
        )
    original = decode_mono(media[1], rate=16000)
    piece = decode_mono(sound, rate=16000)
    assert len(piece) == round(5.7 * 16000)
    assert np.allclose(piece, original[round(4.3 * 16000) : round(10.0 * 16000)], atol=1e-4)


def _provider_outputs(
    media: tuple[Path, Path], folder: Path, drift: list[float]
) -> list[AssemblyPiece]:
    """What a lip-sync provider returns for each piece: its driving audio with video that is a
    little too long or short (``drift`` seconds), at another frame rate and size."""
    split = plan_split(LIMITS, video_facts(media[0]), audio_facts(media[1]), CutPolicy())
    out = []
    for piece, extra in zip(split.pieces, drift, strict=False):
        wav = folder / f"{piece.index}.wav"
        cut_audio(media[1], wav, piece.start, piece.end)
        result = folder / f"{piece.index}.mp4"
        result.write_bytes(
            lipsync_output(piece.seconds + extra, width=64, height=36, audio=wav.read_bytes())
        )
        out.append(AssemblyPiece(str(result), piece.start, piece.end))
    return out


def test_assembly_gives_one_output_of_the_sources_length_with_av_aligned_at_every_join(
    media: tuple[Path, Path], tmp_path: Path
) -> None:
    pieces = _provider_outputs(media, tmp_path, [0.12, -0.2, 0.04, 0.3, -0.08])
    result = assemble(pieces, tmp_path / "out.mp4", fps=Fraction(10), size=(96, 54))
    assert abs(result.duration_s - SECONDS) <= 0.1
    assert abs(result.audio_s - SECONDS) <= 0.1
    assert result.joins == pytest.approx([p.start for p in pieces[1:]], abs=0.05)
    with av.open(result.path) as c:
        video = c.streams.video[0]
        pts = [p.pts for p in c.demux(video) if p.pts is not None]
    steps = np.diff(sorted(pts))
    assert len(set(steps.tolist())) == 1, "video timestamps run on without a gap or a jump"
    # The audio of every piece starts at its planned time: the output's loudness matches the
    # source's, pause for pause, with no lag at any join.
    source = loudness_of(media[1])
    output = measure(decode_mono(result.path))
    for piece in pieces[1:]:
        lo = round((piece.start - 2.0) / source.window_s)
        hi = round((piece.start + 2.0) / source.window_s)
        a, b = source.db[lo:hi] > -40, output.db[lo:hi] > -40
        lags = range(-5, 6)
        best = max(lags, key=lambda k: int(np.sum(np.roll(b, k) == a)))
        assert abs(best) <= 1, f"audio at the join at {piece.start} s is off by {best * 20} ms"


def test_verify_refuses_an_output_shorter_than_the_source(
    media: tuple[Path, Path], tmp_path: Path
) -> None:
    pieces = _provider_outputs(media, tmp_path, [0.0] * 5)
    short = tmp_path / "short.mp4"
    short.write_bytes(lipsync_output(SECONDS - 1, width=64, height=36, audio=None))
    with pytest.raises(AssemblyFailed, match="holds no audio"):
        verify(short, pieces, fps=Fraction(10))
    with_audio = tmp_path / "short_audio.mp4"
    with_audio.write_bytes(
        lipsync_output(SECONDS - 1, width=64, height=36, audio=media[1].read_bytes())
    )
    with pytest.raises(AssemblyFailed, match=r"video lasts 39.000 s; the source lasts 40.000 s"):
        verify(with_audio, pieces, fps=Fraction(25))
