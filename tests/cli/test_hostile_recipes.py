"""Ordinary and hostile recipes through `validate` and `plan`, in text and JSON: each gets a
clear problem on its line and a documented exit code, in bounded time and memory; none an
internal error (exit 70) or a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]
PRESENTER = "inputs: {presenter: {video: media/presenter.mp4}}\n"


def _lipsync(tts: str, *, head: str = "", step: str = "") -> str:
    return (
        f"version: 1\n{head}{PRESENTER}steps:\n  s:\n{step}"
        f"    lipsync:\n      video: presenter\n      tts: {tts}\n"
    )


# (id, recipe text, exit code of validate and plan, words every report must hold)
CASES = [
    (
        "number-from-vars-is-spoken-as-written",
        _lipsync('{text: "{{ vars.line }}", voice: Sophia}', head="vars: {line: 12345}\n"),
        0,
        "",
    ),
    (
        "numbers-from-the-matrix-in-text-and-voice",
        _lipsync(
            '{text: "{{ matrix.line }}", voice: "{{ matrix.voice }}"}',
            step="    matrix: {line: [1, 2], voice: [3]}\n",
        ),
        1,
        "'3' is not one of the allowed voices",
    ),
    (
        "an-input-is-not-text",
        _lipsync('{text: "{{ inputs.presenter }}", voice: Sophia}'),
        1,
        "text must be text, not dict",
    ),
    (
        "undefined-input-in-a-template",
        _lipsync('{text: "{{ inputs.x }}", voice: Sophia}'),
        1,
        "has no attribute 'x'",
    ),
    ("a-huge-power", _lipsync('{text: "{{ 9 ** 99999 }}", voice: Sophia}'), 1, "4,300 digits"),
    (
        "a-take-past-the-bound",  # older keys are looked up by trying each take up to it
        _lipsync('{text: "Hi", voice: Sophia}', step="    take: 1001\n"),
        1,
        "1001 is out of range: allowed: 1 to 1000",
    ),
    (
        "a-gigabyte-string-is-refused-before-it-is-made",
        _lipsync("{text: \"{{ 'a' * 1000000000 }}\", voice: Sophia}"),
        1,
        "would pass the bound of 100,000",
    ),
    (
        "a-template-that-loops-forever-is-stopped",
        _lipsync(
            '{text: "{% for i in range(100000) %}{% for j in range(100000) %}'
            '{% endfor %}{% endfor %}x", voice: Sophia}'
        ),
        1,
        "took longer than 2 s",
    ),
    (
        "yaml-nested-2000-deep",
        "version: 1\nsteps: " + "[" * 2000 + "]" * 2000 + "\n",
        1,
        "nested more than 64 levels deep",
    ),
    (
        "a-named-model-without-tts",
        _lipsync("{text: hello, voice: Sophia}", step="    use: wavespeed/pixverse-lipsync\n"),
        1,
        "wavespeed/pixverse-lipsync does not offer lipsync.tts",
    ),
    (
        "a-lipsync-model-asked-to-generate",
        "version: 1\nsteps:\n  s:\n    use: pixverse/lipsync\n    generate: {prompt: a cat}\n",
        1,
        "pixverse/lipsync does not offer video.text",
    ),
    (
        "a-million-job-matrix",
        _lipsync(
            "{text: hello, voice: Sophia}",
            step="    matrix: {"
            + ", ".join(f"{axis}: [0,1,2,3,4,5,6,7,8,9]" for axis in "abcdef")
            + "}\n",
        ),
        1,
        "would make 1,000,000 jobs (a matrix of 10 x 10 x 10 x 10 x 10 x 10)",
    ),
    (
        "a-1000-by-1000-fan-out",
        "version: 1\n"
        + PRESENTER
        + "steps:\n  gen:\n    matrix: {n: [RANGE]}\n    generate: {prompt: 'cat {{ matrix.n }}'}\n"
        "  voice:\n    matrix: {n: [RANGE]}\n    lipsync:\n      video: steps.gen\n"
        "      tts: {text: 'hi {{ matrix.n }}', voice: Sophia}\n".replace(
            "RANGE", ",".join(map(str, range(1000)))
        ),
        1,
        "would make 1,000,000 jobs (1,000 x 1,000 upstream jobs)",
    ),
    (
        "a-name-that-climbs-out-of-the-project",
        _lipsync("{text: hello, voice: Sophia}", head="name: ../../x\n"),
        1,
        "name '../../x' is not a plain file name",
    ),
    (
        "no-as-text-is-a-boolean-in-yaml",
        _lipsync("{text: no, voice: Sophia}"),
        1,
        "false is a boolean; expected a string; YAML reads no as false (yes, no, on and off are "
        'booleans): quote it ("no") for text',
    ),
    (
        "an-exponent-without-a-point-is-text-in-yaml",
        "version: 1\ninputs: {clip: {video: 'https://example.com/c.mp4', size_bytes: 1e9}}\n"
        "steps:\n  s:\n    lipsync: {video: clip, tts: {text: hi, voice: Sophia}}\n",
        1,
        "'1e9' is a string; expected an integer; YAML reads 1e9 as text (its exponent needs a "
        "decimal point before and a sign): write 1.0e+9 or 1000000000 for the number",
    ),
    (
        "an-exponent-in-a-generate-duration-checked-once-planned",
        "version: 1\nsteps:\n  gen:\n    use: runware/pixverse-v4\n"
        "    generate: {prompt: a cat, duration: 5e0}\n",
        1,
        "YAML reads 5e0 as text (its exponent needs a decimal point before and a sign): write "
        "5.0e+0 or 5 for the number",
    ),
    (
        "a-bell-in-the-text-to-speech-text",
        _lipsync('{text: "Hi\\athere", voice: Sophia}'),
        1,
        "text holds the control character U+0007 (BEL) at character 3",
    ),
    (
        "an-escape-character-made-by-a-template-in-a-prompt",
        "version: 1\nsteps:\n  gen:\n    generate: {prompt: \"a cat{{ '\\\\x1b' }}[31m\"}\n",
        1,
        "prompt holds the control character U+001B (ESC) at character 6",
    ),
    (
        "a-generate-duration-that-is-not-a-number",  # found by test_generated_recipes
        "version: 1\n"
        + PRESENTER
        + "steps:\n  gen:\n    generate: {prompt: 'a cat', duration: ':'}\n",
        1,
        "':' is not one of the allowed durations",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validate_and_plan_answer_with_a_clear_problem(
    folder: Path, text: str, code: int, words: str
) -> None:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    got, out, err = _invoke("validate", str(path))
    assert got == code, out + err
    assert words in out
    got, out, err = _invoke("validate", "--format", "json", str(path))
    report = json.loads(out)
    assert got == code and report["valid"] is (code == 0)
    assert words in " ".join(p["message"] for p in report["problems"])
    assert all(p["line"] for p in report["problems"]), report
    for fmt in ("text", "json"):
        got, out, err = _invoke("plan", "--format", fmt, str(path))
        assert got == code, out + err
        assert words in err
        if fmt == "json" and out:  # a recipe that does not load has no plan to print
            assert json.loads(out)["errors"] if code else json.loads(out)["jobs"]


def test_max_jobs_raises_the_bound_and_lowers_it(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(
        _lipsync("{text: 'n {{ matrix.n }}', voice: Sophia}", step="    matrix: {n: [1, 2, 3]}\n")
    )
    code, out, _ = _invoke("validate", "--max-jobs", "2", str(path))
    assert (
        code == 1 and "a plan holds at most 2: narrow it, or raise the bound with --max-jobs" in out
    )
    code, out, _ = _invoke("plan", "--format", "json", "--max-jobs", "3", str(path))
    assert code == 0 and len(json.loads(out)["jobs"]) == 3
    code, _, err = _invoke("plan", "--max-jobs", "0", str(path))
    assert code == 2 and "--max-jobs" in err
    out_dir = folder / "out"
    code, _, err = _invoke("run", "--mock", "--max-jobs", "2", "--out", str(out_dir), str(path))
    assert code == 1 and "a plan holds at most 2" in err
    assert not out_dir.exists(), "nothing is run from a plan past the bound"


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_an_unreadable_file_is_never_called_valid(tmp_path: Path, fmt: str) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    for path, why in ((tmp_path / "missing.yaml", "no such file"), (binary, "binary")):
        code, out, _ = _invoke("validate", "--format", fmt, str(path))
        assert code == 2
        assert why in out
        assert "valid" not in out.replace('"valid": false', "")
        if fmt == "json":
            report = json.loads(out)
            assert report["valid"] is False and report["problems"][0]["code"] == "unreadable"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_named_pipe_or_a_device_is_refused_without_waiting(tmp_path: Path, command: str) -> None:
    pipe = tmp_path / "recipe.yaml"
    os.mkfifo(pipe)  # nobody writes to it: reading would wait for ever
    code, out, err = _invoke(command, str(pipe))
    assert code == 2 and "is a named pipe, not a recipe file" in out + err
    code, out, err = _invoke(command, os.devnull)
    assert code == 2 and "is a character device, not a recipe file" in out + err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_an_input_that_is_a_pipe_a_device_or_a_directory_is_named_for_what_it_is(
    tmp_path: Path, command: str
) -> None:
    os.mkfifo(tmp_path / "pipe.mp4")  # nobody writes to it: reading would wait for ever
    (tmp_path / "folder.mp4").mkdir()
    for source, kind in (
        ("pipe.mp4", "a named pipe"),
        (os.devnull, "a character device"),
        ("folder.mp4", "a directory"),
    ):
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(
            _lipsync("{text: hi, voice: Sophia}").replace("media/presenter.mp4", source)
        )
        code, out, err = _invoke(command, str(recipe))
        assert code == 2, (source, out, err)  # a file that cannot be read, as README says
        assert f"input 'presenter': is {kind}, not a media file" in out + err


def test_a_saved_plan_naming_a_path_is_not_run_into_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)
    path = folder / "recipe.yaml"
    path.write_text(_lipsync("{text: hello, voice: Sophia}", head="name: ok\n"))
    code, out, _ = _invoke("plan", "--format", "json", str(path))
    saved = json.loads(out)
    saved["recipe"]["name"] = "../../escaped"
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps(saved))
    code, _, err = _invoke("run", "--mock", str(plan_file))
    assert code == 2 and "the run is named '../../escaped', which is not what" in err
    assert not list(folder.parent.parent.glob("escaped*"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_saved_plan_that_is_no_plan_file_is_refused_with_exit_2(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")  # nobody writes to it: reading would wait for ever
    (tmp_path / "deep.json").write_text('{"jobs": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "binary.json").write_bytes(b"\x00\x01")
    (tmp_path / "broken.json").write_text('{"jobs":\n  [1 2]}')
    for name, says in (
        ("pipe.json", "is a named pipe, not a saved plan file"),
        ("deep.json", "nested about 1,000 levels deep (a saved plan is a few levels deep)"),
        ("broken.json", "broken.json:2:6: error: not JSON: Expecting ',' delimiter\n"),
        ("binary.json", "file is binary (contains NUL bytes), not a saved plan file"),
    ):
        out_dir = tmp_path / f"out-{name}"
        code, _, err = _invoke("run", "--mock", "--out", str(out_dir), str(tmp_path / name))
        assert code == 2 and says in err, (name, err)
        assert not out_dir.exists()


ONE_PASS = """version: 1
budget: lots
inputs: {presenter: {video: media/presenter.mp4}}
steps:
  a:
    lipsink: {video: presenter}
  b:
    lipsync: {video: presenter, tts: {text: hi, voice: Sofia}}
  c:
    needs: [zz]
    lipsync: {video: presenter, tts: {text: hi, voice: Jamez}}
  d:
    lipsync: {video: steps.a, tts: {text: hi, voice: Sophia}}
