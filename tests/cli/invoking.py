"""How the CLI tests call lipflow: in-process, its exit code and both streams, and never an
exception escaping the command (a traceback is a failed test, not an exit code)."""

from __future__ import annotations

from click.testing import CliRunner

from lipflow.cli import cli


def invoke(*args: str, color: bool = False) -> tuple[int, str, str]:
    """``color``: keep what click strips from output that is not a terminal (ANSI escape
    sequences), as a terminal would get it."""
    result = CliRunner().invoke(cli, list(args), color=color)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr
