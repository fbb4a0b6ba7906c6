"""`lipflow run` on a lip sync cut into pieces: each piece is cut, uploaded, lip-synced and
journaled like any job, the outputs are joined into one video of the source's length with audio
and video aligned at every join (measured with PyAV), and the mock's outputs carry the driving
audio at the input's shape."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import struct
from collections.abc import Callable, Mapping
from contextlib import closing
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.identity import key_before_videos_were_sent_upright
from lipflow.jobs import Job
from lipflow.longmedia import loudness_of, speech_like, talking_video
from lipflow.longmedia.loudness import decode_mono, measure
from lipflow.longmedia.synthesis import INTERVIEW_SECONDS
from lipflow.media import probe, synthesize_video
from lipflow.providers import registry
from mock_server import MockServer
from tests.fourth_provider import PROVIDER as FOURTH
from tests.older_journals import journal_keys_as_before, store_keys_as_before

REPO = Path(__file__).parents[2]
LONG_INTERVIEW = REPO / "recipes" / "long_interview.yaml"
VOICE = REPO / "recipes" / "media" / "long_interview_voice.mp3"


def live_env(mock: MockServer) -> dict[str, str]:
    """Point lipflow at a mock as if it were the real providers, so runs can share it."""
    return {
        "LIPFLOW_RUNWARE_URL": mock.urls.runware,
        "LIPFLOW_PIXVERSE_URL": mock.urls.pixverse,
        "LIPFLOW_WAVESPEED_URL": mock.urls.wavespeed,
        **{v: "k" for v in ("RUNWARE_API_KEY", "PIXVERSE_API_KEY", "WAVESPEED_API_KEY")},
    }


def run(recipe: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(
        cli, ["run", str(recipe), "--out", str(out), "--format", "json", *extra], env=env
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def talking_recipe(
    folder: Path,
    seconds: float,
    pauses: list[tuple[float, float]],
    model: str,
    size: tuple[int, int],
) -> Path:
    """A recipe lip-syncing a made-up talk of ``seconds`` (``size``) to speech with ``pauses``."""
    talking_video(folder / "talk.mp4", seconds, width=size[0], height=size[1], fps=10)
    speech_like(folder / "voice.wav", seconds, pauses)
    recipe = folder / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: voice.wav}\n"
        f"steps:\n  s:\n    use: {model}\n    lipsync: {{video: v, audio: a}}\n"
    )
    return recipe


def provider_jobs(mock: MockServer) -> list[dict[str, Any]]:
    return httpx.get(mock.urls.admin + "/jobs").json()["jobs"]  # type: ignore[no-any-return]


def test_the_long_interview_runs_to_one_video_of_its_length_with_av_aligned_at_every_join(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    report = run(LONG_INTERVIEW, tmp_path, env=live_env(lipflow_mock))

    (joined,) = report["assemblies"]
    assert joined["state"] == "done" and report["ok"]
    assert joined["pieces"] == [f"dub[piece={i}]" for i in range(1, 6)]
    path = Path(joined["path"])
    assert path == tmp_path / "dub.mp4"
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 90)
        fps = float(video.average_rate)
        pts = sorted(p.pts for p in container.demux(video) if p.pts is not None)
        audio_s = float(audio.duration * audio.time_base)
    assert abs(len(pts) / fps - INTERVIEW_SECONDS) <= 1 / fps, "the source's length within a frame"
    assert abs(audio_s - INTERVIEW_SECONDS) <= 1 / fps
    assert len(set(np.diff(pts).tolist())) == 1, "timestamps run on without a gap"
    # Audio and video aligned at each join: the joined audio is the voice track, pause for pause.
    source = loudness_of(VOICE)
    output = measure(decode_mono(path))
    starts = [j["piece"]["start"] for j in json.loads(_plan_json())["jobs"]][1:]
    assert joined["verified"]["joins"] == pytest.approx(starts, abs=0.05)
    for at in starts:
        lo, hi = round((at - 3) / source.window_s), round((at + 3) / source.window_s)
        a, b = source.db[lo:hi] > -40, output.db[lo:hi] > -40
        lag = max(range(-5, 6), key=lambda k: int(np.sum(np.roll(b, k) == a)))
        assert abs(lag) <= 1, f"the join at {at} s is off by {lag * 20} ms"
    # The pieces stay beside the output: what was sent and what came back.
    assert len(list((tmp_path / "pieces" / "dub").glob("*.audio.wav"))) == 5
    assert len(list(tmp_path.glob("dub_piece-*.mp4"))) == 5
    with closing(sqlite3.connect(tmp_path / "lipflow-journal.sqlite")) as db:
        assert db.execute("SELECT state, path FROM assemblies").fetchall() == [
            ("done", str(Path(path).relative_to(tmp_path)))
        ], "kept relative to the out directory"

    again = run(LONG_INTERVIEW, tmp_path, env=live_env(lipflow_mock))
    assert again["assemblies"][0]["state"] == "done"
    assert len(provider_jobs(lipflow_mock)) == 5, "a second run pays for no piece again"


def _plan_json() -> str:
    result = CliRunner().invoke(cli, ["plan", str(LONG_INTERVIEW), "--format", "json"])
    return result.stdout


@pytest.mark.parametrize(
    "model", ["runware/pixverse-lipsync", "pixverse/lipsync", "wavespeed/pixverse-lipsync"]
)
def test_mock_lipsync_outputs_keep_a_portrait_shape_and_carry_the_driving_audio(
    tmp_path: Path, model: str
) -> None:
    recipe = talking_recipe(tmp_path, 6.0, [(2.0, 2.6)], model, size=(36, 64))
    report = run(recipe, tmp_path / "out", "--mock")
    output = report["jobs"][0]["outputs"][0]["path"]
    with av.open(output) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        assert container.streams.audio, "the output carries the driving audio"
        seconds = container.duration / av.time_base
    assert height > width
    assert seconds == pytest.approx(6.0, abs=0.1)
    heard = decode_mono(output, rate=16000)[: 6 * 16000]
    sent = decode_mono(tmp_path / "voice.wav", rate=16000)[: len(heard)]
    assert np.corrcoef(heard, sent)[0, 1] > 0.9


def joined_in_two(mock: MockServer, folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """A 40 s talk lip-synced in two pieces and joined into ``out/s.mp4``: its recipe, its out
    directory and the environment it ran in."""
    recipe = talking_recipe(folder, 40.0, [(19.0, 19.6)], "runware/pixverse-lipsync", size=(64, 36))
    out = folder / "out"
    env = live_env(mock)
    assert run(recipe, out, env=env)["assemblies"][0]["state"] == "done"
    return recipe, out, env


def test_a_damaged_piece_is_fetched_again_by_its_hash_and_joined_without_buying_it_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    recipe, out, env = joined_in_two(lipflow_mock, tmp_path)
    (out / "s.mp4").unlink()
    piece = out / "s_piece-2.mp4"
    piece.write_bytes(b"\0" * piece.stat().st_size)  # same size: only its hash tells

    result = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(out)], env=env)

    assert result.exit_code == 0, result.output
    with av.open(piece) as container:
        assert container.streams.video, "the piece was fetched again"
    with av.open(out / "s.mp4") as container:
        assert container.duration / av.time_base == pytest.approx(40.0, abs=0.1)
    assert not list(out.glob("*.tmp"))
    assert len(provider_jobs(lipflow_mock)) == 2, "no piece is bought again"


def test_a_joined_video_changed_since_it_was_joined_is_kept_aside_and_joined_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    recipe, out, env = joined_in_two(lipflow_mock, tmp_path)
    joined = out / "s.mp4"
    edited = joined.read_bytes()[:1000]  # the user trimmed it in place
    joined.write_bytes(edited)

    result = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(out)], env=env)

    assert result.exit_code == 0, result.output
    (kept,) = out.glob("s.edited-*.mp4")
    assert kept.read_bytes() == edited
    assert f"s.mp4 was changed since it was joined: kept as {kept.name}" in result.output
    with av.open(joined) as container:
        assert container.duration / av.time_base == pytest.approx(40.0, abs=0.1)
    assert len(provider_jobs(lipflow_mock)) == 2, "no piece is bought again"


def test_a_video_of_odd_width_and_height_is_cut_and_joined_at_the_even_size_below(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """H.264 in 4:2:0 cannot hold a 161x91 frame: the pieces and the joined video lose the last
    column and row to scaling, where every cut used to fail at run time (exit 4)."""
    width, height, fps, seconds = 161, 91, 10, 40
    with av.open(str(tmp_path / "talk.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for i in range(seconds * fps):
            pixels = np.full((height, width, 3), (i * 5) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv444p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    speech_like(tmp_path / "voice.wav", seconds, [(19.6, 20.4)])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: voice.wav}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: a}\n"
    )
    report = run(recipe, tmp_path / "out", env=live_env(lipflow_mock))
    (joined,) = report["assemblies"]
    assert report["ok"] and joined["state"] == "done"
    with av.open(joined["path"]) as done:
        video = done.streams.video[0].codec_context
        assert (video.width, video.height) == (160, 90)
        assert abs(float(done.duration / av.time_base) - seconds) < 0.2


def test_a_changed_cut_uploads_pieces_cut_for_the_new_split_not_the_old_files(
    tmp_path: Path,
) -> None:
    """Cut files are reused when found (a resumed run cuts nothing twice), so a file must be
    the one its piece needs: after the split changes, each piece sent is as long as planned."""
    (tmp_path / "media").mkdir()
    for source in (REPO / "recipes" / "media").glob("long_interview*"):
        (tmp_path / "media" / source.name).write_bytes(source.read_bytes())
    recipe = tmp_path / "long_interview.yaml"
    recipe.write_text(LONG_INTERVIEW.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    first = run(recipe, out, "--mock")
    assert first["counts"] == {"done": 5}

    text = recipe.read_text(encoding="utf-8")
    recipe.write_text(text.replace("    cut:\n", "    cut:\n      max_seconds: 20\n"), "utf-8")
    planned = json.loads(CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"]).stdout)
    again = run(recipe, out, "--mock")

    assert len(planned["jobs"]) > 5 and again["counts"] == {"done": len(planned["jobs"])}
    assert again["reported_usd"] == pytest.approx(again["estimated_usd"], rel=1e-6)
    for job in planned["jobs"]:
        seconds = job["piece"]["end"] - job["piece"]["start"]
        for role in ("video", "audio"):
            cut = probe(str(out / job["media"][role]["value"]))
            assert cut.duration_s == pytest.approx(seconds, abs=0.1), (job["id"], role)


# Display matrices (a, b, c, d): a point (x, y) of the stored picture is shown at
# (a*x + c*y, b*x + d*y). A phone held upright: players turn the picture 90 degrees clockwise.
TURN_RIGHT = (0, 1, -1, 0)
MIRROR = (-1, 0, 0, 1)  # a front camera's flip, left for right


def _marked_video(
    path: Path,
    seconds: int,
    *,
    start_pts: int = 0,
    turn_right: bool = False,
    matrix: tuple[int, int, int, int] | None = None,
) -> None:
    """A 160x90 10 fps video whose frames are grey with a bright 20x20 square at the top left;
    ``start_pts`` frames before its first (as after a stream-copy cut); ``turn_right`` adds the
    display matrix of a phone held upright, ``matrix`` any other."""
    matrix = TURN_RIGHT if turn_right else matrix
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(seconds * 10):
            pixels = np.full((90, 160), 60 + i % 50, np.uint8)
            pixels[:20, :20] = 250
            frame = av.VideoFrame.from_ndarray(pixels, format="gray").reformat(format="yuv420p")
            frame.pts = start_pts + i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    if matrix is not None:
        _give_display_matrix(path, matrix)


def _give_display_matrix(path: Path, matrix: tuple[int, int, int, int]) -> None:
    """Write ``matrix`` into the MP4 ``path``'s track header, as a phone does."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    where = at + 8 + (32 if data[at + 4] == 1 else 20) + 16
    a, b, c, d = (v * 0x10000 for v in matrix)
    data[where : where + 36] = struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(data)


