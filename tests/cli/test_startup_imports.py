"""`lipflow validate` loads only what checking a recipe needs: no numpy (long-media arithmetic),
no pysubs2 (subtitle files), no sqlite3 (run journals), no jsonschema-rs for a recipe checked once,
no HTTP stack (httpx is bound lazily in the provider clients: its transport, httpcore, and the
rich console its own CLI imports never load), and no FFmpeg: the quickstart's MP4 is probed from
its header (lipflow.probe), PyAV only for files that reader leaves to it.

Run as a user runs it, in a fresh interpreter, then its ``sys.modules`` inspected; what was
loaded before lipflow started (coverage's own sqlite3 when CI measures subprocesses) is not
lipflow's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]
NOT_NEEDED = ("numpy", "pysubs2", "sqlite3", "jsonschema_rs", "httpcore", "rich", "av")

SCRIPT = """
import json, runpy, sys
before = set(sys.modules)
sys.argv = ["lipflow", "validate", sys.argv[1]]
code = None
try:
    runpy.run_module("lipflow", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted({m.split(".")[0] for m in set(sys.modules) - before})}))
"""


def test_validating_the_quickstart_loads_no_numpy_subtitles_journal_http_validator_or_ffmpeg() -> (
    None
):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "recipes/quickstart.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] in (0, None)
    assert "yaml" in report["loaded"] and "jsonschema" in report["loaded"]
    assert [m for m in NOT_NEEDED if m in report["loaded"]] == []
