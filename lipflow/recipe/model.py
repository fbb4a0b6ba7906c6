"""A recipe as typed values: its inputs, steps, and where every value came from."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lipflow.problems import Location, PathPart, Problem
from lipflow.recipe.source import SourceMap

__all__ = ["MEDIA_KINDS", "STEP_REF_PREFIX", "URL_SCHEMES", "Input", "Recipe", "Step"]

MEDIA_KINDS = ("video", "audio", "image")
STEP_REF_PREFIX = "steps."
# The URL schemes a media input may be: a provider fetches these itself (lipflow passes them on).
URL_SCHEMES = ("http", "https")
# A source written as a URL: ``scheme://...``, or one of the schemes written without slashes.
# A drive letter (``C:/clip.mp4``) is one letter, not a scheme.
_URL_LIKE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://|(data|file|blob|javascript):", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    """A named input: media (URL, local file, provider media id) or text."""

    name: str
    kind: str  # video | audio | image | text | lines
    source: str | None = None  # URL or local path as written
    media_id: str | int | None = None
    provider: str | None = None  # provider holding media_id
    text: str | None = None
    duration: float | None = None
    size_bytes: int | None = None
    base_dir: str = "."
    language: str | None = None  # lines: their language (BCP 47), for the speech estimate

    @property
    def is_url(self) -> bool:
        return self.source is not None and self.source.startswith(("http://", "https://"))

    @property
    def other_scheme(self) -> str | None:
        """The scheme of a source written as a URL lipflow cannot pass on (``ftp://``,
        ``data:``, ``file:``, ``HTTPS://``), as written; None for http(s) URLs and file paths."""
        found = _URL_LIKE.match(self.source or "")
        if found is None or self.is_url:
            return None
        return found.group(1) or found.group(2)

    @property
    def is_file(self) -> bool:
        return self.source is not None and not self.is_url and self.other_scheme is None

    @property
    def path(self) -> str | None:
        """The local file, resolved against the recipe's folder."""
        if not self.is_file:
            return None
        assert self.source is not None
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(self.source)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    id: str
    action: str  # lipsync | generate
    spec: Mapping[str, Any]  # the action's mapping as written (may hold templates)
    use: str | None = None
    provider: str | None = None
    needs: tuple[str, ...] = ()
    matrix: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    cut: Mapping[str, Any] | None = None  # how a long lip sync is cut into pieces (``cut:``)
    fit: str | None = None  # "scale": a video over the model's pixel limit may be scaled down
    take: int = 1  # a deliberate new take of the same request gets a new job key

    @property
    def recipe_path(self) -> tuple[PathPart, ...]:
        return ("steps", self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    file: str
    digest: str  # sha256 of the text: a saved plan refuses to run against a changed recipe
    data: Mapping[str, Any]
    source_map: SourceMap
    name: str
    budget: float | None
    vars: Mapping[str, Any]
    inputs: Mapping[str, Input]
    segments: Mapping[str, Mapping[str, Any]]
    steps: Mapping[str, Step]  # in dependency order
    warnings: tuple[Problem, ...] = ()  # found while loading; the plan reports them with its own
    voices: Mapping[str, str] = field(default_factory=dict)  # speaker -> voice, for lines
    fit: Mapping[str, Any] = field(default_factory=dict)  # tolerance, on_misfit: for lines
    # Every problem found while loading, errors too: a partly broken recipe is still planned
    # (load_recipe(partial=True)) so the plan reports these with the job-level ones.
    problems: tuple[Problem, ...] = ()

    def locate(self, path: tuple[PathPart, ...], *, key: bool = False) -> Location:
        return self.source_map.locate(path, key=key)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.file))
