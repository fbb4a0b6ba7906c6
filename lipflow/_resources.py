"""Where lipflow's shipped data lives, installed or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def schemas_dir() -> Path:
    """The JSON Schema folder: inside the wheel as ``lipflow/_schemas``, else the repo's ``schemas/``."""
    for candidate in (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("lipflow's schemas are missing from this installation")


def data_file(name: str) -> Path:
    return _PACKAGE / "data" / name


@cache
def recipes_dir() -> Path:
    """The example recipes: inside the wheel as ``lipflow/_recipes``, else the repo's ``recipes/``."""
    for candidate in (_PACKAGE / "_recipes", _PACKAGE.parent / "recipes"):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / "recipes"
