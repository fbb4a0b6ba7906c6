"""Property: recipes shaped like real ones but filled with odd values (numbers where text goes,
hostile templates, any model with any action, matrices, fan-outs, segments past their media,
images, names that are paths) get exit 0, 1 or 2 from `validate` and `plan` in text and JSON,
never an internal error (70) or a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipflow.catalog import load_catalog
from lipflow.cli import cli

REPO = Path(__file__).parents[2]

numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.sampled_from([0, 0.1 + 0.2, 1e308, -1, 10**30]),
)
templates = st.sampled_from(
    [
        "{{ vars.line }}",
        "{{ matrix.a }}",
        "{{ matrix.b }}",
        "{{ inputs.x }}",
        "{{ inputs.presenter }}",
        "{{ inputs.presenter.duration }}",
        "{{ 9 ** 9 ** 9 }}",
        "{{ 9 ** 99999 }}",
        "{{ 'a' * 1000000000 }}",
        "{{ ('a' * 50000) ~ ('b' * 60000) }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ '%099999999d' % 1 }}",
        "{{ range(10) | list }}",
        "{{ vars }}",
        "{% for i in range(3) %}{{ i }}{% endfor %}",
        "{{ nope",
        "{{ 1 / 0 }}",
    ]
)
texts = st.one_of(st.text(max_size=30), numbers, st.booleans(), st.none(), templates)
models = st.sampled_from([m.id for m in load_catalog().models] + ["nope/model", None])
media_sources = st.sampled_from(
    [
        "media/presenter.mp4",
        "media/interview.mp4",
        "media/voice_en.wav",
        "media/missing.mp4",
        "https://example.com/p.mp4",
        "https://example.com/frame.png",
        "/dev/null",
    ]
)


@st.composite
def an_input(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["video", "audio", "image", "text"]))
    if kind == "text":
        return {"text": draw(texts)}
    raw: dict[str, Any] = {kind: draw(media_sources)}
    if draw(st.booleans()):
        raw["duration"] = draw(numbers)
    if draw(st.booleans()):
        raw["size_bytes"] = draw(st.integers(0, 10**9))
    return raw


@st.composite
def a_step(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    step: dict[str, Any] = {}
    if draw(st.booleans()):
        step["use"] = draw(models)
    if draw(st.booleans()):
        step["provider"] = draw(st.sampled_from(["runware", "pixverse", "wavespeed", "nope"]))
    if draw(st.booleans()):
        step["matrix"] = {
            "a": draw(st.lists(texts, min_size=1, max_size=3)),
            "b": draw(st.lists(numbers, min_size=1, max_size=3)),
        }
    ref = st.sampled_from(["presenter", "voice", "frame", "x", *(f"steps.{n}" for n in names)])
    if draw(st.booleans()):
        spec: dict[str, Any] = {"video": draw(ref)}
        voice_track = draw(st.sampled_from(["audio", "tts", "segments", "both"]))
        if voice_track in ("audio", "both"):
            spec["audio"] = draw(ref)
        if voice_track in ("tts", "both"):
            spec["tts"] = {"text": draw(texts), "voice": draw(texts)}
        if voice_track == "segments":
            spec["segments"] = "answers"
        step["lipsync"] = spec
    else:
        gen: dict[str, Any] = {"prompt": draw(texts)}
        for key in ("image", "last_image"):
            if draw(st.booleans()):
                gen[key] = draw(ref)
        for key in ("duration", "fps", "style", "camera", "size"):
            if draw(st.booleans()):
                gen[key] = draw(texts)
        step["generate"] = gen
    return step


@st.composite
def recipes(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    data: dict[str, Any] = {
        "version": 1,
        "inputs": {
            "presenter": {"video": "media/presenter.mp4"},
            "voice": {"audio": "media/voice_en.wav"},
            "frame": {"image": "https://example.com/frame.png"},
            "x": draw(an_input()),
        },
        "segments": {
            "answers": {
                "ranges": [
                    {"start": draw(numbers), "end": draw(numbers), "audio": "voice"}
                    for _ in range(draw(st.integers(1, 2)))
                ]
            }
        },
        "steps": {name: draw(a_step(names)) for name in names},
    }
    if draw(st.booleans()):
        data["vars"] = {"line": draw(texts)}
    if draw(st.booleans()):
        data["name"] = draw(st.sampled_from(["ok", "../../x", ".hidden", "a/b", "x" * 200]))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(
    max_examples=int(os.environ.get("LIPFLOW_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=recipes())
def test_generated_recipes_get_an_exit_code_not_a_traceback(
    tmp_path_factory: Any, text: str
) -> None:
    folder = Path(tmp_path_factory.mktemp("generated"))
    (folder / "media").symlink_to(REPO / "recipes" / "media")
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    runner = CliRunner()
    for command in ("validate", "plan"):
        for fmt in ("text", "json"):
            result = runner.invoke(cli, [command, "--format", fmt, str(path)])
            assert result.exit_code in (0, 1, 2), (command, fmt, text, result.output)
            assert "internal error" not in result.output, (command, text, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                command,
                text,
                result.exception,
            )
            if fmt == "json" and command == "validate":
                assert json.loads(result.stdout)["valid"] is (result.exit_code == 0)
