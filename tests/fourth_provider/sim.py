"""LipCraft's simulated twin, on the mock core's types; it reads the same wire facts."""

from __future__ import annotations

from typing import Any

from lipflow.media import ASSUMED_SECONDS
from lipflow.pricing import charge
from mock_server.core import Call, InvalidBody, Reply, Route, SimulatedApi, json_body
from mock_server.validation import describe, request_problems
from tests.fourth_provider.wire import WIRE

__all__ = ["SIMULATED"]

MODEL_ID = "lipcraft/lipsync"
_UPLOAD, _SUBMIT, _POLL = (WIRE.endpoint(op) for op in ("upload", "submit", "poll"))
_BY_STATUS = {
    400: WIRE.code_for("rejected"),
    413: "too_large",
    429: WIRE.code_for("capacity"),
}


def _err(status: int, code: object, message: str) -> Reply:
    return Reply(status=status, document={"error": {"code": code, "message": message}})


def fault_reply(call: Call, status: int, message: str) -> Reply:
    return _err(status, _BY_STATUS.get(status, WIRE.code_for("server")), message)


def _gate(call: Call) -> Reply | None:
    if not call.sim.key_ok(WIRE.auth.key_of(call.request.headers)):
        return _err(401, WIRE.code_for("auth"), f"send your key in {WIRE.auth.header}")
    return None


def _upload(call: Call) -> Reply:
    refused = _gate(call)
    if refused:
        return refused
    upload = (call.request.files or {}).get("file")
    if upload is None:
        return _err(400, WIRE.code_for("rejected"), "file: required")
    sim = call.sim
    item = sim.store.put_bytes(
        sim.new_uuid(), upload.data, filename=upload.filename, content_type=upload.content_type
    )
    return Reply(status=201, document={"file": {"id": item.id, "url": sim.url(item)}})


def _job_doc(call: Call, job_id: str) -> dict[str, Any]:
    sim = call.sim
    job = sim.job(WIRE.name, job_id)
    assert job is not None
    meaning = job.meaning(sim.clock.now())
    doc: dict[str, Any] = {"id": job.id, "state": WIRE.status_for(meaning)}
    if meaning == "done":
        doc["output_url"] = sim.url(job.outputs[0])
    elif meaning in ("moderated", "failed"):
        doc["error"] = "flagged by moderation" if meaning == "moderated" else "generation failed"
    return doc


def _submit(call: Call) -> Reply:
    refused = _gate(call)
    if refused:
        return refused
    body = json_body(call.request)
    if isinstance(body, InvalidBody) or not isinstance(body, dict):
        return _err(400, WIRE.code_for("rejected"), "the body must be a JSON object")
    problems = request_problems(WIRE.name, body, endpoint=_SUBMIT.path)
    if problems:
        return _err(400, WIRE.code_for("rejected"), "; ".join(describe(p) for p in problems))
    sim = call.sim
    key = str(body["idempotency_key"])
    known: dict[str, str] = sim.scratch(WIRE.name).setdefault("keys", {})
    if key in known:
        return Reply(status=200, document={"job": _job_doc(call, known[key])})
    found = {name: sim.resolve_media(body[name]) for name in ("video", "audio")}
    for name, item in found.items():
        if isinstance(item, str):
            return _err(400, WIRE.code_for("rejected"), f"{name}: {item}")
    if sim.at_capacity(call):
        return _err(429, WIRE.code_for("capacity"), "too many jobs running")
    audio = found["audio"]
    seconds = getattr(audio, "duration_s", None) or ASSUMED_SECONDS
    job_id = sim.new_uuid().replace("-", "")
    output = sim.store.put_output(job_id, kind="video", seconds=seconds, ext="mp4")
    sim.create_job(
        call,
        job_id=job_id,
        model="lipcraft-1",
        duration_s=seconds,
        duration_basis="the audio's duration",
        outputs=[output],
        cost=charge(MODEL_ID, audio_seconds=seconds),
        request=body,
    )
    known[key] = job_id
    return Reply(status=201, document={"job": _job_doc(call, job_id)})


def _poll(call: Call) -> Reply:
    refused = _gate(call)
    if refused:
        return refused
    if call.sim.job(WIRE.name, call.params["job_id"]) is None:
        return _err(404, WIRE.code_for("not_found"), f"no job {call.params['job_id']}")
    return Reply(document={"job": _job_doc(call, call.params["job_id"])})


SIMULATED = SimulatedApi(
    routes=(
        Route("POST", _UPLOAD.path, WIRE.name, "upload", _upload),
        Route("POST", _SUBMIT.path, WIRE.name, "submit", _submit),
        Route("GET", _POLL.path, WIRE.name, "poll", _poll, job_param="job_id"),
    ),
    fault_reply=fault_reply,
)
