"""A dub from lines run end to end against the mock: one TTS lip sync per cue on that cue's piece
of the video, joined back into one video in which each cue's lip-synced piece plays at the cue's
time and the video between cues is the source's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.jobs import line_stamp
from lipflow.lines import read_lines, split_speakers
from lipflow.media import probe, synthesize_video
from mock_server import MockServer
from tests.older_journals import journal_keys_as_before, stored_under

REPO = Path(__file__).parents[2]
RECIPES = REPO / "recipes"
SOURCE = RECIPES / "media" / "interview.mp4"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["run", *args, "--format", "json"], env=env)
    return result.exit_code, json.loads(result.stdout or "{}"), result.stderr


def lumas(path: str | Path) -> list[tuple[float, float]]:
    """(time, mean brightness) of every frame: enough to tell two pictures apart."""
    with av.open(str(path)) as container:
        return [
            (float(frame.time or 0.0), float(frame.to_ndarray(format="gray").mean()))
            for frame in container.decode(video=0)
        ]


def at(frames: list[tuple[float, float]], t: float) -> float:
    return min(frames, key=lambda f: abs(f[0] - t))[1]


@pytest.mark.parametrize("recipe", ["interview_subtitles.yaml", "interview_script.yaml"])
def test_the_example_recipes_run_with_mock_to_one_dubbed_video(tmp_path: Path, recipe: str) -> None:
    code, report, err = run(str(RECIPES / recipe), "--mock", "--out", str(tmp_path))

    assert code == 0, err
    (dub,) = report["assemblies"]
    assert dub["state"] == "done" and dub["error"] is None and len(dub["pieces"]) == 4
    assert probe(dub["path"]).duration_s == pytest.approx(probe(SOURCE).duration_s, abs=0.04)
    # A join at every cue's start and end, each on the 25 fps frame grid (0.5 s falls between
    # frames 12 and 13: within half a frame).
    cue_edges = [0.5, 3.2, 3.6, 7.4, 8.0, 10.5, 11.0, 15.8]
    assert dub["verified"]["joins"] == pytest.approx(cue_edges, abs=0.02 + 1e-9)
    assert len([j for j in report["jobs"] if j["state"] == "done"]) == 4


def test_each_cue_is_lip_synced_by_tts_in_its_voice_and_plays_at_the_cues_time(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    env = {"LIPFLOW_RUNWARE_URL": lipflow_mock.urls.runware, "RUNWARE_API_KEY": "k"}
    srt = RECIPES / "media" / "interview.es.srt"
    cues = split_speakers(read_lines(str(srt)), {"SPEAKER_01", "SPEAKER_02"}).lines
    voices = {"SPEAKER_01": "Sophia", "SPEAKER_02": "Liam"}

    code, report, err = run(
        str(RECIPES / "interview_subtitles.yaml"), "--out", str(tmp_path), env=env
    )

    assert code == 0, err
    # The mock's journal: one job per cue, speaking its text in its speaker's voice, on a piece
    # of the video as long as the cue.
    jobs = sorted(lipflow_mock.simulator.jobs("runware"), key=lambda j: j.created_at)
    assert len(jobs) == len(cues) == 4
    spoken = {job.request["speech"]["text"]: job for job in jobs}
    for cue in cues:
        job = spoken[cue.text]
        assert job.request["speech"]["voice"] == voices[str(cue.speaker)]
        (piece_id,) = job.request["inputs"]["referenceVideos"]
        piece = lipflow_mock.simulator.store.get(piece_id)
        assert piece is not None and piece.kind == "video"
        assert piece.duration_s == pytest.approx(cue.slot, abs=0.1)
    # The joined video: each cue's lip-synced output at the cue's time, the source between cues.
    (dub,) = report["assemblies"]
    dubbed, source = lumas(dub["path"]), lumas(SOURCE)
    outputs = {job["id"]: job["outputs"][0]["path"] for job in report["jobs"]}
    differs = 0
    for cue in cues:
        synced = lumas(outputs[f"dub[line={line_stamp(cue.start)}]"])
        for offset in (0.1, cue.slot / 2, cue.slot - 0.1):
            t = cue.start + offset
            assert at(dubbed, t) == pytest.approx(at(synced, offset), abs=9), (cue.number, t)
            differs += abs(at(source, t) - at(synced, offset)) > 12
        before = cue.start - 0.2
        assert at(dubbed, before) == pytest.approx(at(source, before), abs=9), (cue.number, before)
    assert differs >= 6, "the lip-synced pieces look unlike the source at their times"


def test_a_matrix_over_two_subtitle_files_gives_one_dubbed_video_per_language(
    tmp_path: Path,
) -> None:
    recipe = tmp_path / "two.yaml"
    recipe.write_text(
        f"""version: 1
