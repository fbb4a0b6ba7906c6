"""The records a plan is made of: jobs, their media, and the requests they send.

These are plain frozen values shared by the planner (which builds them), the provider modules
(which turn them into request bodies) and the runner (which executes them). A value that only
exists at run time (an uploaded file's media id, an upstream job's video URL) is a
:class:`Deferred`: shown by name in a plan, validated through a typed example, resolved by the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Deferred",
    "Job",
    "MediaRef",
    "PlannedRequest",
    "has_deferred",
    "resolve",
    "to_display",
]


@dataclass(frozen=True, slots=True)
class Deferred:
    """A request value known only at run time, e.g. ``upload.presenter.mediaUUID``."""

    ref: str
    example: Any  # a value of the right type, so a plan's requests can be schema-checked

    def __str__(self) -> str:
        return "${" + self.ref + "}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRef:
    """One media input of a job and where it comes from."""

    name: str  # recipe input name, or "steps.STEP" for an upstream output
    kind: str  # video | audio | image
    origin: str  # url | file | media_id | step
    value: str | int  # the URL, the absolute file path, the media id, or the upstream job id
    provider: str | None = None  # the provider holding a media id
    duration: float | None = None
    size_bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "value": self.value,
            "provider": self.provider,
            "duration": self.duration,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MediaRef:
        return cls(**raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One provider job: a step for one matrix combination, with its model chosen."""

    id: str
    step: str
    action: str  # lipsync | generate
    provider: str
    model: str  # the provider's model name, e.g. "sync:lipsync-2@1"
    model_id: str  # the catalog id, e.g. "runware/sync-lipsync-2"
    task_uuid: str  # Runware's idempotency key; deterministic per recipe and job
    media: Mapping[str, MediaRef] = field(default_factory=dict)  # role -> media
    params: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # upstream job ids
    matrix: Mapping[str, Any] = field(default_factory=dict)

    @property
    def output_kind(self) -> str:
        return "video"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step": self.step,
            "action": self.action,
            "provider": self.provider,
            "model": self.model,
            "model_id": self.model_id,
            "task_uuid": self.task_uuid,
            "media": {role: ref.to_json() for role, ref in self.media.items()},
            "params": dict(self.params),
            "options": dict(self.options),
            "needs": list(self.needs),
            "matrix": dict(self.matrix),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Job:
        data = dict(raw)
        data["media"] = {role: MediaRef.from_json(m) for role, m in raw["media"].items()}
        data["needs"] = tuple(raw["needs"])
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRequest:
    """One HTTP request a job will send, as a plan shows it (keys redacted)."""

    purpose: str  # e.g. "upload video 'presenter'", "submit", "poll until done"
    method: str
    url: str
    endpoint: str | None  # the API path the provider schemas know it by (None: Runware task)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, Any] | None = (
        None  # multipart fields; a file as {filename, content_type, size}
    )
    content: str | None = None  # a raw body, described
    repeat: bool = False  # sent again until the job is done
    validate: bool = True  # checked against the provider's request schema
    upload_of: tuple[str, str] | None = (
        None  # (origin, file/URL/job): one upload per run serves all
    )
    reused_from: str | None = None  # the job whose identical upload this one reuses: not sent

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "purpose": self.purpose,
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
        }
        if self.json is not None:
            out["json"] = to_display(self.json)
        if self.form is not None:
            out["form"] = to_display(self.form)
        if self.content is not None:
            out["content"] = self.content
        if self.repeat:
            out["repeat"] = "until the job is done"
        if self.reused_from is not None:
            out["reused_from"] = self.reused_from
        return out


def to_display(value: Any) -> Any:
    """``value`` with every Deferred shown as ``${ref}``."""
    if isinstance(value, Deferred):
        return str(value)
    if isinstance(value, dict):
        return {k: to_display(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_display(v) for v in value]
    return value


def has_deferred(value: Any) -> bool:
    """Whether ``value`` holds a Deferred anywhere (cheaper than resolving when it does not)."""
    # Plain loops, not any(genexpr): this runs on every planned request (generators cost 2x here).
    kind = type(value)
    if kind is dict:
        for item in value.values():  # noqa: SIM110
            if has_deferred(item):
                return True
        return False
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110
            if has_deferred(item):
                return True
        return False
    return kind is Deferred


def resolve(value: Any, lookup: Mapping[str, Any] | None = None) -> Any:
    """``value`` with Deferreds replaced: by ``lookup[ref]``, or by their typed example."""
    # Exact type tests: this runs once per planned request, 10,000 times for a large matrix.
    kind = type(value)
    if kind is dict:
        return {k: resolve(v, lookup) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [resolve(v, lookup) for v in value]
    if kind is Deferred:
        return value.example if lookup is None else lookup[value.ref]
    return value
