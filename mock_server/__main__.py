"""``python -m mock_server``: the same as ``lipflow mock serve``, with the same options."""

from __future__ import annotations

import sys

from lipflow.cli import cli


def main() -> None:
    cli(["mock", "serve", *sys.argv[1:]], prog_name="python -m mock_server")


if __name__ == "__main__":
    main()