def _split_recipe(folder: Path, seconds: int) -> Path:
    speech_like(folder / "voice.wav", seconds, [(19.6, 20.4)])
    recipe = folder / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: voice.wav}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: a}\n"
    )
    return recipe


def _first_picture(path: Path) -> Any:
    with av.open(str(path)) as media:
        return next(media.decode(video=0)).to_ndarray(format="gray")


def test_a_phone_video_shown_upright_is_cut_upright_and_joined_at_its_displayed_size(
    tmp_path: Path,
) -> None:
    """A portrait phone video is stored landscape with a display matrix turning it. Providers
    see the stored pixels, so the pieces are turned as a player shows them (the square at the
    stored top left is at the top right) and the joined output is portrait, 90x160."""
    _marked_video(tmp_path / "talk.mp4", 40, turn_right=True)
    report = run(_split_recipe(tmp_path, 40), tmp_path / "out", "--mock")
    (joined,) = report["assemblies"]
    assert report["ok"] and joined["state"] == "done"
    pieces = sorted((tmp_path / "out" / "pieces").rglob("*.video.mp4"))
    assert len(pieces) == 2
    for piece in pieces:
        picture = _first_picture(piece)
        assert picture.shape == (160, 90)
        assert picture[:15, -15:].mean() > 200  # the square, where a player shows it
        assert picture[:15, :15].mean() < 150
    with av.open(joined["path"]) as done:
        frame = next(done.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (90, 160, 0)


def test_a_video_whose_first_frame_is_at_10_s_is_cut_from_its_first_frame(
    tmp_path: Path,
) -> None:
    """A video cut by stream copy often starts at 10 s: piece 1 (0-20 s) is its first 20 s of
    frames, not the 10 s its timestamps below 20 s hold."""
    _marked_video(tmp_path / "talk.mp4", 40, start_pts=100)
    report = run(_split_recipe(tmp_path, 40), tmp_path / "out", "--mock")
    (joined,) = report["assemblies"]
    assert report["ok"] and joined["state"] == "done"
    first = sorted((tmp_path / "out" / "pieces").rglob("*.video.mp4"))[0]
    with av.open(str(first)) as piece:
        lumas = [f.to_ndarray(format="gray")[45, 80] for f in piece.decode(video=0)]
    assert len(lumas) > 150  # about 20 s at 10 fps
    assert abs(int(lumas[0]) - 60) <= 3  # the source's first frame


def _short_recipe(folder: Path, seconds: int, *, video: str = "talk.mp4") -> Path:
    """A lip sync within the model's 30 s: one job, no cut."""
    speech_like(folder / "voice.wav", seconds, [(2.0, 2.6)])
    recipe = folder / "short.yaml"
    recipe.write_text(
        f"version: 1\ninputs:\n  v: {{video: {video}}}\n  a: {{audio: voice.wav}}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: a}\n"
    )
    return recipe


def _videos_sent(mock: MockServer, folder: Path) -> list[Path]:
    """Every video the mock was sent, as files in ``folder``."""
    return _as_files(
        mock, folder, [job.request["inputs"] for job in mock.simulator.jobs("runware")]
    )


def _videos_submitted(mock: MockServer, folder: Path) -> list[Path]:
    """The videos of the submits the mock journaled (since its journal was cleared), as files
    in ``folder``: a submit the mock answers with the job it has under the same task id adds
    no job, yet its request is what lipflow sent."""
    return _as_files(
        mock,
        folder,
        [
            task["inputs"]
            for record in mock.simulator.journal.records(provider="runware", op="submit")
            for task in record.body
            if "inputs" in task
        ],
    )


def _as_files(mock: MockServer, folder: Path, inputs: list[dict[str, Any]]) -> list[Path]:
    sent: list[Path] = []
    for each in inputs:
        for media_id in each["referenceVideos"]:
            item = mock.simulator.store.get(media_id)
            assert item is not None and item.data is not None
            sent.append(folder / f"sent-{len(sent)}.mp4")
            sent[-1].write_bytes(item.data)
    return sent


def test_a_short_phone_video_is_sent_upright_as_its_pieces_would_be(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A portrait phone video that needs no cut reaches the provider as a player shows it, as
    the pieces of a long one do: providers lip-sync the stored pixels, sideways here."""
    _marked_video(tmp_path / "talk.mp4", 8, turn_right=True)
    report = run(_short_recipe(tmp_path, 8), tmp_path / "out", env=live_env(lipflow_mock))

    assert report["counts"] == {"done": 1}
    (sent,) = _videos_sent(lipflow_mock, tmp_path)
    picture = _first_picture(sent)
    assert picture.shape == (160, 90)
    assert picture[:15, -15:].mean() > 200  # the square, where a player shows it
    assert picture[:15, :15].mean() < 150
    assert probe(sent).duration_s == pytest.approx(8.0, abs=0.1)


def _run_again_keyed_as_before(
    mock: MockServer,
    recipe: Path,
    out: Path,
    old_key: Callable[[Job, Mapping[str, str]], str | None],
    env: dict[str, str],
) -> Any:
    """The report of ``recipe`` run again in ``out`` after a first run whose journal is then
    keyed by ``old_key``, as an older lipflow left it; the mock's journal holds the second
    run's requests alone."""
    assert run(recipe, out, env=env)["ok"]
    journal_keys_as_before(recipe, out, old_key)
    mock.simulator.journal.clear()
    return run(recipe, out, env=env)


def test_a_phone_video_job_bought_sideways_before_the_upgrade_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """Sending the video upright changes what the job is (its key): an out directory that
    bought it with the sideways video keeps that output, as paid; a video replaced since is a
    new job. The output store is off: it would serve the job by its new key."""
    _marked_video(tmp_path / "talk.mp4", 8, turn_right=True)
    recipe, out = _short_recipe(tmp_path, 8), tmp_path / "out"
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}

    again = _run_again_keyed_as_before(
        lipflow_mock, recipe, out, key_before_videos_were_sent_upright, env
    )

    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 1} and not again["not_in_recipe"]
    (kept,) = again["kept_otherwise"]
    assert kept["id"] == "s" and "sideways" in kept["why"] and "take: 2" in kept["fresh_take"]

    journal_keys_as_before(recipe, out, key_before_videos_were_sent_upright)
    _marked_video(tmp_path / "talk.mp4", 9, turn_right=True)
    run(recipe, out, env=env)
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1, "a new video: a new job"


