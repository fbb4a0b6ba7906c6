"""The catalog: every registered provider's models, capabilities, limits and prices.

Each provider package holds its slice (``catalog.yaml``, each fact citing its doc);
``data/catalog.yaml`` holds lipflow's own assumptions. This module joins them and gives them
types, so the planner, the pricing code, the checks and the mock server agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from lipflow.problems import unknown_name
from lipflow.providers import registry

__all__ = [
    "CAPABILITIES",
    "Catalog",
    "ModelEntry",
    "Price",
    "load_catalog",
    "model_for",
]

CAPABILITIES: Mapping[str, str] = {
    "lipsync.audio": "lip sync a video to an audio file",
    "lipsync.tts": "lip sync a video to text spoken by the provider's text-to-speech",
    "lipsync.segments": "lip sync time ranges of one video, each to its own audio",
    "video.text": "generate a video from a prompt",
    "video.image": "generate a video from a first (and optionally last) frame image",
    "video.style": "apply a named visual style",
    "video.effect": "apply a named effect template",
    "video.camera": "apply a named camera movement",
    "video.motion": "choose motion mode normal or fast",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    """A documented price. ``per`` seconds of ``of`` (audio or video) cost ``usd`` or ``credits``."""

    of: str
    per_seconds: float
    usd: float | None = None
    credits: int | None = None
    usd_per_credit: float | None = None
    rounding: str | None = None  # "up": partial units are billed whole
    tts_credits: int | None = None
    tts_per_utf8_bytes: int | None = None
    per_result: str | None = None  # the request field counting outputs, each billed
    source: str  # the provider's public pricing page
    as_of: str | None  # the date the price was read there; None when it could not be confirmed
    unconfirmed: str | None = None  # why the price could not be confirmed, said in every plan


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEntry:
    id: str
    provider: str
    model: str
    title: str
    capabilities: frozenset[str]
    limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    voices: tuple[str, ...] = ()
    speakers: Mapping[str, str] = field(default_factory=dict)  # voice name -> provider's own id
    video: Mapping[str, Any] = field(default_factory=dict)
    price: Price | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    models: tuple[ModelEntry, ...]

    def model(self, model_id: str) -> ModelEntry:
        for entry in self.models:
            if entry.id == model_id:
                return entry
        raise unknown_name("model", model_id, [m.id for m in self.models])

    def find(self, provider: str, model: str) -> ModelEntry | None:
        for entry in self.models:
            if entry.provider == provider and entry.model == model:
                return entry
        return None

    def with_capabilities(self, wanted: frozenset[str]) -> list[ModelEntry]:
        return [m for m in self.models if wanted <= m.capabilities]


def _price(raw: Mapping[str, Any] | None) -> Price | None:
    if raw is None:
        return None
    tts = raw.get("tts") or {}
    per = raw.get("per", "second")
    per_seconds = float(raw.get("block_seconds", 1)) if per != "second" else 1.0
    return Price(
        of=raw["of"],
        per_seconds=per_seconds,
        usd=raw.get("usd"),
        credits=raw.get("credits"),
        usd_per_credit=raw.get("usd_per_credit"),
        rounding=raw.get("rounding"),
        tts_credits=tts.get("credits"),
        tts_per_utf8_bytes=tts.get("per_utf8_bytes"),
        per_result=raw.get("per_result"),
        source=raw["url"],
        as_of=None if raw.get("read_on") is None else str(raw["read_on"]),
        unconfirmed=raw.get("unconfirmed"),
    )


_LOADED: list[tuple[int, Catalog]] = []  # (registry generation, catalog): the last one joined


def load_catalog() -> Catalog:
    """The catalog of every registered provider, joined once per set of providers."""
    generation = registry.generation()
    if _LOADED and _LOADED[0][0] == generation:
        return _LOADED[0][1]
    catalog = _catalog(tuple(p.catalog_file for p in registry.providers()))
    _LOADED[:] = [(generation, catalog)]
    return catalog


# The catalog is read on every command; libyaml's loader (when PyYAML was built with it) parses
# it several times faster than the pure-Python one, with the same safe constructors.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _catalog(slices: tuple[Path, ...]) -> Catalog:
    models: list[ModelEntry] = []
    for path in slices:
        with open(path, encoding="utf-8") as fh:
            models += [_model(m) for m in yaml.load(fh, Loader=_Loader)["models"]]
    return Catalog(models=tuple(models))


def _model(m: Mapping[str, Any]) -> ModelEntry:
    return ModelEntry(
        id=m["id"],
        provider=m["provider"],
        model=m["model"],
        title=m["title"],
        capabilities=frozenset(m["capabilities"]),
        limits=m.get("limits") or {},
        voices=tuple(m.get("voices") or ()),
        speakers={str(k): str(v) for k, v in (m.get("speakers") or {}).items()},
        video=m.get("video") or {},
        price=_price(m.get("price")),
    )


def model_for(provider: str, model: str) -> ModelEntry:
    """The catalog entry for a provider's model name, e.g. ``("runware", "pixverse:lipsync@1")``."""
    catalog = load_catalog()
    entry = catalog.find(provider, model)
    if entry is None:
        names = [m.model for m in catalog.models if m.provider == provider]
        raise unknown_name(f"{provider} model", model, names)
    return entry
