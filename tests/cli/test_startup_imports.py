"""`lipflow validate` loads only what checking a recipe needs: no numpy (long-media arithmetic),
no pysubs2 (subtitle files), no sqlite3 (run journals), no jsonschema for a valid recipe (jsonschema-rs
says it is valid; jsonschema is loaded to word the errors of an invalid one), no HTTP stack (httpx is bound lazily in the provider clients: its transport, httpcore, and the
rich console its own CLI imports never load), no subtitle or table readers (csv) for a recipe
without lines, no difflib for a recipe with nothing misspelled, no FFmpeg (the quickstart's MP4
is probed from its header, lipflow.probe; PyAV only for files that reader leaves to it), and no
importlib.metadata (with email, csv and socket under it) while no installed distribution
declares a ``lipflow.providers`` entry point; one that does is still found. The cyclic garbage
collector does not walk the objects start-up makes, neither while the commands import nor after.

Run as a user runs it, in a fresh interpreter, then its ``sys.modules`` inspected; what was
loaded before lipflow started (coverage's own sqlite3 when CI measures subprocesses) is not
lipflow's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).parents[2]
NOT_NEEDED = ("numpy", "pysubs2", "sqlite3", "jsonschema", "referencing", "httpcore", "rich", "av")
NOT_NEEDED_MODULES = (
    "importlib.metadata",
    "email.message",
    "aiohttp",
    "lipflow.lines.reading",  # subtitle and table readers (csv): only a recipe with lines
    "lipflow.lines.speakers",
    "csv",
    "difflib",  # did-you-mean: only for a wrong value
)

SCRIPT = """
import gc, json, runpy, sys
before = set(sys.modules)
collections = []
import lipflow  # the package: a few names, loaded on first use
importing = lambda: "lipflow.cli.commands" in sys.modules  # the commands and all they import
gc.callbacks.append(lambda phase, info: phase == "start" and importing() and collections.append(info["generation"]))
import lipflow.cli
collected_while_importing = list(collections)
sys.argv = ["lipflow", *sys.argv[1:]]
code = None
try:
    runpy.run_module("lipflow", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({
    "code": code,
    "modules": sorted(set(sys.modules) - before),
    "collected_while_importing": collected_while_importing,
    "collecting": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
}))
"""


def validating(recipe: str, pythonpath: tuple[Path, ...] = ()) -> dict[str, Any]:
    return lipflow_in_a_fresh_interpreter(["validate", recipe], pythonpath)


def lipflow_in_a_fresh_interpreter(
    args: list[str], pythonpath: tuple[Path, ...] = ()
) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [*map(str, pythonpath), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    report["output"] = "\n".join(done.stdout.splitlines()[:-1])
    report["loaded"] = sorted({m.split(".")[0] for m in report["modules"]})
    return report


def test_validating_the_quickstart_loads_no_numpy_subtitles_journal_http_jsonschema_or_ffmpeg() -> (
    None
):
    report = validating("recipes/quickstart.yaml")
    assert report["code"] in (0, None)
    assert "yaml" in report["loaded"] and "jsonschema_rs" in report["loaded"]
    assert [m for m in NOT_NEEDED if m in report["loaded"]] == []
    assert [m for m in NOT_NEEDED_MODULES if m in report["modules"]] == []


def test_an_invalid_recipe_loads_jsonschema_to_say_what_is_wrong(tmp_path: Path) -> None:
    recipe = tmp_path / "typo.yaml"
    text = (REPO / "recipes" / "quickstart.yaml").read_text(encoding="utf-8")
    recipe.write_text(text.replace("steps:", "stepz:", 1), encoding="utf-8")

    report = validating(str(recipe))

    assert report["code"] not in (0, None)
    assert "jsonschema" in report["loaded"]
    assert "steps" in report["output"] or "stepz" in report["output"]


def test_start_up_is_not_garbage_collected_and_what_it_made_is_frozen_for_the_run() -> None:
    report = validating("recipes/quickstart.yaml")
    # 43 collections without the pause; one young one may run as the import returns, re-enabled
    assert len(report["collected_while_importing"]) <= 1
    assert report["collecting"], "the collector runs again once the commands are imported"
    assert report["frozen"] > 10_000, "modules, classes and functions: no collection walks them"


def test_a_provider_declared_by_an_installed_distributions_entry_point_is_still_found(
    tmp_path: Path,
) -> None:
    recipe = "tests/fourth_provider/recipe.yaml"
    assert validating(recipe)["code"] == 1, "without the distribution, lipcraft is unknown"
    info = tmp_path / "lipcraft_provider-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lipcraft-provider\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[lipflow.providers]\nlipcraft = tests.fourth_provider:PROVIDER\n"
    )
    report = validating(recipe, (tmp_path,))
    assert report["code"] in (0, None)
    assert "importlib.metadata" in report["modules"], "read through importlib.metadata as before"


def test_help_lists_every_command_with_its_short_help_without_importing_the_planner() -> None:
    report = lipflow_in_a_fresh_interpreter(["--help"])
    assert report["code"] in (0, None)
    listed = {
        line.split()[0]: line.split(maxsplit=1)[1]
        for line in report["output"].split("Commands:")[1].splitlines()
        if line.strip()
    }
    assert set(listed) == {"check-request", "mock", "plan", "run", "schema", "validate"}
    assert listed["validate"].startswith("Check recipes and every provider request")
    loaded = [
        m
        for m in ("lipflow.plan.planner", "lipflow.recipe", "jsonschema", "jinja2")
        if m in report["modules"]
    ]
    assert loaded == []


def test_max_jobs_shows_the_planners_own_limits() -> None:
    from lipflow.plan.expansion import DEFAULT_MAX_JOBS, MAX_JOBS_CEILING

    report = lipflow_in_a_fresh_interpreter(["validate", "--help"])
    assert "--max-jobs INTEGER RANGE" in report["output"]
    assert f"[default: {DEFAULT_MAX_JOBS}; 1<=x<={MAX_JOBS_CEILING}]" in " ".join(
        report["output"].split()
    )