def test_a_phone_video_job_an_older_lipflow_stored_sideways_is_not_bought_again_elsewhere(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path
) -> None:
    """The output store serves every out directory: a job bought with the sideways video and
    stored under the key it had then is copied into a new out directory, not bought again."""
    _marked_video(tmp_path / "talk.mp4", 8, turn_right=True)
    recipe = _short_recipe(tmp_path, 8)
    assert run(recipe, tmp_path / "a", env=live_env(lipflow_mock))["counts"] == {"done": 1}
    store_keys_as_before(recipe, _own_output_store, key_before_videos_were_sent_upright)
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, tmp_path / "b", env=live_env(lipflow_mock))

    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 1}
    output = again["jobs"][0]["outputs"][0]["path"]
    assert Path(output).is_file()
    (kept,) = again["kept_otherwise"]
    assert kept["id"] == "s" and kept["outputs"] == [output] and "sideways" in kept["why"]


def _bought_sideways_by_an_older_lipflow(
    mock: MockServer, folder: Path, store: Path, where: str
) -> tuple[Path, Path, dict[str, str]]:
    """A short phone video's recipe, its out directory and the environment of its runs against
    ``mock``, after a run whose job is then keyed as an older lipflow that sent the video
    sideways keyed it: in that out directory's ``journal`` (the output store off), or in the
    ``store`` (the out directory new). The mock's journal is cleared."""
    _marked_video(folder / "talk.mp4", 8, turn_right=True)
    recipe, out = _short_recipe(folder, 8), folder / "out"
    env = live_env(mock)
    if where == "journal":
        env["LIPFLOW_CACHE_MAX_MB"] = "0"
        assert run(recipe, out, env=env)["ok"]
        journal_keys_as_before(recipe, out, key_before_videos_were_sent_upright)
    else:
        assert run(recipe, folder / "a", env=env)["ok"]
        store_keys_as_before(recipe, store, key_before_videos_were_sent_upright)
    mock.simulator.journal.clear()
    return recipe, out, env


