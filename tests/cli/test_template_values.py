"""What a template gives, through `validate` and `plan`: a value JSON can hold or a problem at its
field (never an internal error, exit 70, when the plan is written as JSON), the same values for
every job whatever the order they render in, and memory bounded before a huge text is built."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import pytest

from tests.cli.invoking import invoke as _invoke

REPO = Path(__file__).parents[2]
HEAD = "version: 1\nvars: {formats: [MP4, MOV], l: [], who: Sophia}\n"
HEAD += "inputs: {presenter: {video: media/presenter.mp4}}\nsteps:\n  s:\n"


def _options(template: str) -> str:
    return (
        f"{HEAD}    options: {{outputFormat: {json.dumps(template)}}}\n"
        "    lipsync: {video: presenter, tts: {text: hello, voice: Sophia}}\n"
    )


def _voice(template: str) -> str:
    return f"{HEAD}    lipsync:\n      video: presenter\n      tts: {{text: hi, voice: {json.dumps(template)}}}\n"


def _text(template: str) -> str:
    return f"{HEAD}    lipsync: {{video: presenter, tts: {{text: {json.dumps(template)}, voice: Sophia}}}}\n"


# (id, recipe text, line of the problem, words the problem must hold)
CASES = [
    (
        "a-range-for-a-boolean",  # was valid, and sent as "sound on"
        HEAD.replace("  s:\n", "  s:\n    use: runware/pixverse-v4.5\n")
        + '    generate: {prompt: a cat, sound: "{{ range(3) }}"}\n',
        7,
        "sound must be true, false or text, not list [0, 1, 2]",
    ),
    (
        "a-reversed-list-is-a-list",
        _options("{{ vars.formats | reverse }}"),
        6,
        '["MOV", "MP4"] is not one of the allowed output formats',
    ),
    (
        "a-template-error-in-options-is-placed-at-the-option",
        _options("{{ vars.formatz | first }}"),
        6,
        "'dict object' has no attribute 'formatz'",
    ),
    (
        "a-mapped-list-is-a-list",
        _voice("{{ vars.formats | map('lower') }}"),
        8,
        "voice must be text, not list ['mp4', 'mov']",
    ),
    (
        "bytes",
        _voice("{{ 'MP4'.encode() }}"),
        8,
        "gives bytes (use .decode()), not a value JSON can hold",
    ),
    ("a-cycler", _voice("{{ cycler(1, 2) }}"), 8, "gives a Cycler, not a value JSON can hold"),
    (
        "a-namespace",
        _voice("{{ namespace(a=1) }}"),
        8,
        "gives a Namespace, not a value JSON can hold",
    ),
    (
        "a-mapping-with-a-tuple-key",
        _voice("{{ {(1, 2): 3} }}"),
        8,
        "gives a mapping with the key (1, 2) (a tuple); a JSON mapping's keys are text",
    ),
    ("an-infinite-number", _voice("{{ 1e308 * 10 }}"), 8, "gives inf, a number JSON cannot"),
    (
        "a-list-that-holds-itself",
        _voice("{{ vars.l.append(vars.l) or vars.l }}"),
        8,
        "'append' would change a list; a template cannot change vars",
    ),
    (
        "vars-changed-by-a-template",
        _text("{{ vars.update({'who': 'Liam'}) or 'hello' }}"),
        6,
        "'update' would change a dict; a template cannot change vars",
    ),
    (
        "a-join-of-ten-gigabytes",
        _text("{{ (['x' * 99999] * 99999) | join }}"),
        6,
        "would pass the bound of 100,000",
    ),
    (
        "tojson-of-ten-gigabytes",
        _text("{{ (['x' * 99999] * 99999) | tojson }}"),
        6,
        "would pass the bound of 100,000",
    ),
    (
        "a-join-of-a-mapped-range-with-a-long-separator",
        _text("{{ range(99999) | map('string') | join('x' * 99999) }}"),
        6,
        "more than 100,000 characters",
    ),
    (
        "a-text-doubled-by-set",
        _text("{% set s = 'x' * 99999 %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}x"),
        6,
        "more than 100,000 characters",
    ),
    (
        "a-list-doubled-by-set-then-printed",
        _text("{% set s = ['x' * 99999] %}" + "{% set s = [s, s] %}" * 40 + "{{ s }}"),
        6,
        "the output would be longer than 100,000 characters",
    ),
]


@pytest.fixture
def bounded_memory() -> object:
    """A bomb that is built before it is refused fails this test instead of the machine."""
    if sys.platform != "linux":
        yield None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, hard))
    try:
        yield None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize(
    ("text", "line", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_template_value_is_json_or_a_problem_at_its_field(
    folder: Path, bounded_memory: object, text: str, line: int | None, words: str
) -> None:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    got, out, _ = _invoke("validate", str(path))
    assert got == 1 and words in out, out
    assert line is None or f"recipe.yaml:{line}:" in out
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    report = json.loads(out)
    assert got == 1 and not report["valid"]
    assert any(
        words in p["message"] and p["line"] == (line or p["line"]) for p in report["problems"]
    ), report
    for fmt in ("text", "json"):
        got, out, err = _invoke("plan", "--format", fmt, str(path))
        assert got == 1 and words in err, out + err
        if fmt == "json":
            assert json.loads(out)["errors"]


def test_every_job_sees_the_same_vars_whatever_order_they_render_in(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(
        HEAD.replace("  s:\n", "  s:\n    matrix: {n: [1, 2, 3]}\n")
        + '    lipsync: {video: presenter, tts: {text: "take {{ vars.l.append(matrix.n) or '
        'vars.l | length }}", voice: Sophia}}\n',
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    messages = [p["message"] for p in json.loads(out)["problems"]]
    assert got == 1 and len(messages) == 1, messages  # every cell refused alike: said once
    assert "'append' would change a list" in messages[0]
    assert messages[0].endswith("(matrix n=1; and 2 more matrix cell(s))")


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        (_options("{{ vars.formatz | first }}"), "vars.formats"),
        (_text("{{ vars.who | uper }}"), "upper"),
        (_text("{{ varz.who }}"), "vars"),
        (_text("{{ vars.who | selectattr('x') | lenght }}"), "length"),
    ],
    ids=["a-key-of-vars", "a-filter", "a-name-in-scope", "a-filter-after-another"],
)
def test_a_misspelt_name_in_a_template_gets_the_name_meant(
    folder: Path, text: str, meant: str
) -> None:
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    got, out, _ = _invoke("validate", str(path))
    assert got == 1 and f"; did you mean {meant!r}?" in out, out
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    (problem,) = json.loads(out)["problems"]
    assert problem["suggestion"] == meant


def test_every_template_error_of_a_step_is_said_at_its_value(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(
        HEAD
        + '    options:\n      outputFormat: "{{ vars.formatz | first }}"\n'
        + '      providerSettings: {sync: {syncMode: "{{ vars.who | uper }}"}}\n'
        + '    lipsync: {video: presenter, tts: {text: "{{ varz.who }}", voice: Sophia}}\n',
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    found = {(p["line"], p["path"], p["suggestion"]) for p in json.loads(out)["problems"]}
    assert got == 1
    assert found == {
        (7, "$.steps.s.options.outputFormat", "vars.formats"),
        (8, "$.steps.s.options.providerSettings.sync.syncMode", "upper"),
        (9, "$.steps.s.lipsync.tts.text", "vars"),
    }
    got, out, _ = _invoke("validate", str(path))
    assert "3 error(s)" in out and "; did you mean 'upper'?" in out


def test_a_steps_template_errors_are_said_up_to_a_bound_then_counted(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(  # 6 jobs x 2 errors, each cell's its own: 10 said, the other 2 counted
        HEAD.replace("  s:\n", "  s:\n    matrix: {n: [1, 2, 3, 4, 5, 6]}\n")
        + "    options:\n"
        + "      outputFormat: \"{{ vars['f' ~ matrix.n] }}\"\n"
        + "      outputQuality: \"{{ vars['q' ~ matrix.n] }}\"\n"
        + "    lipsync: {video: presenter, tts: {text: hi, voice: Sophia}}\n",
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    problems = json.loads(out)["problems"]
    assert got == 1 and len(problems) == 11, problems
    assert [p["path"].rsplit(".", 1)[1] for p in problems[:10]] == [
        "outputFormat",
        "outputQuality",
    ] * 5
    assert problems[10]["path"] == "$.steps.s"
    assert problems[10]["message"].startswith("and 2 more template error(s) in step s not shown")


def test_a_template_error_every_matrix_cell_repeats_is_said_once(folder: Path) -> None:
    path = folder / "recipe.yaml"
    path.write_text(  # 6 jobs, each with the same two typos
        HEAD.replace("  s:\n", "  s:\n    matrix: {n: [1, 2, 3, 4, 5, 6]}\n")
        + '    options: {outputFormat: "{{ vars.formatz }}", outputQuality: "{{ vars.q }}"}\n'
        + "    lipsync: {video: presenter, tts: {text: hi, voice: Sophia}}\n",
        encoding="utf-8",
    )
    got, out, _ = _invoke("validate", "--format", "json", str(path))
    problems = json.loads(out)["problems"]
    assert got == 1
    assert [(p["path"], p["suggestion"]) for p in problems] == [
        ("$.steps.s.options.outputFormat", "vars.formats"),
        ("$.steps.s.options.outputQuality", None),
    ]
    assert all(p["message"].endswith("(matrix n=1; and 5 more matrix cell(s))") for p in problems)
