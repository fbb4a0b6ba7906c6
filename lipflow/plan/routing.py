"""Which model a step runs on: the one it names (``use:``), or the cheapest offering every
capability it asks for and accepting its inputs (every documented limit: length, bytes, frame
size, image format, frames), with each alternative rejected and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from lipflow.catalog import ModelEntry
from lipflow.jobs import Cost, LipsyncParams, MediaRef, Params, StepChoice, dollars
from lipflow.plan.checks import media_problems
from lipflow.plan.context import PlanContext
from lipflow.plan.estimate import job_cost
from lipflow.problems import Problem, did_you_mean
from lipflow.recipe import Step

__all__ = ["PiecesCost", "action_of", "choose"]

# What a job costs in pieces on a model: (count, summed cost), a message if it cannot be split to
# fit that model, or None if it runs whole there (:meth:`lipflow.plan.splitting.Splitter.cost`).
_WHOLE = "as one job"
PiecesCost = Callable[[ModelEntry], "tuple[int, Cost] | str | None"]


def choose(
    ctx: PlanContext,
    step: Step,
    wanted: frozenset[str],
    media: Mapping[str, MediaRef],
    params: Params,
    job_id: str,
    pieces: PiecesCost | None = None,
) -> StepChoice | None:
    if isinstance(params, LipsyncParams) and any(s.text for s in params.segments or ()):
        wanted = wanted | {"lipsync.tts"}
    asked = ", ".join(sorted(wanted))
    if step.use is not None:
        ids = [m.id for m in ctx.catalog.models]
        if step.use not in ids:
            ctx.problem(
                f"unknown model {step.use!r}; models: {', '.join(ids)}",
                (*step.recipe_path, "use"),
                suggestion=did_you_mean(step.use, ids),
                code="unknown-model",
            )
            return None
        entry = ctx.catalog.model(step.use)
        missing = sorted(wanted - entry.capabilities)
        if missing:
            having = [m.id for m in ctx.catalog.with_capabilities(wanted)]
            ctx.problem(
                f"{entry.id} does not offer {', '.join(missing)}; "
                + (
                    f"models that offer all of {asked}: {', '.join(having)}"
                    if having
                    else f"no model offers all of {asked}"
                ),
                (*step.recipe_path, "use"),
                code="capability",
                job=job_id,
            )
            # A model of the other action, or a lip-sync model without the voice track asked for,
            # has no request to build; otherwise go on with it, so its request checks show
            # every other problem too.
            if action_of(entry) != step.action or any(m.startswith("lipsync.") for m in missing):
                return None
        return StepChoice(step=step.id, model_id=entry.id, reason="named in the recipe (use:)")

    rejected: list[tuple[str, str]] = []
    candidates: list[tuple[ModelEntry, Cost]] = []
    how: dict[str, str] = {}  # model id -> "as one job" / "in N pieces"
    limited: list[tuple[str, MediaRef, Problem]] = []
    for entry in ctx.catalog.models:
        missing = sorted(wanted - entry.capabilities)
        if missing:
            if action_of(entry) == step.action:
                rejected.append((entry.id, f"does not offer {', '.join(missing)}"))
            continue
        if step.provider is not None and entry.provider != step.provider:
            rejected.append(
                (entry.id, f"provider is {entry.provider}, the step asks for {step.provider}")
            )
            continue
        held = [
            r for r in media.values() if r.origin == "media_id" and r.provider != entry.provider
        ]
        if held:
            rejected.append(
                (entry.id, f"input {held[0].name!r} is a media id stored at {held[0].provider}")
            )
            continue
        split = pieces(entry) if pieces is not None else None
        if isinstance(split, str):
            rejected.append((entry.id, split))
            continue
        if split is None:
            # Whole on this model: every documented limit must hold (a splittable input over a
            # limit came back as pieces instead).
            ruled_out = [
                (role, ref, problem)
                for role, ref in media.items()
                for problem in media_problems(entry.id, role, ref)
            ]
            if ruled_out:
                limited.extend(ruled_out)
                why = "; ".join(f"{role} {ref.name!r}: {p.message}" for role, ref, p in ruled_out)
                rejected.append((entry.id, why))
                continue
            cost, _, _ = job_cost(entry, media, params)
            how[entry.id] = _WHOLE
        else:
            count, cost = split
            how[entry.id] = f"in {count} pieces" if count > 1 else "as one re-encoded piece"
        candidates.append((entry, cost))
    if not candidates and limited:
        # Each limit on the line of the input it rules out: which model, which limit, how far.
        for role, ref, problem in limited:
            where = (
                ("inputs", ref.name)
                if ref.name in ctx.recipe.inputs
                else (*step.recipe_path, step.action, role.split(".")[0])
            )
            ctx.problems.append(
                replace(
                    problem,
                    message=f"{problem.message}; no model offering {asked} takes this {ref.kind}",
                    path=where,
                    location=ctx.recipe.locate(where),
                    context=(("job", job_id),),
                )
            )
        return None
    offering = {m.id for m in ctx.catalog.with_capabilities(wanted)}
    bare = [(model, why.removeprefix(f"{model}: ")) for model, why in rejected if model in offering]
    if not candidates and bare and step.provider is not None:
        # The step asks for one provider: its models' reasons are the ones that matter (an
        # input over its documented limit), not that the other providers are not it.
        own = [(m, why) for m, why in bare if ctx.catalog.model(m).provider == step.provider]
        if not own:
            ctx.problem(
                f"provider {step.provider} has no model offering {asked}; models that do: "
                + ", ".join(m for m, _ in bare),
                (*step.recipe_path, "provider"),
                code="capability",
                job=job_id,
            )
            return None
        bare = own
    if not candidates and bare:
        # Every model that offers the capabilities was ruled out, each for a reason: say those
        # (a cut.at out of order rules out all alike), not that no model offers them.
        reasons = list(dict.fromkeys(why for _, why in bare))
        said = (
            reasons[0]
            if len(reasons) == 1 and len(bare) > 1
            else "; ".join(f"{model}: {why}" for model, why in bare)
        )
        whose = f"{step.provider} model" if step.provider is not None else "model"
        ctx.problem(
            f"no {whose} offering {asked} can take step {step.id!r}: {said}",
            step.recipe_path,
            code="capability",
            job=job_id,
        )
        return None
    if not candidates:
        having = [m.id for m in ctx.catalog.with_capabilities(wanted)]
        singles = {
            cap: [m.id for m in ctx.catalog.with_capabilities(frozenset({cap}))]
            for cap in sorted(wanted)
        }
        detail = "; ".join(f"{cap}: {', '.join(ids) or 'none'}" for cap, ids in singles.items())
        ctx.problem(
            f"no model offers every capability step {step.id!r} asks for ({asked})"
            + (f"; with {step.provider}" if step.provider and having else "")
            + f". Models by capability: {detail}",
            step.recipe_path,
            code="capability",
            job=job_id,
        )
        return None
    candidates.sort(key=lambda c: (c[1].usd is None, c[1].usd or 0.0, c[0].id))
    split_seen = any(h != _WHOLE for h in how.values())
    best, best_cost = candidates[0]
    for entry, cost in candidates[1:]:
        if cost.usd is None:
            why = (
                "the docs give no price for it"
                if best_cost.usd is not None
                else "tie: first in catalog order"
            )
        elif best_cost.usd is not None and split_seen:
            why = (
                f"costs {dollars(cost.usd)} {how[entry.id]} vs {dollars(best_cost.usd)} "
                f"{how[best.id]} on {best.id}"
            )
        elif best_cost.usd is not None:
            why = f"costs {dollars(cost.usd)} per job vs {dollars(best_cost.usd)}"
        else:
            why = "not cheaper"
        rejected.append((entry.id, why))
    reason = (
        f"cheapest model offering {asked} ({dollars(best_cost.usd)} for the first job)"
        if best_cost.usd is not None
        else f"offers {asked}; no candidate has a documented price"
    )
    others = [(e, c) for e, c in candidates[1:] if c.usd is not None and how[e.id] != how[best.id]]
    if best_cost.usd is not None and others:
        other, other_cost = others[0]
        assert other_cost.usd is not None  # others are the priced candidates
        reason = (
            f"cheapest model offering {asked}: {dollars(best_cost.usd)} {how[best.id]} vs "
            f"{dollars(other_cost.usd)} {how[other.id]} on {other.id} (the first job)"
        )
    return StepChoice(step=step.id, model_id=best.id, reason=reason, rejected=tuple(rejected))


def action_of(entry: ModelEntry) -> str:
    """The recipe action a model serves: lip-sync models for lipsync steps, the rest for generate."""
    return "lipsync" if any(c.startswith("lipsync.") for c in entry.capabilities) else "generate"