def _take_2(recipe: Path) -> None:
    """The recipe's step ``s`` asked for a fresh take (``take: 2``)."""
    recipe.write_text(recipe.read_text().replace("    lipsync:", "    take: 2\n    lipsync:"))


@pytest.mark.parametrize("where", ["journal", "store"])
def test_a_job_kept_as_an_older_lipflow_bought_it_is_said_so_by_every_later_run(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path, where: str
) -> None:
    """A job an older lipflow bought sideways, kept as paid (rekeyed in this out directory's
    journal, or copied from the output store): a user who missed the warning of the run that
    found it sees it in every later run's report, JSON and text, until a fresh take is bought
    (take: 2), which is not said to be kept."""
    recipe, out, env = _bought_sideways_by_an_older_lipflow(
        lipflow_mock, tmp_path, _own_output_store, where
    )
    found = run(recipe, out, env=env)
    assert [kept["id"] for kept in found["kept_otherwise"]] == ["s"]

    again = run(recipe, out, env=env)
    shown = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(out)], env=env)

    assert again["kept_otherwise"] == found["kept_otherwise"]
    assert shown.exit_code == 0
    assert "warning: s keeps " in shown.stdout and "sideways" in shown.stdout
    assert lipflow_mock.simulator.journal.records(op="submit") == []

    _take_2(recipe)
    fresh = run(recipe, out, env=env)

    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1
    assert fresh["kept_otherwise"] == []


@pytest.mark.parametrize("where", ["journal", "store"])
def test_a_fresh_take_asked_of_a_job_an_older_lipflow_bought_is_bought(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path, where: str
) -> None:
    """take: 2 asks for a fresh take: the job an older lipflow bought on take 1 (sideways,
    journaled or stored under its key then) is not it, whatever that lipflow keyed otherwise.
    The fresh take is bought once; the take-1 output is kept, not said to be this job's."""
    recipe, out, env = _bought_sideways_by_an_older_lipflow(
        lipflow_mock, tmp_path, _own_output_store, where
    )
    _take_2(recipe)
    planned = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"], env=env)
    assert json.loads(planned.stdout)["already_paid"]["jobs"] == 0

    fresh = run(recipe, out, env=env)

    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1
    assert fresh["counts"] == {"done": 1} and fresh["kept_otherwise"] == []
    assert run(recipe, out, env=env)["kept_otherwise"] == []
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1


def test_a_step_chained_on_a_job_bought_sideways_before_the_upgrade_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A step whose input is the output of a job bought with the sideways video was keyed with
    that job's key then: upgraded, both are kept as paid, neither bought again."""
    from lipflow.identity import job_key

    _marked_video(tmp_path / "talk.mp4", 8, turn_right=True)
    recipe, out = _short_recipe(tmp_path, 8), tmp_path / "out"
    recipe.write_text(
        recipe.read_text()
        + "  t:\n    use: runware/pixverse-lipsync\n    lipsync: {video: steps.s, audio: a}\n"
    )
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}
    assert run(recipe, out, env=env)["counts"] == {"done": 2}
    then: dict[str, str] = {}

    def as_then(job: Job, _: Mapping[str, str]) -> str | None:
        key = key_before_videos_were_sent_upright(job, {}) or job_key(job, then)
        then[job.id] = key
        return key

    journal_keys_as_before(recipe, out, as_then)
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, out, env=env)

    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 2} and not again["not_in_recipe"]


def _video_uploaded_before_the_upgrade(mock: MockServer, out: Path, job: str, sent: bytes) -> None:
    """The video upload ``out``'s journal holds for ``job`` made what an older lipflow sent:
    ``sent``, kept by the mock under the journaled media id."""
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db:
        ((value,),) = db.execute(
            "SELECT value FROM uploads WHERE job_id = ? AND role = 'video'", (job,)
        ).fetchall()
    mock.simulator.store.put_bytes(json.loads(value)["mediaUUID"], sent, ext="mp4")


