"""Runware's REST API: every request is a JSON array of tasks POSTed to ``/v1``.

Request building is pure: ``plan_requests`` lists what a job will send (uploads, the async
``videoInference`` submit, the ``getResponse`` poll), ``submit_task`` builds the submit with the
run-time values filled in. Wire facts: PROVIDERS.md §1 (D-RWAUTH, D-RWPOLL, S-RWLIP, S-RWSYNC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lipflow.jobs import Deferred, Job, MediaRef, PlannedRequest
from lipflow.providers._common import REDACTED, deep_merge, file_name, stable_uuid4, step_output_url

__all__ = ["NAME", "media_task", "plan_requests", "poll_task", "submit_task", "voice"]

NAME = "runware"
EXAMPLE_UUID = "00000000-0000-4000-8000-000000000000"


def headers(key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key or REDACTED}", "Content-Type": "application/json"}


def voice(name: str | None) -> str:
    """Runware takes voice names as PixVerse's list spells them, and ``auto`` in lower case."""
    if name is None or name.lower() == "auto":
        return "auto"
    return name


def _upload_uuid(job: Job, role: str) -> str:
    return stable_uuid4(job.task_uuid, "upload", role)


def media_task(job: Job, role: str, media: str) -> dict[str, Any]:
    """The ``mediaStorage`` upload task for one local file (``media`` is its base64)."""
    return {
        "taskType": "mediaStorage",
        "taskUUID": _upload_uuid(job, role),
        "operation": "upload",
        "media": media,
    }


def _placed(job: Job, role: str, ref: MediaRef, *, want_url: bool) -> Any:
    """The value a request carries for ``ref``: a URL, a media UUID, or a Deferred upload result."""
    if ref.origin == "url":
        return ref.value
    if ref.origin == "media_id":
        return ref.value
    if ref.origin == "step":
        return step_output_url(ref)
    field = "mediaURL" if want_url else "mediaUUID"
    example = "https://example.com/media.bin" if want_url else EXAMPLE_UUID
    return Deferred(f"uploads.{role}.{field}", example)


def _values(job: Job) -> dict[str, Any]:
    # Segment audio must be a URL (seed 004 §segments.audio "Audio source URL").
    return {
        role: _placed(job, role, ref, want_url=role.startswith("segments"))
        for role, ref in job.media.items()
    }


def submit_task(job: Job, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``videoInference`` task of ``job``; ``values`` maps media roles to what to send."""
    task: dict[str, Any] = {
        "taskType": "videoInference",
        "taskUUID": job.task_uuid,
        "model": job.model,
        "deliveryMethod": "async",
        "includeCost": True,
    }
    p = job.params
    if job.action == "lipsync":
        if job.model == "sync:lipsync-2@1":
            inputs: dict[str, Any] = {"video": values["video"]}
            if "audio" in values:
                inputs["audio"] = values["audio"]
            task["inputs"] = inputs
            if p.get("segments"):
                segments = []
                for i, seg in enumerate(p["segments"]):
                    item: dict[str, Any] = {
                        "startTime": seg["start"],
                        "endTime": seg["end"],
                        "audio": values[f"segments.{i}.audio"],
                    }
                    if seg.get("audio_start") is not None:
                        item["audioStartTime"] = seg["audio_start"]
                    if seg.get("audio_end") is not None:
                        item["audioEndTime"] = seg["audio_end"]
                    segments.append(item)
                task["providerSettings"] = {"sync": {"segments": segments}}
        else:
            if p.get("tts"):
                task["speech"] = {"text": p["tts"]["text"], "voice": voice(p["tts"].get("voice"))}
            inputs = {"referenceVideos": [values["video"]]}
            if "audio" in values:
                inputs["audio"] = values["audio"]
            task["inputs"] = inputs
    else:
        task.update(_generate_fields(p, values))
    return deep_merge(task, job.options)


def _generate_fields(p: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"positivePrompt": p["prompt"]}
    if p.get("negative_prompt"):
        fields["negativePrompt"] = p["negative_prompt"]
    for key in ("duration", "width", "height", "fps"):
        if p.get(key) is not None:
            fields[key] = p[key]
    frames = [
        {"inputImage": values[role], "frame": frame}
        for role, frame in (("image", "first"), ("last_image", "last"))
        if role in values
    ]
    if frames:
        fields["frameImages"] = frames
    pixverse: dict[str, Any] = {}
    for ours, theirs in (
        ("style", "style"),
        ("effect", "effect"),
        ("camera", "cameraMovement"),
        ("motion", "motionMode"),
    ):
        if p.get(ours) is not None:
            pixverse[theirs] = p[ours]
    sound = p.get("sound")
    if sound is not None and sound is not False:
        pixverse["soundEffectSwitch"] = True
        if isinstance(sound, str):
            pixverse["soundEffectContent"] = sound
    if pixverse:
        fields["providerSettings"] = {"pixverse": pixverse}
    return fields


def poll_task(task_uuid: str) -> dict[str, Any]:
    """``getResponse`` for a submitted task: the same taskUUID, not a new one (D-RWPOLL)."""
    return {"taskType": "getResponse", "taskUUID": task_uuid}


def plan_requests(job: Job, base_url: str) -> list[PlannedRequest]:
    """Uploads of local files, then the submit, then the poll, as the runner will send them."""
    out: list[PlannedRequest] = []
    for role, ref in job.media.items():
        if ref.origin == "file":
            size = f", {ref.size_bytes:,} bytes" if ref.size_bytes is not None else ""
            task = media_task(job, role, f"<base64 of {file_name(ref)}{size}>")
            out.append(
                PlannedRequest(
                    purpose=f"upload {ref.kind} {ref.name!r}",
                    method="POST",
                    url=base_url,
                    endpoint=None,
                    headers=headers(),
                    json=[task],
                )
            )
    out.append(
        PlannedRequest(
            purpose="submit",
            method="POST",
            url=base_url,
            endpoint=None,
            headers=headers(),
            json=[submit_task(job, _values(job))],
        )
    )
    out.append(
        PlannedRequest(
            purpose="poll until done",
            method="POST",
            url=base_url,
            endpoint=None,
            headers=headers(),
            json=[poll_task(job.task_uuid)],
            repeat=True,
        )
    )
    return out


# Where each request field came from in the recipe, for placing problems on recipe lines.
ORIGINS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("speech", "voice"): ("lipsync", "tts", "voice"),
    ("speech", "text"): ("lipsync", "tts", "text"),
    ("speech",): ("lipsync", "tts"),
    ("inputs", "referenceVideos"): ("lipsync", "video"),
    ("inputs", "video"): ("lipsync", "video"),
    ("inputs", "audio"): ("lipsync", "audio"),
    ("providerSettings", "sync", "segments"): ("lipsync", "segments"),
    ("positivePrompt",): ("generate", "prompt"),
    ("negativePrompt",): ("generate", "negative_prompt"),
    ("duration",): ("generate", "duration"),
    ("width",): ("generate", "size"),
    ("height",): ("generate", "size"),
    ("fps",): ("generate", "fps"),
    ("frameImages",): ("generate", "image"),
    ("providerSettings", "pixverse", "style"): ("generate", "style"),
    ("providerSettings", "pixverse", "effect"): ("generate", "effect"),
    ("providerSettings", "pixverse", "cameraMovement"): ("generate", "camera"),
    ("providerSettings", "pixverse", "motionMode"): ("generate", "motion"),
    ("providerSettings", "pixverse"): ("generate",),
}
