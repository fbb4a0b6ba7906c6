"""A plan as a person reads it: choices, each job with its requests and cost, totals, warnings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from lipflow.jobs import Piece, Plan, dollars

__all__ = ["format_plan_text"]


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else dollars(value, grouped=True)


def _range(low: float | None, high: float | None, usd: float | None) -> str:
    if usd is None:
        return "unpriced"
    if low is not None and high is not None and abs(high - low) > 1e-9:
        return f"{_usd(low)} - {_usd(high)}"
    return _usd(usd)


def _body(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def format_plan_text(plan: Plan, *, show_requests: bool = True) -> str:
    """A plan as a person reads it: choices, each job with requests and cost, totals, warnings."""
    out: list[str] = [f"Plan for {plan.recipe_file} ({len(plan.jobs)} job(s))", ""]
    for choice in plan.choices:
        out.append(f"step {choice.step}: {choice.model_id} - {choice.reason}")
        for model, why in choice.rejected:
            out.append(f"    rejected {model}: {why}")
    if plan.choices:
        out.append("")
    for pj in plan.jobs:
        job = pj.job
        out.append(f"job {job.id}  [{job.provider} {job.model}]")
        if job.piece is not None:
            out.extend(_piece_lines(job.piece))
        if show_requests:
            for i, req in enumerate(pj.requests, 1):
                if req.reused_from is not None:
                    out.append(
                        f"  {i}. {req.purpose}: not sent; reuses job {req.reused_from}'s upload"
                    )
                    continue
                repeat = "  (repeated until done)" if req.repeat else ""
                out.append(f"  {i}. {req.purpose}: {req.method} {req.url}{repeat}")
                for name, value in req.headers.items():
                    out.append(f"       {name}: {value}")
                payload = req.to_json()
                for key in ("json", "form", "content"):
                    if key in payload:
                        out.append(f"       {key}: {_body(payload[key])}")
        cost = pj.cost
        out.append(f"  cost: {_range(pj.usd_low, pj.usd_high, cost.usd)}  = {cost.basis}")
        if cost.source:
            read = f"read {cost.as_of}" if cost.as_of else "read date unknown"
            out.append(f"        price: {cost.source} ({read})")
        for assumption in cost.assumptions:
            out.append(f"        assumes: {assumption}")
        out.append("")
    totals = plan.totals()
    out.append("Totals")
    for label, table in (("step", totals["per_step"]), ("provider", totals["per_provider"])):
        for name, agg in table.items():
            out.append(f"  {label} {name}: {_total(agg)}")
    out.append(f"  overall: {_total(totals['overall'])}")
    if plan.budget is not None:
        over = totals["overall"]["usd"] > plan.budget + 1e-9
        out.append(
            f"  budget: ${plan.budget:,.2f}"
            + (" - the estimate is OVER it: `lipflow run` would refuse this plan" if over else "")
        )
    warnings = plan.warnings
    if warnings:
        out.append("")
        out.append("Warnings")
        out.extend(f"  {w.format()}" for w in warnings)
    return "\n".join(out)


def _piece_lines(piece: Piece) -> list[str]:
    """A piece of a split lip sync: its range, why its cut is there, how it is cut, its size."""
    return [
        f"  piece {piece.index} of {piece.count}: {piece.start:.2f}-{piece.end:.2f} s "
        f"({piece.end - piece.start:.2f} s) of {piece.group}",
        f"    cut: {piece.why}",
        f"    video: {piece.size[0]}x{piece.size[1]}, about {piece.video_bytes:,} bytes, "
        f"{piece.video_method}",
        f"    audio: {piece.audio_bytes:,} bytes (PCM WAV, cut sample-exact)",
    ]


def _total(agg: dict[str, Any]) -> str:
    text = _range(agg["usd_low"], agg["usd_high"], agg["usd"])
    if agg["unpriced_jobs"] and agg["unpriced_jobs"] == agg["jobs"]:
        text = "unpriced"
    parts = [f"{text} over {agg['jobs']} job(s)"]
    if agg["unpriced_jobs"]:
        parts.append(f"{agg['unpriced_jobs']} unpriced (no documented price; not counted)")
    return ", ".join(parts)


_JOBS = object()  # where the jobs go in the document, encoded one by one
_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)


class Writer(Protocol):
    """Where text goes: a file, stdout, or a stream that scrubs keys on the way."""

    def write(self, text: str, /) -> int: ...


def write_json(plan: Plan, out: Writer, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``plan`` as ``json.dumps(plan.to_json() | extra, indent=2, ensure_ascii=False)``
    would, byte for byte, without holding the document: each job is turned into JSON and written
    on its own, so a 100,000-job plan costs its jobs' objects and one job's text at a time."""
    for chunk in _json_chunks({**plan.json_document(_JOBS), **(extra or {})}, plan):
        out.write(chunk)


def _json_chunks(doc: Mapping[str, Any], plan: Plan) -> Iterator[str]:
    """The chunks of ``doc`` at indent 2: a nested value is its own encoding with each line
    indented one level deeper (JSON strings escape newlines, so every line break is layout)."""
    yield "{"
    for i, (key, value) in enumerate(doc.items()):
        yield ("\n  " if i == 0 else ",\n  ") + _ENCODER.encode(key) + ": "
        if value is not _JOBS:
            yield _nested(value, "\n  ")
        elif not plan.jobs:
            yield "[]"
        else:
            for j, pj in enumerate(plan.jobs):
                yield ("[\n    " if j == 0 else ",\n    ") + _nested(pj.to_json(), "\n    ")
            yield "\n  ]"
    yield "\n}" if doc else "}"


def _nested(value: object, newline: str) -> str:
    return _ENCODER.encode(value).replace("\n", newline)