def test_a_phone_video_uploaded_sideways_before_the_upgrade_is_never_sent_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """The upload journaled for a job an older lipflow bought sideways is the sideways video:
    that job is kept as paid, and a job added since that lip-syncs the same video uploads it
    upright, never reusing that upload."""
    _marked_video(tmp_path / "talk.mp4", 8, turn_right=True)
    recipe, out = _short_recipe(tmp_path, 8), tmp_path / "out"
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}
    assert run(recipe, out, env=env)["counts"] == {"done": 1}
    journal_keys_as_before(recipe, out, key_before_videos_were_sent_upright)
    _video_uploaded_before_the_upgrade(lipflow_mock, out, "s", (tmp_path / "talk.mp4").read_bytes())
    speech_like(tmp_path / "other.wav", 8, [(4.0, 4.6)])
    recipe.write_text(
        recipe.read_text().replace(
            "  a: {audio: voice.wav}\n", "  a: {audio: voice.wav}\n  b: {audio: other.wav}\n"
        )
        + "  t:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: b}\n"
    )
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, out, env=env)

    assert again["counts"] == {"done": 2}
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 1, "only the added job"
    (added,) = _videos_submitted(lipflow_mock, tmp_path)
    assert _first_picture(added).shape == (160, 90), "upright, not the sideways upload"


@pytest.mark.parametrize("seconds", [8, 40], ids=["whole", "in-pieces"])
def test_a_mirrored_phone_video_is_refused_with_what_to_do_not_sent_turned_half_way(
    tmp_path: Path, seconds: int
) -> None:
    """A display matrix that mirrors the picture was read as a half turn (FFmpeg's rotation
    angle): the provider got it upside down. lipflow does not send it: the plan names the file
    and says how to export it; nothing is cut or bought."""
    _marked_video(tmp_path / "talk.mp4", seconds, matrix=MIRROR)
    recipe = _split_recipe(tmp_path, seconds) if seconds > 30 else _short_recipe(tmp_path, seconds)

    result = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(tmp_path / "out"), "--mock"])

    assert result.exit_code == 1, result.output  # a problem in the recipe's inputs
    assert "$.inputs.v" in result.output and "mirrors the picture" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "pieces").exists()


def _cut_by_an_older_lipflow(recipe: Path, out: Path) -> dict[str, Path]:
    """Each planned piece file as a lipflow that cut on raw timestamps left it: under the name
    it gave (the piece's digest without how it was cut), holding another picture (64x64)."""
    from lipflow.identity import _piece as piece_doc  # what that lipflow's names hashed
    from lipflow.identity import content_key
    from lipflow.plan import plan_file

    left = {}
    for planned in plan_file(str(recipe), env={}).jobs:
        piece = planned.job.piece
        assert piece is not None
        name = f"{piece.index:02d}-{content_key(piece_doc(piece))[:16]}.video.mp4"
        path = out / "pieces" / piece.group / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(synthesize_video(piece.end - piece.start, cached=False))
        left[planned.job.id] = path
    return left


def test_pieces_an_older_lipflow_cut_on_raw_timestamps_are_cut_again_not_sent(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A video whose first frame is at 10 s was cut on its raw timestamps into files named as
    today's: after the upgrade each piece is cut again from the first frame, and the old files
    are never uploaded."""
    _marked_video(tmp_path / "talk.mp4", 40, start_pts=100)
    recipe, out = _split_recipe(tmp_path, 40), tmp_path / "out"
    _cut_by_an_older_lipflow(recipe, out)

    report = run(recipe, out, env=live_env(lipflow_mock))

    assert report["ok"] and report["counts"] == {"done": 2}
    sent = _videos_sent(lipflow_mock, tmp_path)
    assert len(sent) == 2
    for piece in sent:
        assert _first_picture(piece).shape == (90, 160), "cut from the source, not the old file"
    first = min(sent, key=lambda p: probe(p).duration_s - 20)
    assert abs(int(_first_picture(first)[45, 80]) - 60) <= 3  # the source's first frame


def test_pieces_an_older_lipflow_bought_cut_on_raw_timestamps_are_kept_with_a_warning(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """Pieces of a video whose first frame is at 10 s, bought by a lipflow that may have cut
    them on its raw timestamps (its cut files under the names it gave them): their key is the
    same, so they are kept as paid, never bought again unasked; the run says which outputs
    may be off, why, and how to buy a fresh take."""
    _marked_video(tmp_path / "talk.mp4", 40, start_pts=100)
    recipe, out = _split_recipe(tmp_path, 40), tmp_path / "out"
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}
    assert run(recipe, out, env=env)["counts"] == {"done": 2}
    for today in (out / "pieces").rglob("*.video.mp4"):
        today.unlink()  # none of today's cut files: that lipflow's, under the names it gave
    _cut_by_an_older_lipflow(recipe, out)
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, out, env=env)
    text = CliRunner().invoke(cli, ["run", str(recipe), "--out", str(out)], env=env)

    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 2}
    outputs = {job["id"]: job["outputs"][0]["path"] for job in again["jobs"]}
    kept = {k["id"]: k for k in again["kept_otherwise"]}
    assert set(kept) == set(outputs) == {"s[piece=1]", "s[piece=2]"}
    for job_id, warning in kept.items():
        assert warning["outputs"] == [outputs[job_id]]
        assert "raw timestamps" in warning["why"] and "first frame is at 10 s" in warning["why"]
        assert "take: 2 on step s" in warning["fresh_take"] and "--fresh" in warning["fresh_take"]
        assert f"warning: {job_id} keeps {outputs[job_id]}" in text.stdout
    assert "for a fresh take, set take: 2 on step s" in text.stdout


def test_a_piece_uploaded_but_never_sent_is_cut_and_uploaded_again_when_its_file_is_not_this_cut(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A run stopped between a piece's upload and its submit journals the upload; if the file
    it uploaded is not the one this lipflow cuts (an older cut's name, another picture), the
    piece is cut and uploaded again before it is bought, never sent as that upload; pieces
    already bought are not bought again."""
    _marked_video(tmp_path / "talk.mp4", 40, start_pts=100)
    recipe, out = _split_recipe(tmp_path, 40), tmp_path / "out"
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}
    assert run(recipe, out, env=env)["counts"] == {"done": 2}
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db, db:
        (unsent,) = db.execute("SELECT id FROM jobs WHERE id LIKE '%piece=2%'").fetchone()
        uploads_before = dict(
            db.execute("SELECT role, value FROM uploads WHERE job_id = ?", (unsent,))
        )
        for table in ("attempts", "outputs"):
            db.execute(f"DELETE FROM {table} WHERE job_id = ?", (unsent,))
        db.execute(
            "UPDATE jobs SET state = 'pending', attempt = 0, task_uuid = NULL, "
            "provider_job_id = NULL WHERE id = ?",
            (unsent,),
        )
    (out / "s_piece-2.mp4").unlink()  # never bought: no output
    for path in (out / "pieces").rglob("02-*"):
        path.unlink()  # the files it uploaded were cut under another name
    _video_uploaded_before_the_upgrade(
        lipflow_mock, out, unsent, synthesize_video(20, cached=False)
    )
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, out, env=env)

    assert again["counts"] == {"done": 2}
    submits = lipflow_mock.simulator.journal.records(op="submit")
    assert len(submits) == 1, "only the piece never sent is bought"
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db:
        uploads_after = dict(
            db.execute("SELECT role, value FROM uploads WHERE job_id = ?", (unsent,))
        )
    assert set(uploads_after) == set(uploads_before)
    for role in uploads_before:
        assert uploads_after[role] != uploads_before[role], f"the {role} was uploaded again"
    assert sorted(p.name[:2] for p in (out / "pieces").rglob("*.video.mp4")) == ["01", "02"]
    (bought,) = _videos_submitted(lipflow_mock, tmp_path)
    assert _first_picture(bought).shape == (90, 160), "cut from the source, not the older cut"


