"""Property: whatever a recipe file holds, validate and plan answer with exit 0, 1 or 2, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipflow.cli import cli

REPO = Path(__file__).parents[2]
EXAMPLES = [p.read_text(encoding="utf-8") for p in sorted((REPO / "recipes").glob("*.yaml"))]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "presenter",
            "steps.teaser",
            "{{ matrix.x }}",
            "{{ nope",
            "Sophia",
            "1280x720",
            "runware/sync-lipsync-2",
        ]
    ),
)
keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "version",
            "inputs",
            "steps",
            "segments",
            "matrix",
            "lipsync",
            "generate",
            "video",
            "audio",
            "tts",
            "text",
            "voice",
            "use",
            "needs",
            "ranges",
            "start",
            "end",
            "options",
            "prompt",
            "size",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        text = text[:i] + draw(st.text(max_size=6)) + text[j:]
    return text


garbled = st.one_of(
    mutated_examples(),
    values.map(lambda v: yaml.safe_dump({"version": 1, "steps": v}, allow_unicode=True)),
    st.dictionaries(keys, values, max_size=5).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(
    max_examples=int(os.environ.get("LIPFLOW_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=garbled)
def test_garbled_recipes_get_an_exit_code_not_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    folder = Path(tmp_path_factory.mktemp("garbled"))
    (folder / "media").symlink_to(REPO / "recipes" / "media")
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    runner = CliRunner()
    for command in ("validate", "plan"):
        result = runner.invoke(cli, [command, str(path)])
        assert result.exit_code in (0, 1, 2), (command, text, result.output, result.exception)
        assert "internal error" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
