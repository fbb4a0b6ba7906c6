"""Ctrl-C while lipflow is still loading its commands (the first tenth of a second of every
command) exits 130 saying ``interrupted``, as an interrupted command does: never a traceback.

The interrupt is made to land at an import lipflow's own code makes (the first, the second, ...,
half way and the last of the about 89 a ``validate`` makes), every time: the child process puts an import finder
first that sends itself SIGINT as lipflow's code looks up its Nth module, then starts lipflow as
the console script does (the entry point ``pyproject.toml`` declares) or as ``python -m
lipflow`` does. The first imports are the ones Python runs before lipflow's guard can be in
place (the ``lipflow`` package's own), so there must be none before the guard's."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
# The console script's entry point, as pyproject.toml declares it (tomllib is not in Python 3.10).
CONSOLE_SCRIPT = re.findall(
    r'^lipflow = "([\w.]+:\w+)"$', (REPO / "pyproject.toml").read_text(), re.MULTILINE
)[0]
CTRL_C_AT_AN_IMPORT = """
import os, signal, sys

class CtrlCAtAnImport:
    \"\"\"Sends this process SIGINT as lipflow's code looks up its Nth module.\"\"\"

    lipflow, nth, made = {lipflow!r}, {nth}, 0

    def find_spec(self, name, path=None, target=None):
        importer = sys._getframe(1)
        while importer.f_globals.get("__name__", "").startswith(("importlib", "_frozen_importlib")):
            importer = importer.f_back  # importlib.import_module, or Python's own machinery
        if importer.f_code.co_filename.startswith(self.lipflow):
            self.made += 1
            if self.made == self.nth:
                os.kill(os.getpid(), signal.SIGINT)
        return None

finder = CtrlCAtAnImport()
sys.meta_path.insert(0, finder)
sys.argv = ["lipflow", "validate", "recipe.yaml"]
import atexit
atexit.register(lambda: finder.made < finder.nth and print(f"only {{finder.made}} imports", file=sys.stderr))
"""
STARTS = {
    "console script": "from {module} import {name}\nsys.exit({name}())".format(
        module=CONSOLE_SCRIPT.split(":")[0], name=CONSOLE_SCRIPT.split(":")[1]
    ),
    "python -m lipflow": 'import runpy\nrunpy.run_module("lipflow", run_name="__main__")',
}


def _started(start: str, nth: int) -> subprocess.CompletedProcess[str]:
    """lipflow started as ``start`` does, sent SIGINT as its code looks up its ``nth`` module."""
    finder = CTRL_C_AT_AN_IMPORT.format(lipflow=str(REPO / "lipflow") + os.sep, nth=nth)
    return subprocess.run(
        [sys.executable, "-c", finder + STARTS[start]],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=120,
    )


@functools.cache
def _imports_made(start: str) -> int:
    """How many modules lipflow's code looks up in this environment (about 89 for a validate;
    fewer where something loaded some before, as coverage measuring the child does)."""
    told = re.fullmatch(r"only (\d+) imports\n", _started(start, 10**9).stderr)
    assert told is not None
    return int(told[1])


@pytest.mark.parametrize("nth", [1, 2, 3, 10, "middle", "last"])
@pytest.mark.parametrize("start", sorted(STARTS))
def test_ctrl_c_while_lipflow_imports_exits_130_without_a_traceback(
    start: str, nth: int | str
) -> None:
    made = _imports_made(start)
    at = {"middle": made // 2, "last": made}.get(str(nth), nth)
    assert isinstance(at, int) and made >= 10

    child = _started(start, at)

    assert child.returncode == 130, (child.returncode, child.stderr)
    assert child.stderr == "interrupted\n"
    assert child.stdout == ""