inputs:
  interview: {{video: {SOURCE}}}
  es: {{lines: {RECIPES / "media" / "interview.es.srt"}, language: es}}
  fr: {{lines: {RECIPES / "media" / "interview.fr.vtt"}, language: fr}}
voices: {{SPEAKER_01: Sophia, SPEAKER_02: Liam}}
fit: {{tolerance: 2}}
steps:
  dub:
    matrix: {{lang: [es, fr]}}
    lipsync: {{video: interview, lines: "{{{{ matrix.lang }}}}"}}
""",
        encoding="utf-8",
    )

    code, report, err = run(str(recipe), "--mock", "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert [(d["job"], Path(d["path"]).name) for d in report["assemblies"]] == [
        ("dub[lang=es]", "dub_lang-es.mp4"),
        ("dub[lang=fr]", "dub_lang-fr.mp4"),
    ]
    assert len(report["jobs"]) == 8
    for dub in report["assemblies"]:
        assert probe(dub["path"]).duration_s == pytest.approx(20.0, abs=0.04)


def test_a_saved_plan_runs_the_same_dub(tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = CliRunner().invoke(
        cli, ["plan", str(RECIPES / "interview_script.yaml"), "--out", str(saved)]
    )
    assert planned.exit_code == 0, planned.output
    assert len(json.loads(saved.read_text())["lines"]) == 4

    code, report, err = run(str(saved), "--mock", "--out", str(tmp_path / "out"))

    assert code == 0, err
    (dub,) = report["assemblies"]
    assert len(dub["pieces"]) == 4 and Path(dub["path"]).name == "dub.mp4"


def _plan_keys(recipe: Path) -> list[str]:
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return [job["key"] for job in json.loads(result.stdout)["jobs"]]


def test_a_replaced_video_changes_every_lines_job_and_the_run_buys_them_again(
    tmp_path: Path,
) -> None:
    """A line's media is a time range of the video: its key is the video's bytes and the range,
    so a re-recorded source is lip-synced anew, never answered with the old take's pieces."""
    (tmp_path / "media").mkdir()
    recipe = tmp_path / "interview_subtitles.yaml"
    recipe.write_bytes((RECIPES / "interview_subtitles.yaml").read_bytes())
    for name in ("interview.mp4", "interview.es.srt"):
        (tmp_path / "media" / name).write_bytes((RECIPES / "media" / name).read_bytes())
    first = _plan_keys(recipe)
    code, report, err = run(str(recipe), "--mock", "--out", str(tmp_path / "out"))
    assert code == 0, err
    bought = {job["task_uuid"] for job in report["jobs"]}
    assert _plan_keys(recipe) == first, "an unchanged video keeps every key"

    (tmp_path / "media" / "interview.mp4").write_bytes(
        synthesize_video(probe(SOURCE).duration_s, width=96, height=96, cached=False)
    )

    again = _plan_keys(recipe)
    assert len(again) == len(first) == 4
    assert not set(again) & set(first)
    code, report, err = run(str(recipe), "--mock", "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert report["counts"] == {"done": 4}
    assert not {job["task_uuid"] for job in report["jobs"]} & bought, "old takes were reused"


def _dub_copy(folder: Path) -> Path:
    (folder / "media").mkdir()
    recipe = folder / "interview_subtitles.yaml"
    recipe.write_bytes((RECIPES / "interview_subtitles.yaml").read_bytes())
    for name in ("interview.mp4", "interview.es.srt"):
        (folder / "media" / name).write_bytes((RECIPES / "media" / name).read_bytes())
    return recipe


# What the report says was checked of a joined video: its own measures, nothing of the journal's.
VERIFIED = {"path", "duration_s", "audio_s", "frames", "fps", "joins", "size_bytes"}


def test_a_dub_is_joined_again_when_a_line_is_bought_again_or_dropped(tmp_path: Path) -> None:
    """A joined dub is kept only while it is made of the outputs its plan asks for: after a
    line's text is edited (that line bought again) or a cue is removed, the old dub.mp4 would
    still play the old line, or the removed one."""
    recipe = _dub_copy(tmp_path)
    out = str(tmp_path / "out")
    code, report, err = run(str(recipe), "--mock", "--out", out)
    assert code == 0, err
    first = report["assemblies"][0]
    first_bytes = Path(first["path"]).read_bytes()
    srt = tmp_path / "media" / "interview.es.srt"
    cues = srt.read_text(encoding="utf-8").strip().split("\n\n")

    srt.write_text("\n\n".join([*cues[:3], cues[3].rsplit("\n", 1)[0] + "\nSí."]) + "\n", "utf-8")
    code, report, err = run(str(recipe), "--mock", "--out", out)
    assert code == 0, err
    edited = report["assemblies"][0]
    assert edited["state"] == "done" and len(edited["pieces"]) == 4
    assert set(edited["verified"]) == set(first["verified"]) == VERIFIED, "no internal digest"
    assert Path(edited["path"]).read_bytes() != first_bytes, "the old line still plays"

    srt.write_text("\n\n".join(cues[:3]) + "\n", "utf-8")
    code, report, err = run(str(recipe), "--mock", "--out", out)
    assert code == 0, err
    (dropped,) = report["assemblies"]
    assert dropped["state"] == "done" and len(dropped["pieces"]) == 3
    assert dropped["verified"]["joins"] == pytest.approx([0.5, 3.2, 3.6, 7.4, 8.0, 10.5], abs=0.03)
    # Where the dropped cue played, the source's own frames: not the 0.5 s clip cut before for
    # the gap before that cue, stretched over the rest (its last frame frozen).
    dubbed, source = lumas(dropped["path"]), lumas(SOURCE)
    for t in (11.5, 13.0, 14.5, 15.5):
        assert at(dubbed, t) == pytest.approx(at(source, t), abs=9), t

    code, report, err = run(str(recipe), "--mock", "--out", out)  # nothing new: kept as it is
    assert code == 0, err
    assert report["assemblies"][0]["verified"] == dropped["verified"]


def test_a_video_whose_first_frame_is_at_10_s_is_dubbed_at_the_cues_times_from_its_first_frame(
    tmp_path: Path,
) -> None:
    """A video cut by stream copy often starts at 10 s. A cue at 1-3 s is its seconds 1-3 (not
    "no frames between 1 and 3 s"), and the stretch between cues is the source's own frames
    from its first one, not a frozen picture."""
    with av.open(str(tmp_path / "talk.mp4"), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(200):  # 20 s, brightness 20 + 2 per frame (wrapping every 10 s)
            pixels = np.full((90, 160), 20 + 2 * (i % 100), np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="gray").reformat(format="yuv420p")
            frame.pts = 100 + i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    (tmp_path / "es.srt").write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nBien.\n\n2\n00:00:14,000 --> 00:00:15,000\nAdios.\n"
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\ninputs:\n  v: {video: talk.mp4}\n  es: {lines: es.srt, language: es}\n"
        "steps:\n  dub:\n    use: runware/pixverse-lipsync\n"
        "    lipsync: {video: v, lines: es, voice: Sophia}\n"
    )
    code, report, err = run(str(recipe), "--mock", "--out", str(tmp_path / "out"))

    assert code == 0, err
    (dub,) = report["assemblies"]
    assert dub["state"] == "done"
    frames = lumas(dub["path"])
    for t in (4.0, 6.0, 8.0, 11.0, 13.0):  # between the cues: the source's frame at t
        assert at(frames, t) == pytest.approx(20 + 2 * (round(t * 10) % 100), abs=3)


def _correlation(a: Any, b: Any) -> float:
    import numpy as np

    n = min(len(a), len(b))
    if n < 2 or not a[:n].std() or not b[:n].std():
        return 0.0  # silence is like nothing
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_between_lines_the_dub_plays_the_sources_own_sound(tmp_path: Path) -> None:
    """ "The video between lines kept as it was" holds for its soundtrack too: a dub of a video
    with sound plays the source's sound between cues (it was silence there) and each cue's
    lip-synced speech at the cue."""
    import numpy as np

    from lipflow.longmedia import talking_video
    from lipflow.longmedia.keyframes import write_wav
    from lipflow.longmedia.loudness import decode_mono
    from lipflow.longmedia.synthesis import speech_samples

    recipe = _dub_copy(tmp_path)
    sound = tmp_path / "sound.wav"
    write_wav(sound, speech_samples(20.0, [], seed=11).reshape(-1, 1), 16000)
    video = tmp_path / "media" / "interview.mp4"
    talking_video(video, 20.0, width=128, height=128, fps=25, audio=sound)

    code, report, err = run(str(recipe), "--mock", "--out", str(tmp_path / "out"))

    assert code == 0, err
    (dub,) = report["assemblies"]
    rate = 16000
    source, dubbed = decode_mono(video, rate=rate), decode_mono(dub["path"], rate=rate)

    def span(samples: Any, start: float, end: float) -> Any:
        return samples[round(start * rate) : round(end * rate)]

    # Between the cues (0.5-3.2, 3.6-7.4, 8.0-10.5, 11.0-15.8): the source's sound, in time.
    for start, end in [(0.05, 0.45), (3.25, 3.55), (7.45, 7.95), (10.55, 10.95), (15.85, 19.9)]:
        assert _correlation(span(dubbed, start, end), span(source, start, end)) > 0.9, start
    # At each cue: its line's lip-synced output's sound (the mock's outputs carry none), never
    # the source's.
    outputs = {job["id"]: job["outputs"][0]["path"] for job in report["jobs"]}
    for start, end in [(0.5, 3.2), (3.6, 7.4), (8.0, 10.5), (11.0, 15.8)]:
        assert len(decode_mono(outputs[f"dub[line={line_stamp(start)}]"], rate=rate)) == 0
        cue = span(dubbed, start + 0.05, end - 0.05)
        assert float(np.sqrt(np.mean(cue**2))) < 0.01, start


def _without_output_store(mock: MockServer) -> dict[str, str]:
    """The environment of a run against ``mock`` whose output store is off: what it does not
    buy again, its out directory's journal alone kept."""
    return {
        "LIPFLOW_RUNWARE_URL": mock.urls.runware,
        "RUNWARE_API_KEY": "k",
        "LIPFLOW_CACHE_MAX_MB": "0",
    }


def _as_an_older_lipflow_planned(
    recipe: Path, *, ranges_read: bool
) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    """Each planned job's id, key (by its id now) and request as a lipflow that named a line's
    job by the line's number in its file (``dub[line=3]``, the number in its key too) planned
    it, and, unless ``ranges_read``, before a range's media was keyed by its file's bytes; then
    its key now. A job chained on a line's output was numbered as that line and keyed with that
    line's key then."""
    from dataclasses import replace

    from lipflow.identity import content_key, job_doc, numbered_line_job
    from lipflow.plan import plan_file

    plan = plan_file(str(recipe), env={})
    cues = {line.job: line.cue for line in plan.lines}
    then: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
    for pj in plan.jobs:  # upstream jobs first
        job = pj.job
        cue = cues[job.id] if job.id in cues else cues[job.needs[0]]
        cues[job.id] = cue
        named = {need: then[need][0] for need in job.needs}
        numbered = replace(
            numbered_line_job(job, cue),
            needs=tuple(named.values()),
            media={
                role: replace(ref, value=named[str(ref.value)]) if ref.origin == "step" else ref
                for role, ref in job.media.items()
            },
        )
        upstream = {named[need]: then[need][1] for need in job.needs}
        doc = job_doc(numbered, upstream)
        for role, ref in numbered.media.items():
            if not ranges_read and ref.origin == "file" and "#t=" in str(ref.value):
                doc["media"][role] = {"kind": ref.kind, "sha256": f"unreadable:{ref.value}"}
        old = content_key(doc)
        assert old != job.key
        then[job.id] = (numbered.id, old, job.key, doc)
    return then


def _journal_as_an_older_lipflow_wrote_it(
    recipe: Path, out: Path, *, ranges_read: bool = False
) -> None:
    """Each job under the id and key an older lipflow gave it (:func:`_as_an_older_lipflow_planned`),
    its output named by that id (``dub_line-3.mp4``)."""
    import sqlite3
    from contextlib import closing

    from lipflow.run.journal import JOURNAL_NAME

    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db, db:
        for job_id, (old_id, old, _, _) in _as_an_older_lipflow_planned(
            recipe, ranges_read=ranges_read
        ).items():
            db.execute("UPDATE jobs SET job_key = ?, id = ? WHERE id = ?", (old, old_id, job_id))
            for table in ("attempts", "uploads", "outputs", "events"):
                db.execute(f"UPDATE {table} SET job_id = ? WHERE job_id = ?", (old_id, job_id))
            ((path,),) = db.execute("SELECT path FROM outputs WHERE job_id = ?", (old_id,))
            step, _, number = old_id.partition("[line=")
            named = Path(path).with_name(f"{step}_line-{number.rstrip(']')}.mp4")
            (out / path).rename(out / named)
            db.execute("UPDATE outputs SET path = ? WHERE job_id = ?", (str(named), old_id))


def _stored_as_an_older_lipflow_stored_them(
    recipe: Path, store: Path, *, ranges_read: bool = False
) -> None:
    """Each job's outputs in the output store under the key an older lipflow gave the job
    (:func:`_as_an_older_lipflow_planned`), as that lipflow left them: beside them, its notes of
    each job's id, key and request by the recipe's name (``plan`` says what changed from them),
    which now name each line by its number."""
    import shutil

    from lipflow.plan import plan_file
    from lipflow.run.cache import OutputStore

    name = plan_file(str(recipe), env={}).recipe_name
    shutil.rmtree(store / "by-name")
    notes = OutputStore(store, 1 << 30)
    then = _as_an_older_lipflow_planned(recipe, ranges_read=ranges_read)
    for old_id, old, key, doc in then.values():
        stored_under(store, key, old)
        notes.remember(name, old_id, old, doc)


def test_a_dub_journaled_before_line_keys_held_the_videos_bytes_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """Upgrading lipflow mid-dub: a line journaled under its old key, its video unchanged since
    it was sent, is the same job (nothing bought); a video replaced since is new content. The
    output store is off: it would serve the lines by their new keys whatever the journal says."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    _journal_as_an_older_lipflow_wrote_it(recipe, out)
    lipflow_mock.simulator.journal.clear()

    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert report["counts"] == {"done": 4} and not report["not_in_recipe"]

    _journal_as_an_older_lipflow_wrote_it(recipe, out)
    (tmp_path / "media" / "interview.mp4").write_bytes(
        synthesize_video(probe(SOURCE).duration_s, width=96, height=96, cached=False)
    )
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 4, "a new video: new jobs"


def test_a_dub_journaled_when_lines_were_named_by_their_number_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """Upgrading from a lipflow that named a line's job by the line's number (``dub[line=3]``,
    the number in its key): each unchanged line is the same job, renamed to the id it has now
    with its output beside it; nothing is bought and the dub is the same."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    joined = _made_of(out)
    _journal_as_an_older_lipflow_wrote_it(recipe, out, ranges_read=True)
    assert (out / "dub_line-3.mp4").exists()
    lipflow_mock.simulator.journal.clear()

    code, report, err = run(str(recipe), "--out", str(out), env=env)

    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert report["counts"] == {"done": 4} and not report["not_in_recipe"]
    assert not (out / "dub_line-3.mp4").exists()
    for job in report["jobs"]:
        assert Path(job["outputs"][0]["path"]).is_file()
    assert _made_of(out) == joined, "the dub is not joined again"


def _dub_an_older_lipflow_stored(
    mock: MockServer, folder: Path, store: Path, *, ranges_read: bool
) -> tuple[dict[str, str], Path]:
    """The environment of runs against ``mock`` with the output store ``store`` (the test's) on,
    and a copy of the dub in ``folder`` that an older lipflow bought into it
    (:func:`_stored_as_an_older_lipflow_stored_them`); the mock's journal cleared."""
    env = {**_without_output_store(mock), "LIPFLOW_CACHE_MAX_MB": "100"}
    recipe = _dub_copy(folder)
    code, _, err = run(str(recipe), "--out", str(folder / "a"), env=env)
    assert code == 0, err
    _stored_as_an_older_lipflow_stored_them(recipe, store, ranges_read=ranges_read)
    mock.simulator.journal.clear()
    return env, recipe


@pytest.mark.parametrize("ranges_read", [False, True], ids=["ranges-by-name", "numbered"])
def test_lines_an_older_lipflow_stored_are_not_bought_again_into_a_new_out_directory(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path, ranges_read: bool
) -> None:
    """The output store keeps what was bought for every out directory: lines an older lipflow
    bought (stored under the keys it gave them) are copied from there into a new out directory
    by the upgraded lipflow, nothing bought; a video replaced since is new content."""
    env, recipe = _dub_an_older_lipflow_stored(
        lipflow_mock, tmp_path, _own_output_store, ranges_read=ranges_read
    )
    planned = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"], env=env)
    assert json.loads(planned.stdout)["already_paid"]["jobs"] == 4, "the plan says so too"

    code, report, err = run(str(recipe), "--out", str(tmp_path / "b"), env=env)

    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert report["counts"] == {"done": 4}
    for job in report["jobs"]:
        assert Path(job["outputs"][0]["path"]).is_file()
    assert report["assemblies"][0]["state"] == "done"

    (tmp_path / "media" / "interview.mp4").write_bytes(
        synthesize_video(probe(SOURCE).duration_s, width=96, height=96, cached=False)
    )
    code, report, err = run(str(recipe), "--out", str(tmp_path / "c"), env=env)
    assert code == 0, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 4, "a new video: new jobs"


@pytest.mark.parametrize("ranges_read", [False, True], ids=["ranges-by-name", "numbered"])
def test_lines_an_older_lipflow_stored_are_found_by_what_they_say_after_a_cue_is_inserted_before(
    lipflow_mock: MockServer, tmp_path: Path, _own_output_store: Path, ranges_read: bool
) -> None:
    """An older lipflow keyed a line by its number in the file: after a cue is inserted before
    its lines 3 and 4 (4 and 5 now), each is found in the store by what it says and when, not by
    its number, through the note of its request that lipflow kept beside its output; only the
    new cue is bought. A line that says the same but is timed otherwise since is not taken for
    its old entry: it is bought."""
    env, recipe = _dub_an_older_lipflow_stored(
        lipflow_mock, tmp_path, _own_output_store, ranges_read=ranges_read
    )
    srt = tmp_path / "media" / "interview.es.srt"
    text = srt.read_text(encoding="utf-8-sig")
    inserted = "3\n" + _cue("00:00:07,450", "00:00:07,950", "[SPEAKER_01]: Claro.") + "\n\n"
    srt.write_text(text.replace("3\n00:00:08", inserted + "4\n00:00:08"), encoding="utf-8")
    planned = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"], env=env)
    assert json.loads(planned.stdout)["already_paid"]["jobs"] == 4, "the plan says so too"

    code, report, err = run(str(recipe), "--out", str(tmp_path / "b"), env=env)

    assert code == 0, err
    (submit,) = lipflow_mock.simulator.journal.records(op="submit")
    assert "Claro." in json.dumps(submit.body, ensure_ascii=False)
    assert report["counts"] == {"done": 5} and report["assemblies"][0]["state"] == "done"
    lipflow_mock.simulator.journal.clear()

    srt.write_text(srt.read_text("utf-8").replace("00:00:11,000", "00:00:11,200"), "utf-8")
    code, report, err = run(str(recipe), "--out", str(tmp_path / "c"), env=env)

    assert code == 0, err
    (submit,) = lipflow_mock.simulator.journal.records(op="submit")
    assert "nunca un mal sonido" in json.dumps(submit.body, ensure_ascii=False)
    assert report["counts"] == {"done": 5}


def test_a_line_renamed_to_its_start_by_a_run_stopped_before_it_was_rekeyed_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """The upgrade renames a numbered line's row to its start, then keys it anew: a run stopped
    in between leaves the row under its new id with its old key, the same job all the same."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    then = _as_an_older_lipflow_planned(recipe, ranges_read=True)
    journal_keys_as_before(recipe, out, lambda job, _: then[job.id][1])
    lipflow_mock.simulator.journal.clear()

    code, report, err = run(str(recipe), "--out", str(out), env=env)

    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert report["counts"] == {"done": 4} and not report["not_in_recipe"]


def test_a_step_chained_on_lines_journaled_when_lines_were_numbered_is_not_bought_again(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A step whose input is each line's output (``steps.dub``) was named by that line's number
    too (``again[line=3]``) and keyed with that line's key then: upgraded, each is the same job,
    renamed with its line, nothing bought again."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    recipe.write_text(
        recipe.read_text(encoding="utf-8")
        + "  again:\n    use: runware/pixverse-lipsync\n"
        + "    lipsync: {video: steps.dub, tts: {text: hola, voice: Sophia}}\n",
        encoding="utf-8",
    )
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    assert report["counts"] == {"done": 8}
    for ranges_read in (False, True):
        _journal_as_an_older_lipflow_wrote_it(recipe, out, ranges_read=ranges_read)
        assert (out / "again_line-3.mp4").exists()
        lipflow_mock.simulator.journal.clear()

        code, report, err = run(str(recipe), "--out", str(out), env=env)

        assert code == 0, err
        assert lipflow_mock.simulator.journal.records(op="submit") == [], ranges_read
        assert report["counts"] == {"done": 8} and not report["not_in_recipe"]
        assert not (out / "again_line-3.mp4").exists()
        for job in report["jobs"]:
            assert Path(job["outputs"][0]["path"]).is_file()


def _made_of(out: Path) -> dict[str, str]:
    """What the journal says each joined dub in ``out`` was made of (the digest of its pieces)."""
    from lipflow.run.journal import JOURNAL_NAME, MADE_OF, Journal

    with Journal.open_run(out / JOURNAL_NAME) as journal:
        return {name: rec.detail[MADE_OF] for name, rec in journal.assemblies().items()}


def test_a_kill_after_a_lines_output_was_moved_to_its_new_name_loses_nothing(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """The upgrade moves each line's output to its new name, then journals the new name: killed
    in between, the next run finds the output where it was moved (its size and hash those
    journaled) instead of taking it for lost."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    named_now = sorted(Path(job["outputs"][0]["path"]).name for job in report["jobs"])
    _journal_as_an_older_lipflow_wrote_it(recipe, out, ranges_read=True)
    numbered = sorted(out.glob("dub_line-?.mp4"))
    assert len(numbered) == len(named_now) == 4
    for old, new in zip(numbered, named_now, strict=True):  # cue order is start order
        old.rename(out / new)  # moved, and killed before the journal said so
    lipflow_mock.simulator.journal.clear()

    code, report, err = run(str(recipe), "--out", str(out), env=env)

    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    assert lipflow_mock.simulator.journal.records(op="download") == []
    assert sorted(Path(job["outputs"][0]["path"]).name for job in report["jobs"]) == named_now


def _cue(start: str, end: str, text: str) -> str:
    return f"{start} --> {end}\n{text}"


def test_inserting_a_cue_buys_that_line_alone_and_deleting_one_buys_nothing(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """A line's job is what it says, where: a cue inserted in the middle of the file (every
    later cue's number moved on by one) is the one new job, and the dub is joined again with
    it; a cue deleted buys nothing. The output store is off: this out directory's journal
    alone knows the lines it paid for."""
    env = _without_output_store(lipflow_mock)
    recipe, out = _dub_copy(tmp_path), tmp_path / "out"
    srt = tmp_path / "media" / "interview.es.srt"
    cues = [
        _cue("00:00:00,500", "00:00:03,200", "[SPEAKER_01]: Bienvenida al programa."),
        _cue("00:00:03,600", "00:00:07,400", "[SPEAKER_02]: Empezó con una cámara vieja."),
        _cue("00:00:08,000", "00:00:10,500", "[SPEAKER_01]: ¿Y qué aprendiste?"),
        _cue("00:00:11,000", "00:00:15,800", "[SPEAKER_02]: Que el sonido importa."),
    ]

    def write(chosen: list[str]) -> None:
        srt.write_text(
            "\n\n".join(f"{n}\n{cue}" for n, cue in enumerate(chosen, 1)) + "\n", "utf-8"
        )

    write(cues)
    code, report, err = run(str(recipe), "--out", str(out), env=env)
    assert code == 0, err
    assert len(lipflow_mock.simulator.journal.records(op="submit")) == 4
    lipflow_mock.simulator.journal.clear()

    inserted = _cue("00:00:07,450", "00:00:07,950", "[SPEAKER_01]: Claro.")
    write([*cues[:2], inserted, *cues[2:]])
    code, report, err = run(str(recipe), "--out", str(out), env=env)

    assert code == 0, err
    (submit,) = lipflow_mock.simulator.journal.records(op="submit")
    assert "Claro." in json.dumps(submit.body, ensure_ascii=False)
    assert report["counts"] == {"done": 5} and not report["not_in_recipe"]
    (dub,) = report["assemblies"]
    assert dub["state"] == "done" and len(dub["pieces"]) == 5
    assert dub["verified"]["joins"] == pytest.approx(
        [0.5, 3.2, 3.6, 7.4, 7.45, 7.95, 8.0, 10.5, 11.0, 15.8], abs=0.03
    )
    lipflow_mock.simulator.journal.clear()

    write([cues[0], inserted, *cues[2:]])
    code, report, err = run(str(recipe), "--out", str(out), env=env)

    assert code == 0, err
    assert lipflow_mock.simulator.journal.records(op="submit") == []
    (dub,) = report["assemblies"]
    assert dub["state"] == "done" and len(dub["pieces"]) == 4
    assert [job["id"] for job in report["jobs"]] == [
        "dub[line=00:00:00.500]",
        "dub[line=00:00:07.450]",
        "dub[line=00:00:08.000]",
        "dub[line=00:00:11.000]",
    ]


def test_one_text_at_two_times_is_two_jobs(tmp_path: Path) -> None:
    """The same words at two times are two pieces of the video: two jobs, two keys."""
    (tmp_path / "es.srt").write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nHola.\n\n2\n00:00:05,000 --> 00:00:07,000\nHola.\n",
        encoding="utf-8",
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"version: 1\ninputs:\n  v: {{video: {SOURCE}}}\n  es: {{lines: es.srt, language: es}}\n"
        "steps:\n  dub:\n    use: runware/pixverse-lipsync\n"
        "    lipsync: {video: v, lines: es, voice: Sophia}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["plan", str(recipe), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert [job["id"] for job in jobs] == ["dub[line=00:00:01.000]", "dub[line=00:00:05.000]"]
    assert len({job["key"] for job in jobs}) == 2
