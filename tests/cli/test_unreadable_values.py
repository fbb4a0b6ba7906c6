"""Values Python cannot read or write, in a recipe or in JSON given to lipflow: a lone surrogate
escape, an integer of thousands of digits, an unknown YAML tag. Each is a problem at its line and
column in plain words with a documented exit code, never an internal error (exit 70)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]
HEAD = "version: 1\ninputs: {presenter: {video: media/presenter.mp4}}\nsteps:\n  s:\n"
SURROGATE = "a lone surrogate \\udfff, which is not a character; UTF-8 cannot hold it"
DIGITS = "9" * 5000
LIPSYNC = "    lipsync: {video: presenter, tts: {text: hi, voice: Sophia}}\n"


@pytest.mark.parametrize(
    ("text", "place", "words"),
    [
        (
            HEAD + '    lipsync: {video: presenter, tts: {text: "hi \\udfff", voice: Sophia}}\n',
            "5:45",
            f"the text contains {SURROGATE}",
        ),
        (
            'version: 1\ndescription: "\\ud800"\n' + HEAD[11:] + LIPSYNC,
            "2:14",
            "the text contains a lone surrogate \\ud800",
        ),
        (
            HEAD + "    lipsync: {video: presenter, tts: {text: \"{{ '\\\\\\\\udfff'.encode()"
            ".decode('unicode-escape') }}\", voice: Sophia}}\n",
            "5:45",
            f"gives text that contains {SURROGATE}",
        ),
        (
            f"version: 1\nbudget: {DIGITS}\n" + HEAD[11:] + LIPSYNC,
            "2:9",
            "an integer of 5,000 digits; a number holds at most 4,300 digits",
        ),
        (
            "version: 1\nvars: {w: !custom 3}\n" + HEAD[11:] + LIPSYNC,
            "2:11",
            "the tag !custom is not one a recipe can use",
        ),
    ],
    ids=[
        "surrogate-in-text",
        "surrogate-in-description",
        "surrogate-from-a-template",
        "bigint",
        "tag",
    ],
)
def test_a_value_python_cannot_hold_is_a_problem_at_its_place(
    folder: Path, text: str, place: str, words: str
) -> None:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    got, out, err = _invoke("validate", str(path))
    assert got == 1, out + err
    assert f"recipe.yaml:{place}: error" in out and words in out, out
    assert "sys.set_int_max_str_digits" not in out and "<unicode string>" not in out
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    assert got == 1 and any(words in p["message"] for p in json.loads(out)["problems"])
    for fmt in ("text", "json"):
        got, out, err = _invoke("plan", "--format", fmt, str(path))
        assert got == 1 and words in err, out + err


def test_a_request_body_with_a_5000_digit_integer_is_refused_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text('[{"numberResults": ' + DIGITS + "}]")
    got, _, err = _invoke("check-request", "--provider", "runware", str(path))
    assert got == 2, err
    assert (
        "body.json:1:20: error: not JSON lipflow can read: an integer of 5,000 digits; a number "
        "holds at most 4,300 digits"
    ) in err


def test_a_saved_plan_with_a_5000_digit_integer_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{\n  "lipflow_plan": ' + DIGITS + "\n}\n")
    out_dir = tmp_path / "out"
    got, _, err = _invoke("run", "--mock", "--out", str(out_dir), str(path))
    assert got == 2, err
    assert "plan.json:2:19: error: not JSON lipflow can read: an integer of 5,000 digits" in err
    assert not out_dir.exists()


def test_an_escaped_surrogate_pair_is_the_one_character_it_stands_for(folder: Path) -> None:
    """YAML written by json.dumps escapes 😀 as two halves; read together, they are 😀."""
    recipe = folder / "r.yaml"
    speech = json.dumps({"text": "hi 😀", "voice": "Sophia"})  # "hi \ud83d\ude00"
    recipe.write_text(HEAD + f"    lipsync: {{video: presenter, tts: {speech}}}\n")
    code, out, err = _invoke("plan", str(recipe), "--format", "json")
    assert code == 0, err
    (job,) = json.loads(out)["jobs"]
    assert "hi 😀" in json.dumps(job, ensure_ascii=False)