def _clicks(*at: float) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float32]]:
    """Silence but for a 10 ms click at each time of ``at``."""

    def sound(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        pcm = np.zeros(len(t), np.float32)
        for click in at:
            pcm[np.abs(t - click) < 0.005] = 0.8
        return pcm

    return sound


def _after_a_stream_copy_cut(
    path: Path, seconds: int, sound: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float32]]
) -> None:
    """A 10 fps video whose first frame is at 10 s with AAC sound from 9.95 s (a stream-copy
    cut: the sound leads the picture); ``sound`` gives its samples at their times, in seconds
    from the first frame."""
    rate = 16000
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="mono")
        for i in range(seconds * 10):
            grey = np.full((64, 64), 80, np.uint8)
            frame = av.VideoFrame.from_ndarray(grey, format="gray").reformat(format="yuv420p")
            frame.pts, frame.time_base = 100 + i, Fraction(1, 10)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        pcm = sound(np.arange((seconds + 0.05) * rate) / rate - 0.05)
        for lo in range(0, len(pcm), 1024):
            chunk = av.AudioFrame.from_ndarray(
                pcm[None, lo : lo + 1024], format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.time_base = rate, Fraction(1, rate)
            chunk.pts = round(9.95 * rate) + lo
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))


def _own_sound_recipe(folder: Path, cut: str = "") -> Path:
    """A lip sync of talk.mp4 driven by its own sound."""
    recipe = folder / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: talk.mp4}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n    lipsync: {video: v, audio: a}\n" + cut
    )
    return recipe


def _click_times(path: Path) -> list[float]:
    """When a player plays each click of ``path``'s sound, by its samples' timestamps: seconds
    from the first video frame (in a file without video, from the first sample)."""
    times: list[float] = []
    with av.open(str(path)) as media:
        video = media.streams.video[0] if media.streams.video else None
        origin = float(video.start_time * video.time_base) if video is not None else None
        heard = 0
        for frame in media.decode(audio=0):
            raw = frame.to_ndarray().reshape(-1)
            samples = raw / 32768 if raw.dtype == np.int16 else raw.astype(np.float64)
            first = heard / frame.sample_rate if origin is None else float(frame.time) - origin
            for i in np.flatnonzero(np.abs(samples) > 0.3):
                t = first + i / frame.sample_rate
                if not times or t - times[-1] > 0.5:
                    times.append(t)
            heard += len(samples)
    return times


