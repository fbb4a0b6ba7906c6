"""The provider catalog: capabilities, limits and prices, read from ``data/catalog.yaml``.

Facts about providers live in that one data file (each citing its doc); this module only gives
them types, so the planner, the pricing code, the checks and the mock server agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from lipflow._resources import data_file
from lipflow.problems import unknown_name

__all__ = [
    "CAPABILITIES",
    "Catalog",
    "ModelEntry",
    "Price",
    "ProviderEntry",
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
class ProviderEntry:
    name: str
    title: str
    base_url: str
    key_env: str
    url_env: str
    source: str


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
    source: str
    as_of: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEntry:
    id: str
    provider: str
    model: str
    title: str
    capabilities: frozenset[str]
    limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    voices: tuple[str, ...] = ()
    video: Mapping[str, Any] = field(default_factory=dict)
    price: Price | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    providers: Mapping[str, ProviderEntry]
    models: tuple[ModelEntry, ...]
    pixverse_speakers: Mapping[str, str]
    tts_chars_per_second: float

    def model(self, model_id: str) -> ModelEntry:
        for entry in self.models:
            if entry.id == model_id:
                return entry
        raise unknown_name("model", model_id, [m.id for m in self.models])

    def provider(self, name: str) -> ProviderEntry:
        try:
            return self.providers[name]
        except KeyError:
            raise unknown_name("provider", name, sorted(self.providers)) from None

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
        source=raw["source"],
        as_of=str(raw["as_of"]),
    )


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with lipflow, parsed once per process."""
    with open(data_file("catalog.yaml"), encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    providers = {
        name: ProviderEntry(name=name, **{k: v for k, v in body.items()})
        for name, body in raw["providers"].items()
    }
    models = tuple(
        ModelEntry(
            id=m["id"],
            provider=m["provider"],
            model=m["model"],
            title=m["title"],
            capabilities=frozenset(m["capabilities"]),
            limits=m.get("limits") or {},
            voices=tuple(m.get("voices") or ()),
            video=m.get("video") or {},
            price=_price(m.get("price")),
        )
        for m in raw["models"]
    )
    return Catalog(
        providers=providers,
        models=models,
        pixverse_speakers=dict(raw["pixverse_speakers"]),
        tts_chars_per_second=float(raw["tts_chars_per_second"]),
    )


def model_for(provider: str, model: str) -> ModelEntry:
    """The catalog entry for a provider's model name, e.g. ``("runware", "pixverse:lipsync@1")``."""
    catalog = load_catalog()
    entry = catalog.find(provider, model)
    if entry is None:
        names = [m.model for m in catalog.models if m.provider == provider]
        raise unknown_name(f"{provider} model", model, names)
    return entry
