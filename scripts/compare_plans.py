"""Diff today's plans of the example recipes against plans saved before a change.

    python scripts/compare_plans.py GOLDEN_DIR [--write]

For each ``recipes/X.yaml`` it runs ``lipflow plan recipes/X.yaml --format json`` and compares it
with ``GOLDEN_DIR/X.json`` (and stderr with ``X.err``), after replacing the checkout's absolute
path with ``<repo>`` on both sides, so a plan made in another checkout compares equal. ``--write``
saves today's plans as the new golden files instead. Exit 1 and a unified diff when any differs.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plan(recipe: Path) -> tuple[str, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lipflow",
            "plan",
            str(recipe.relative_to(REPO)),
            "--format",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout, done.stderr


def _normal(text: str, roots: list[str]) -> str:
    for root in roots:
        text = text.replace(root, "<repo>")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("golden", type=Path)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--other-root", action="append", default=[], help="another checkout path")
    args = parser.parse_args()
    roots = [str(REPO), *args.other_root]
    failed = 0
    for recipe in sorted((REPO / "recipes").glob("*.yaml")):
        out, err = plan(recipe)
        for suffix, now in ((".json", out), (".err", err)):
            golden = args.golden / f"{recipe.stem}{suffix}"
            if args.write:
                golden.write_text(now, encoding="utf-8")
                continue
            then = golden.read_text(encoding="utf-8") if golden.exists() else ""
            a, b = _normal(then, roots), _normal(now, roots)
            if a != b:
                failed += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        a.splitlines(True), b.splitlines(True), str(golden), f"{recipe.name} now"
                    )
                )
        print(f"{recipe.name}: {'written' if args.write else 'compared'}")
    print("plans differ" if failed else "every plan is byte-for-byte the same")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