def test_sound_that_leads_the_picture_is_cut_and_joined_in_step_with_it(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A video cut by stream copy: its first frame at 10 s, its sound from 9.95 s, and AAC's
    priming samples before that. Cut times count from the first frame for the sound too: each
    audio piece and the joined video play a click when it was played in the source, not tens
    of ms late."""
    _after_a_stream_copy_cut(tmp_path / "talk.mp4", 40, _clicks(5.5, 25.5))
    recipe = _own_sound_recipe(tmp_path, cut="    cut: {at: [20]}\n")
    assert _click_times(tmp_path / "talk.mp4") == pytest.approx([5.5, 25.5], abs=0.006)

    report = run(recipe, tmp_path / "out", env=live_env(lipflow_mock))

    (joined,) = report["assemblies"]
    assert joined["state"] == "done"
    pieces = sorted((tmp_path / "out" / "pieces").rglob("*.audio.wav"))
    assert [_click_times(p) for p in pieces] == [
        pytest.approx([5.5], abs=0.006),
        pytest.approx([5.5], abs=0.006),
    ]
    assert _click_times(Path(joined["path"])) == pytest.approx([5.5, 25.5], abs=0.012)


def test_the_pauses_of_sound_that_leads_the_picture_are_found_at_the_pictures_times(
    tmp_path: Path,
) -> None:
    """The driving audio is the video's own sound, leading its first frame (a stream-copy cut):
    a pause at 19.0-19.6 s from the first frame is where the plan cuts (its middle), not
    tens of ms later, where the cut's margin of 40 ms would clip the next word."""

    def talk(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        tone = 0.3 * np.sin(2 * np.pi * 220 * t)
        return np.where((t > 19.0) & (t < 19.6), 0.0, tone).astype(np.float32)

    _after_a_stream_copy_cut(tmp_path / "talk.mp4", 40, talk)
    recipe = _own_sound_recipe(tmp_path)

    plan = json.loads(CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"]).stdout)

    cut = plan["jobs"][1]["piece"]["start"]
    assert cut == pytest.approx(19.3, abs=0.021)


def _talk_pausing(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """A tone but for a pause at 19.0-19.6 s."""
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.where((t > 19.0) & (t < 19.6), 0.0, tone).astype(np.float32)


def _keyed_as_when_sound_was_counted_from_its_first_sample(recipe: Path, out: Path) -> None:
    """Each piece journaled under the key a lipflow gave it that counted the video's own sound
    from its first sample (as a file without video), not its first frame: it found the pause,
    so its cut, that much later, and cut each piece there."""
    from lipflow.catalog import load_catalog
    from lipflow.identity import job_key
    from lipflow.longmedia import CutPolicy, audio_facts, plan_split, video_facts
    from lipflow.longmedia.loudness import ANALYSIS_RATE
    from lipflow.plan import plan_file

    talk = str(recipe.parent / "talk.mp4")
    with av.open(talk) as media:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=ANALYSIS_RATE)
        heard = [
            o.to_ndarray().reshape(-1) for f in media.decode(audio=0) for o in resampler.resample(f)
        ]
        heard += [o.to_ndarray().reshape(-1) for o in resampler.resample(None)]
    loudness = measure(np.concatenate(heard).astype(np.float32))
    jobs = [planned.job for planned in plan_file(str(recipe), env={}).jobs]
    then = plan_split(
        load_catalog().model(jobs[0].model_id).limits,
        video_facts(talk),
        audio_facts(talk),
        CutPolicy(),
        loudness=lambda _: loudness,
    ).pieces
    with closing(sqlite3.connect(out / "lipflow-journal.sqlite")) as db, db:
        for job, cut in zip(jobs, then, strict=True):
            assert job.piece is not None
            piece = dataclasses.replace(
                job.piece, start=cut.start, end=cut.end, video_method=cut.video_method
            )
            old = job_key(dataclasses.replace(job, piece=piece), {})
            assert old != job.key
            db.execute("UPDATE jobs SET job_key = ? WHERE id = ?", (old, job.id))


def test_pieces_bought_when_sound_that_leads_the_picture_was_counted_from_its_first_sample_are_kept(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A lipflow that counted a video's own sound from its first sample found its pauses tens
    of ms late and cut there (19.41 s, not 19.3 s): the pieces it bought are kept as paid after
    the upgrade, not bought again for their new range; a video replaced since is new."""
    _after_a_stream_copy_cut(tmp_path / "talk.mp4", 40, _talk_pausing)
    recipe, out = _own_sound_recipe(tmp_path), tmp_path / "out"
    env = {**live_env(lipflow_mock), "LIPFLOW_CACHE_MAX_MB": "0"}
    assert run(recipe, out, env=env)["counts"] == {"done": 2}
    _keyed_as_when_sound_was_counted_from_its_first_sample(recipe, out)
    lipflow_mock.simulator.journal.clear()

    again = run(recipe, out, env=env)

    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 2} and not again["not_in_recipe"]
    assert again["assemblies"][0]["state"] == "done"
    for kept in again["kept_otherwise"]:
        assert "from its first sample" in kept["why"], kept
    assert {kept["id"] for kept in again["kept_otherwise"]} == {"s[piece=1]", "s[piece=2]"}

    _keyed_as_when_sound_was_counted_from_its_first_sample(recipe, out)
    _after_a_stream_copy_cut(tmp_path / "talk.mp4", 40, lambda t: _talk_pausing(t) * 0.5)
    run(recipe, out, env=env)
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 2, "a new video: new jobs"


def test_pieces_of_a_job_whose_id_holds_path_separators_are_cut_inside_the_out_directory(
    tmp_path: Path,
) -> None:
    """A piece's folder was named by its job's id as it is: a matrix value ``../../x`` made
    folders of its own and put the cut pieces outside the out directory (and ``:`` or ``?``
    made a name Windows refuses). The folder is one name now, like the id."""
    talking_video(tmp_path / "talk.mp4", 40, width=64, height=36, fps=10)
    speech_like(tmp_path / "voice.wav", 40, [(19.6, 20.4)])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: voice.wav}\n"
        "steps:\n  s:\n    use: runware/pixverse-lipsync\n"
        '    matrix: {tag: ["../../../../../escaped", "why?:yes"]}\n'
        "    lipsync: {video: v, audio: a}\n"
    )
    out = tmp_path / "deep" / "er" / "out"

    report = run(recipe, out, "--mock")

    assert report["ok"] and len(report["assemblies"]) == 2
    cut = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("0?-*.*.*"))
    assert len(cut) == 8 and all(p.parts[:4] == ("deep", "er", "out", "pieces") for p in cut)
    assert {p.parts[4] for p in cut} == {"s[tag=.._.._.._.._.._escaped]", "s[tag=why__yes]"}


def _coarse_phone_video(path: Path, seconds: int) -> None:
    """A portrait phone video of noise, stored landscape and squeezed to a coarse quality:
    turned upright at lipflow's quality it grows about ten times over."""
    noise = np.random.default_rng(7)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "veryslow", "crf": "45"}
        for i in range(seconds * 10):
            pixels = noise.integers(0, 256, (180, 320), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="gray").reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    _give_display_matrix(path, TURN_RIGHT)


def test_a_phone_video_that_outgrows_the_models_byte_limit_when_turned_upright_is_not_sent(
    tmp_path: Path,
) -> None:
    """The plan measures the file; turned upright it is re-encoded and can outgrow it. A model
    whose catalog (a provider plugin's own) takes twice the file's bytes plans the job, but the
    upright video, many times larger, is refused before anything is uploaded or bought."""
    _coarse_phone_video(tmp_path / "talk.mp4", 4)
    speech_like(tmp_path / "voice.wav", 4, [(2.0, 2.4)])
    original = (tmp_path / "talk.mp4").stat().st_size
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        FOURTH.catalog_file.read_text().replace(
            "max_bytes: 100000000", f"max_bytes: {2 * original}"
        )
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  a: {audio: voice.wav}\n"
        "steps:\n  s:\n    use: lipcraft/lipsync\n    lipsync: {video: v, audio: a}\n"
    )
    registry.register(dataclasses.replace(FOURTH, catalog_file=catalog))
    try:
        assert CliRunner().invoke(cli, ["plan", str(recipe)]).exit_code == 0  # the file fits
        with MockServer() as mock:
            env = {"LIPFLOW_LIPCRAFT_URL": mock.urls.lipcraft, "LIPCRAFT_API_KEY": "k"}
            result = CliRunner().invoke(
                cli,
                ["run", str(recipe), "--out", str(tmp_path / "out"), "--format", "json"],
                env=env,
            )
            assert mock.simulator.journal.records(provider="lipcraft") == []
    finally:
        registry.unregister(FOURTH.name)

    assert result.exit_code == 4, result.stdout + result.stderr
    report = json.loads(result.stdout)
    (job,) = report["jobs"]
    assert job["state"] == "failed" and job["error"]["class"] == "input"
    assert "turned upright for the provider" in job["error"]["message"]
    assert f"over lipcraft/lipsync's limit of {2 * original:,}" in job["error"]["message"]
    assert "nothing was sent" in job["error"]["message"]
    assert report["cost"]["spent_usd"] == 0


def _keyed_before_ccad509(
    job: Job, upstream_keys: Mapping[str, str], *, as_stored: bool = False
) -> str | None:
    """The key a lipflow that read a video's keyframe times from its raw timestamps (the first
    frame of a stream-copy cut at 10 s, not 0) gave the piece ``job``: its cuts' methods (part
    of the key) said which keyframes they were on, or the one before, at those times; and
    ``as_stored``, a turned phone video read as stored: the piece at the video's stored size."""
    from lipflow.identity import job_key
    from lipflow.longmedia.keyframes import cut_method

    piece = job.piece
    assert piece is not None
    with av.open(piece.video) as media:
        stream = media.streams.video[0]
        stored = (stream.codec_context.width, stream.codec_context.height)
        raw = sorted(
            float(p.pts * stream.time_base)
            for p in media.demux(stream)
            if p.pts is not None and p.is_keyframe
        )
    method = cut_method(
        piece.start, piece.end, raw, fps=Fraction(piece.fps), to_end=piece.index == piece.count
    )
    then = dataclasses.replace(piece, video_method=method, size=stored if as_stored else piece.size)
    return job_key(dataclasses.replace(job, piece=then), upstream_keys)


def _keyed_on_raw_timestamps(job: Job, upstream_keys: Mapping[str, str]) -> str | None:
    return _keyed_before_ccad509(job, upstream_keys)


def _keyed_as_cut_sideways(job: Job, upstream_keys: Mapping[str, str]) -> str | None:
    return _keyed_before_ccad509(job, upstream_keys, as_stored=True)


def _kept_after_the_upgrade(
    mock: MockServer,
    folder: Path,
    keyed: Callable[[Job, Mapping[str, str]], str | None],
    video: dict[str, Any],
    replaced: dict[str, Any],
) -> list[str]:
    """Why each piece is said kept: a 40 s video (:func:`_marked_video` with ``video``) lip-synced
    in two pieces, its journal then keyed by ``keyed`` (as an older lipflow keyed the pieces),
    run again: nothing bought, both pieces kept as paid, the fresh take said to be take: 2.
    Then keyed so again with the video replaced (made with ``replaced``): both bought."""
    _marked_video(folder / "talk.mp4", 40, **video)
    recipe, out = _split_recipe(folder, 40), folder / "out"
    env = {**live_env(mock), "LIPFLOW_CACHE_MAX_MB": "0"}

    again = _run_again_keyed_as_before(mock, recipe, out, keyed, env)

    assert mock.simulator.journal.records(op="submit") == []
    assert again["counts"] == {"done": 2} and not again["not_in_recipe"]
    assert again["assemblies"][0]["state"] == "done"
    kept = {k["id"]: k for k in again["kept_otherwise"]}
    assert set(kept) == {"s[piece=1]", "s[piece=2]"}
    assert all("take: 2 on step s" in warning["fresh_take"] for warning in kept.values())

    journal_keys_as_before(recipe, out, keyed)
    _marked_video(folder / "talk.mp4", 40, **replaced)
    run(recipe, out, env=env)
    assert len(mock.simulator.journal.records(op="submit")) == 2, "a new video: new jobs"
    return [warning["why"] for warning in kept.values()]


def test_pieces_of_a_phone_video_bought_cut_sideways_before_the_upgrade_are_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A lipflow that read a turned phone video as stored planned its pieces at its stored size
    (160x90, shown 90x160) and each cut's method on its keyframes ('re-encode: the cut at
    19.89 s is not on a keyframe'; now 'the video is shown turned 90 degrees; pieces are cut
    upright'), and so keyed them otherwise: the pieces it bought, sideways, are kept as paid
    after the upgrade, with a warning, not bought again; a video replaced since is new."""
    turned = {"turn_right": True}
    said = _kept_after_the_upgrade(
        lipflow_mock, tmp_path, _keyed_as_cut_sideways, turned, {**turned, "start_pts": 1}
    )

    assert all("sideways" in why for why in said)


def test_pieces_bought_when_keyframes_were_read_on_raw_timestamps_are_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A lipflow that read the keyframe times of a video whose first frame is at 10 s from its
    raw timestamps planned each piece's cut otherwise ('not on a keyframe (the keyframe before
    it is at 10.00 s)'), and so keyed it otherwise: the pieces it bought are kept as paid after
    the upgrade, with a warning, not bought again; a video replaced since is new."""
    said = _kept_after_the_upgrade(
        lipflow_mock, tmp_path, _keyed_on_raw_timestamps, {"start_pts": 100}, {"start_pts": 90}
    )

    assert all("raw timestamps" in why and "first frame is at 10 s" in why for why in said)
