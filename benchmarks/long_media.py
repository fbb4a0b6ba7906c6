"""How long planning and joining a 10-minute lip sync takes, against a plain re-mux of the same media.

Makes a 10-minute interview (160x90, 10 fps video; speech-like audio with a pause every 9-14 s)
and, outside the timings, the lip-synced pieces a provider would return for it (video carrying
its driving audio, as the mock makes them). Each round then times, back to back:

- baseline: a plain PyAV re-mux of those pieces into one MP4 (packets copied, timestamps shifted:
  what ``ffmpeg -f concat -c copy`` does), the cheapest way to put the same media in one file;
- lipflow: ``plan`` of the recipe (probing, measuring the pauses, placing the cuts, pricing)
  plus ``assemble`` (every piece fitted to its planned length, re-encoded once, verified).

Prints the per-round ratio lipflow / baseline as min / median / max and the goal (<= 1.5x).

    python benchmarks/long_media.py [--minutes 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

GOAL = 1.5


def remux(pieces: list[Path], dest: Path) -> None:
    """The pieces' packets, copied into one MP4 with timestamps shifted to follow each other."""
    import av

    with av.open(str(dest), "w", format="mp4") as out:
        with av.open(str(pieces[0])) as first:
            streams = {
                s.type: out.add_stream_from_template(s)
                for s in first.streams
                if s.type in ("video", "audio")
            }
        offsets = dict.fromkeys(streams, 0.0)
        for path in pieces:
            with av.open(str(path)) as src:
                ends = dict(offsets)
                for packet in src.demux():
                    kind = packet.stream.type
                    if packet.pts is None or kind not in streams:
                        continue
                    base = packet.time_base
                    shift = round(offsets[kind] / base)
                    packet.pts += shift
                    packet.dts = (
                        packet.dts if packet.dts is not None else packet.pts - shift
                    ) + shift
                    end = float((packet.pts + (packet.duration or 0)) * base)
                    ends[kind] = max(ends[kind], end)
                    packet.stream = streams[kind]
                    out.mux(packet)
                offsets = ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from lipflow.longmedia import AssemblyPiece, assemble, cut_audio, lipsync_output
    from lipflow.longmedia.loudness import _measured
    from lipflow.longmedia.synthesis import speech_like, talking_video
    from lipflow.plan import plan_file

    seconds = args.minutes * 60
    folder = Path(tempfile.mkdtemp(prefix="lipflow-long-media-"))
    pauses, t, step = [], 0.0, 9.0
    while t + step < seconds:
        t += step
        pauses.append((t, t + 0.6))
        step = 14.0 if step == 9.0 else 9.0
    print(f"making a {seconds:g} s interview in {folder} ...", flush=True)
    speech_like(folder / "voice.wav", seconds, pauses)
    talking_video(folder / "talk.mp4", seconds, width=160, height=90, fps=10)
    recipe = folder / "long.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  talk: {video: talk.mp4}\n  voice: {audio: voice.wav}\n"
        "steps:\n  dub:\n    use: runware/pixverse-lipsync\n    lipsync: {video: talk, audio: voice}\n"
    )
    plan = plan_file(str(recipe))
    assert plan.ok, plan.problems
    outputs, pieces = [], []
    for pj in plan.jobs:
        piece = pj.job.piece
        assert piece is not None
        wav = folder / f"{piece.index:02d}.wav"
        cut_audio(folder / "voice.wav", wav, piece.start, piece.end)
        out = folder / f"{piece.index:02d}.out.mp4"
        out.write_bytes(
            lipsync_output(
                piece.end - piece.start, width=160, height=90, audio=wav.read_bytes(), fps=10
            )
        )
        outputs.append(out)
        pieces.append(AssemblyPiece(str(out), piece.start, piece.end))
    print(f"{len(pieces)} pieces; {args.rounds} paired rounds", flush=True)

    ratios, ours, theirs = [], [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        remux(outputs, folder / "remux.mp4")
        base = time.perf_counter() - started
        _measured.cache_clear()  # measure the pauses again each round, as a fresh `plan` does
        started = time.perf_counter()
        planned = plan_file(str(recipe))
        first = planned.jobs[0].job.piece
        assert first is not None
        assemble(pieces, folder / "joined.mp4", fps=Fraction(first.fps), size=first.size)
        mine = time.perf_counter() - started
        ratios.append(mine / base)
        ours.append(mine)
        theirs.append(base)
    print(f"re-mux (baseline): median {statistics.median(theirs):.2f} s")
    print(f"plan + assemble:   median {statistics.median(ours):.2f} s")
    print(
        f"ratio per round:   min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x, "
        f"max {max(ratios):.2f}x"
    )
    met = statistics.median(ratios) <= GOAL
    print(f"goal: <= {GOAL}x the re-mux: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