"""


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_recipe_level_errors_do_not_hide_the_job_level_ones(folder: Path, command: str) -> None:
    path = folder / "recipe.yaml"
    path.write_text(ONE_PASS)
    code, out, err = _invoke(command, str(path))
    assert code == 1
    report = out if command == "validate" else err
    for where, words in (
        ("2:9", "'lots' is a string; expected a number"),
        ("6:5", "'lipsink' is not a documented property of steps.a"),
        ("10:13", "step 'c' needs unknown step 'zz'"),
        ("8:56", "'Sofia' is not one of the allowed voices"),
        ("11:56", "'Jamez' is not one of the allowed voices"),
    ):
        assert f"{path}:{where}: error" in report and words in report, (where, report)
    assert "step d" not in report and "steps.d" not in report, "d needs the broken step a"
    _, out, _ = _invoke("validate", "--format", "json", str(path))
    assert json.loads(out)["errors"] == 6


def test_a_step_needing_a_step_set_aside_for_its_errors_is_left_out_quietly(
    folder: Path,
) -> None:
    text = (REPO / "recipes" / "teaser.yaml").read_text()
    path = folder / "recipe.yaml"
    path.write_text(text.replace("style: 3d_animation", "style: 3d_animation\n      bogus: 1"))
    for command in ("validate", "plan"):
        code, out, err = _invoke(command, str(path))
        assert code == 1
        assert "'bogus' is not a documented property of steps.teaser.generate" in out + err
        assert "1 error(s)" in out + err


def test_a_list_past_the_value_bound_is_refused_where_it_passes_it_before_the_rest_is_read(
    tmp_path: Path,
) -> None:
    # 600,000 values, then a syntax error at the very end: reading stops at the bound, so the
    # bound is what is said, at the value that passed it (the 200,001st: the root mapping, two
    # keys, a value and the list come first, so it is the list's 199,996th item).
    path = tmp_path / "recipe.yaml"
    path.write_text("version: 1\nsteps: [" + "1," * 600_000 + "\n  ]: oops\n", encoding="utf-8")
    column = len("steps: [") + 2 * (199_996 - 1) + 1
    got, out, _ = _invoke("validate", str(path))
    assert got == 1
    assert out.startswith(
        f"{path}:2:{column}: error: the document holds more than 200,000 keys and values"
    )
    assert "syntax" not in out


@pytest.mark.parametrize(
    ("source", "said", "meant"),
    [
        ("ftp://example.com/p.mp4", "ftp: URLs are not supported", None),
        ("data:video/mp4;base64,AAAA", "data: URLs are not supported", None),
        ("s3://bucket/p.mp4", "s3: URLs are not supported", None),
        ("file:///clips/my%20take.mp4", "file: URLs are not supported", "/clips/my take.mp4"),
        ("htps://example.com/p.mp4", "htps: URLs are not supported", "https://example.com/p.mp4"),
        ("HTTPS://example.com/p.mp4", "in lower case", "https://example.com/p.mp4"),
    ],
)
def test_an_input_url_of_another_scheme_is_said_to_be_unsupported_not_missing(
    tmp_path: Path, source: str, said: str, meant: str | None
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(
        f'version: 1\ninputs:\n  clip: {{video: "{source}"}}\nsteps:\n  s:\n'
        "    lipsync: {video: clip, tts: {text: hi, voice: Emily}}\n",
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    (problem,) = json.loads(out)["problems"]
    assert got == 1
    assert (problem["line"], problem["column"], problem["path"]) == (3, 17, "$.inputs.clip.video")
    assert said in problem["message"]
    assert "http:// or https://" in problem["message"]
    assert "No such file" not in problem["message"]
    assert problem["suggestion"] == meant


def test_a_control_character_in_a_subtitle_cue_is_refused_at_its_line_in_the_file(
    folder: Path,
) -> None:
    cues = (REPO / "recipes" / "media" / "interview.es.srt").read_text(encoding="utf-8-sig")
    (folder / "bell.srt").write_text(cues.replace("Bienvenida", "Bienve\anida"), encoding="utf-8")
    recipe = (REPO / "recipes" / "interview_subtitles.yaml").read_text(encoding="utf-8")
    path = folder / "recipe.yaml"
    path.write_text(recipe.replace("media/interview.es.srt", "bell.srt"), encoding="utf-8")
    got, out, _ = _invoke("validate", str(path))
    assert got == 1
    assert out.splitlines()[0] == (
        f"{folder / 'bell.srt'}:3:21: error [input es]: the line holds the control character U+0007 (BEL), "
        "which no voice speaks: remove it"
    )
    assert "1 error(s)" in out


def test_a_control_character_a_matrix_puts_in_a_text_is_refused_in_every_job(
    folder: Path,
) -> None:
    # The second job of a matrix is built like the first, by its text alone: checked too.
    path = folder / "recipe.yaml"
    path.write_text(
        _lipsync(
            """{text: "Say {{ matrix.line }}{{ '\\a' if matrix.line == 'hi' }}", voice: Sophia}""",
            step='    matrix: {line: ["hello", "hi"]}\n',
        ),
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", str(path))
    assert got == 1
    assert "[job s[line=hi]] at $.steps.s.lipsync.tts.text: text holds the control" in out


UNPRINTABLE_NAMES = (
    "    matrix:\n"
    '      lang: [fr, "en\\e[2J\\e[31m"]\n'  # an ESC sequence that clears the screen
    '      "mo\\u202Eod": [calm]\n'  # a bidi override in a key
    '      include: [{lang: de, mood: "a\\rb"}]\n'  # a carriage return in an include entry
)


def test_a_matrix_key_or_value_a_terminal_would_not_print_is_refused_where_it_is_written(
    folder: Path,
) -> None:
    """Matrix keys and values make the job ids every line of a run prints: an ESC, a bidi
    override or a carriage return there is refused at its line and column, named, never shown
    (a line break, which a text spoken from a matrix may hold, is not: test_plan_json_output)."""
    path = folder / "recipe.yaml"
    path.write_text(
        _lipsync('{text: "Hello.", voice: Sophia}', step=UNPRINTABLE_NAMES), encoding="utf-8"
    )
    got, out, err = _invoke("validate", "--format", "json", str(path))
    assert got == 1, out + err
    problems = [
        (p["line"], p["column"], p["path"], p["message"]) for p in json.loads(out)["problems"]
    ]
    assert [p[:3] for p in problems] == [
        (6, 18, "$.steps.s.matrix.lang[1]"),
        (7, 7, "$.steps.s.matrix['mo\\u202eod']"),
        (8, 34, "$.steps.s.matrix.include[0].mood"),
    ]
    assert [p[3].split(":")[0] for p in problems] == [
        "the matrix value holds the character U+001B (ESC) at character 3",
        "the matrix key holds the character U+202E (RIGHT-TO-LEFT OVERRIDE) at character 3",
        "the matrix value holds the character U+000D (CR) at character 2",
    ]
    for command in ("validate", "plan"):
        got, out, err = _invoke(command, str(path))
        assert got == 1
        assert (
            f"{path}:6:18: error at $.steps.s.matrix.lang[1]: the matrix value holds" in out + err
        )
        assert [c for c in out + err if c != "\n" and not c.isprintable()] == []
