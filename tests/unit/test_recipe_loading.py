"""Reading recipes: every kind of bad file gets a one-line error with its place, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipflow.errors import InputError, RecipeError
from lipflow.problems import Location
from lipflow.recipe import MAX_RECIPE_BYTES, load_recipe, parse_recipe

MINIMAL = """\
version: 1
inputs:
  clip: {video: media/clip.mp4}
steps:
  hello:
    lipsync: {video: clip, tts: {text: "Hi"}}
"""


def write(tmp_path: Path, content: str | bytes, name: str = "r.yaml") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_a_minimal_recipe_loads_with_inputs_resolved_against_its_folder(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, MINIMAL))
    clip = recipe.inputs["clip"]
    assert clip.kind == "video" and clip.is_file
    assert clip.path == str(tmp_path / "media" / "clip.mp4")
    assert list(recipe.steps) == ["hello"]
    assert recipe.steps["hello"].action == "lipsync"
    assert recipe.name == "r"


def test_the_digest_changes_with_the_text(tmp_path: Path) -> None:
    first = load_recipe(write(tmp_path, MINIMAL)).digest
    second = load_recipe(write(tmp_path, MINIMAL.replace("Hi", "Hello"))).digest
    assert first != second and len(first) == 64


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x00\x01\x02binary", "binary"),
        (b"version: 1\nname: \xff\xfe\n", "not UTF-8"),
    ],
    ids=["binary", "latin1"],
)
def test_unreadable_files_are_input_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        load_recipe(write(tmp_path, content))
    assert info.value.exit_code == 2


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_recipe(str(tmp_path / "nope.yaml"))


def test_a_directory_is_not_a_recipe(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        load_recipe(str(tmp_path))


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, b"# " + b"x" * (MAX_RECIPE_BYTES + 10))
    with pytest.raises(InputError, match="larger than"):
        load_recipe(path)


def test_an_alias_bomb_is_refused_with_its_place(tmp_path: Path) -> None:
    lines = ["a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(RecipeError) as info:
        load_recipe(write(tmp_path, "\n".join(lines)))
    (problem,) = info.value.problems
    assert "expands to more than" in problem.message
    assert problem.location is not None and problem.location.line is not None


def test_merge_keys_work_and_are_located(tmp_path: Path) -> None:
    text = MINIMAL + "  other:\n    <<: &base {lipsync: {video: clip, tts: {text: Hi}}}\n"
    recipe = load_recipe(write(tmp_path, text))
    assert recipe.steps["other"].spec["tts"] == {"text": "Hi"}


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("", "empty", 1),
        ("version: 1\nsteps: [\n", "YAML syntax", 3),
        ("just a string\n", "not a str", 1),
        ("version: 1\nversion: 1\nsteps: {}\n", "duplicate key 'version'", 2),
        ("version: 1\nsteps:\n  a:\n    generate: {prompt: !!binary aGk=}\n", "binary", 4),
        (
            "version: 1\ninputs:\n  c: {video: c.mp4, duration: .inf}\nsteps: {}\n",
            ".inf is not a number a recipe can use",
            3,
        ),
    ],
    ids=["empty", "syntax", "scalar-root", "duplicate", "binary-tag", "infinity"],
)
def test_malformed_yaml_is_a_problem_with_a_line(text: str, fragment: str, line: int) -> None:
    recipe, problems = parse_recipe(text, "r.yaml")
    assert recipe is None
    assert any(fragment in p.message for p in problems), [p.message for p in problems]
    assert any(p.location is not None and p.location.line == line for p in problems)


def test_every_schema_problem_is_collected_in_one_pass() -> None:
    text = "version: 1\nnme: x\nsteps:\n  a:\n    lipsink: {}\n  b:\n    generate: {}\n"
    _, problems = parse_recipe(text, "r.yaml")
    messages = " | ".join(p.message for p in problems)
    assert "'nme' is not a documented property" in messages
    assert "'lipsink' is not a documented property" in messages
    assert "'prompt' is required" in messages
    nme = next(p for p in problems if "nme" in p.message)
    assert nme.suggestion == "name" and nme.location is not None and nme.location.line == 2


def test_composing_stops_at_the_value_that_passes_the_bound() -> None:
    from lipflow.recipe.source import MAX_NODES, _BoundedLoader, _TooLarge

    loader = _BoundedLoader("[" + "1, " * (3 * MAX_NODES) + "1]")
    with pytest.raises(_TooLarge):
        loader.get_single_node()
    assert loader.composed == MAX_NODES + 1


PARITY_TEXTS = [
    *(str(p) for p in sorted(Path("recipes").glob("*.yaml"))),
    "a: no\nb: 1e9\nc: '1e9'\nd: [on, 'off', 2.5e3]\n",  # plain scalars YAML 1.1 types otherwise
    "base: &b {x: 1}\nuse:\n  <<: *b\n  y: [*b, *b]\n",  # anchors, aliases, a merge key
    "a: !custom 1\nb: 100000000000000000000000000000\n",  # an unknown tag
    "a: 1\na: 2\n",  # a key twice
    "a: [1, 2\n",  # a syntax error
    "a: 1\n---\nb: 2\n",  # two documents
    "a: \x07\n",  # a control character
    'a: "\\udfff"\n',  # a lone surrogate, escaped
    "[" * 70 + "]" * 70,  # nested past the bound
    "a:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(66)) + "  " * 67 + "v\n",
]


@pytest.mark.parametrize("text", PARITY_TEXTS, ids=range(len(PARITY_TEXTS)))
def test_libyaml_composes_what_pyyaml_composes(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recipes are composed by libyaml when PyYAML has it: the data, each value's place and
    every problem are those PyYAML's own composer gives."""
    from lipflow.recipe import source

    if text.startswith("recipes/"):
        text = Path(text).read_text(encoding="utf-8")
    fast = source.parse_yaml(text, "r.yaml")
    monkeypatch.setattr(source, "_checked_by_libyaml", lambda _text: False)
    slow = source.parse_yaml(text, "r.yaml")

    assert fast[1] == slow[1]
    if slow[0] is None:
        assert fast[0] is None
    else:
        assert fast[0] is not None
        assert fast[0].data == slow[0].data
        assert fast[0].source_map == slow[0].source_map


def test_libyaml_refuses_a_list_past_the_bound_at_the_value_that_passes_it() -> None:
    from lipflow.recipe.source import MAX_NODES, parse_yaml

    doc, problems = parse_yaml("[" + "1, " * (MAX_NODES + 5) + "1]", "r.yaml")

    assert doc is None and [p.code for p in problems] == ["yaml-too-large"]
    # The list is the first value, so the item passing the bound is number MAX_NODES - 1 from 0,
    # three characters apart ("1, "), as PyYAML's composer counts them (the test above).
    assert problems[0].location == Location("r.yaml", 1, 2 + 3 * (MAX_NODES - 1))
