"""lipflow's command line: parse (:mod:`.commands`), build (:mod:`.build`), execute (the library);
the environment is read in :mod:`.environment` and nowhere else."""

from __future__ import annotations

from lipflow.cli.commands import cli, main

__all__ = ["cli", "main"]
