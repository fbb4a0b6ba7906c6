"""Ctrl-C while lipflow is still loading its commands (the first tenth of a second of every
command) exits 130 saying ``interrupted``, as an interrupted command does: never a traceback.

The interrupt is made to land inside the import of lipflow's commands, every time: the child
process puts an import finder first that sends itself SIGINT when ``lipflow.cli.commands`` is
looked up, then starts lipflow as the console script does (the entry point ``pyproject.toml``
declares) or as ``python -m lipflow`` does."""

from __future__ import annotations

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
CTRL_C_IN_IMPORT = """
import os, signal, sys

class CtrlCWhileImporting:
    def find_spec(self, name, path=None, target=None):
        if name == "lipflow.cli.commands":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCWhileImporting())
sys.argv = ["lipflow", "validate", "recipe.yaml"]
"""
STARTS = {
    "console script": "from {module} import {name}\nsys.exit({name}())".format(
        module=CONSOLE_SCRIPT.split(":")[0], name=CONSOLE_SCRIPT.split(":")[1]
    ),
    "python -m lipflow": 'import runpy\nrunpy.run_module("lipflow", run_name="__main__")',
}


@pytest.mark.parametrize("start", sorted(STARTS))
def test_ctrl_c_while_lipflow_imports_exits_130_without_a_traceback(start: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CTRL_C_IN_IMPORT + STARTS[start]],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=120,
    )

    assert child.returncode == 130, (child.returncode, child.stderr)
    assert child.stderr == "interrupted\n"
    assert child.stdout == ""
