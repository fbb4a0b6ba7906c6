"""lipflow's command line: each command fills settings and calls the library; errors are presented here."""
from __future__ import annotations

import click

from lipflow import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lipflow")
def cli() -> None:
    """Declare lip-sync and video-generation jobs in YAML; validate, plan, run and test them offline."""


def main() -> None:
    cli()
