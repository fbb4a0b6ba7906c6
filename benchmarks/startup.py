"""Start-up: `lipflow validate` on the quickstart against importing what it cannot do without.

Each round runs, in fresh processes and alternating order, ``lipflow validate
recipes/quickstart.yaml`` (parse, schema checks, plan with the media probe) and ``python -c
"import yaml, jsonschema, jinja2, click"`` (the libraries any recipe check needs: the floor).
The ratio of their wall times is reported as min / median / max; goal <= 1.2.

Both run with their bytecode cached, as an installed lipflow runs (pip compiles ``.pyc`` files on
install, and an editable install writes them on its first run): ``PYTHONDONTWRITEBYTECODE`` is
dropped from the children's environment, so the warm-up run writes lipflow's ``__pycache__``.
With it set, the 63 lipflow modules validate loads were compiled from source on every run while
the floor's libraries loaded their installed bytecode (compiling them: 0.27-0.84 s on a loaded
2-core machine; loading their bytecode: 0.01 s): a gap no user sees.

    python benchmarks/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from _rounds import Goal, Ratios, paired, spread, timed

REPO = Path(__file__).resolve().parents[1]
VALIDATE = [sys.executable, "-m", "lipflow", "validate", "recipes/quickstart.yaml"]
FLOOR = [sys.executable, "-c", "import yaml, jsonschema, jinja2, click"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str]) -> float:
    seconds: float = timed(
        lambda: subprocess.run(command, cwd=REPO, env=ENV, check=True, capture_output=True)
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    run(VALIDATE), run(FLOOR)  # warm the file cache and the .pyc files for both alike
    ours, theirs = paired(args.rounds, lambda: run(VALIDATE), lambda: run(FLOOR))
    print(f"lipflow validate recipes/quickstart.yaml: {spread(ours)}")
    print(f"import yaml, jsonschema, jinja2, click:   {spread(theirs)}")
    print(Ratios.of("validate / imports", ours, theirs, Goal(1.2, "at_most")).line())


if __name__ == "__main__":
    main()
