"""A step's parameters, typed: its media references resolved (inputs, upstream outputs, files
probed once) and its settings as :class:`~lipflow.jobs.LipsyncParams` or
:class:`~lipflow.jobs.GenerateParams`, with the capabilities they ask for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lipflow.errors import LipflowError, UnreadableFile
from lipflow.jobs import (
    GenerateParams,
    LipsyncParams,
    MediaRef,
    Params,
    PlannedJob,
    Segment,
    Speech,
)
from lipflow.plan.context import PlanContext
from lipflow.problems import UNREADABLE, PathPart, did_you_mean, has_errors
from lipflow.recipe import STEP_REF_PREFIX, URL_SCHEMES, Input, Step, reference_problem
from lipflow.recipe.source import control_character

__all__ = ["Parameters", "Probe"]

Probe = Callable[[str], Any]  # path -> object with .duration_s and .size_bytes

# How far a declared ``duration:`` may be from a local file's probed length: a rounded value
# (12 for 12.04 s) is fine, a different file or a typo is not. The probed length is what is priced.
DURATION_TOLERANCE_S = 0.5
# Times within this of a media's length are taken as equal to it (0.1 + 0.2 is not 0.3).
_FLOAT_NOISE = 1e-6


class Parameters:
    """Builds each job's media and typed parameters; media facts are found once per input."""

    def __init__(self, ctx: PlanContext, probe: Probe | None) -> None:
        self.ctx = ctx
        self._probe_file = probe
        self._probed: dict[str, Any] = {}
        self._input_refs: dict[tuple[str, str], MediaRef] = {}

    def _measure(self, inp: Input) -> dict[str, Any]:
        """What the file of ``inp`` is: duration, bytes, frame size and format, as far as known."""
        path = inp.path
        assert path is not None
        if path not in self._probed:
            info: Any = None
            if self._probe_file is not None:
                try:
                    info = self._probe_file(path)
                except LipflowError as exc:
                    info = exc
            self._probed[path] = info
        info = self._probed[path]
        declared: dict[str, Any] = {"duration": inp.duration, "size_bytes": inp.size_bytes}
        if isinstance(info, LipflowError):
            self.ctx.problem(  # exit 2 when the file cannot be read, 1 when it is no media
                f"input {inp.name!r}: {info.message}",
                ("inputs", inp.name),
                code=UNREADABLE if isinstance(info, UnreadableFile) else "media",
            )
            return declared
        if info is None:
            return declared
        if (info.kind == "image") != (inp.kind == "image"):
            self.ctx.problem(
                f"input {inp.name!r} is declared as {inp.kind}, but {inp.source} is "
                f"{'an' if info.kind == 'image' else 'a'} {info.kind} file",
                ("inputs", inp.name),
                code="media",
            )
        elif inp.kind == "video" and info.kind == "audio":
            self.ctx.problem(
                f"input {inp.name!r} is declared as video, but {inp.source} holds no video "
                "stream: it is an audio file",
                ("inputs", inp.name),
                code="media",
            )
        elif inp.kind == "audio" and not info.has_audio:
            self.ctx.problem(
                f"input {inp.name!r} is declared as audio, but {inp.source} holds no audio "
                "stream: it is a video without sound",
                ("inputs", inp.name),
                code="media",
            )
        if (
            info.kind != "image"
            and inp.duration is not None
            and abs(inp.duration - info.duration_s) > DURATION_TOLERANCE_S
        ):
            self.ctx.problem(
                f"input {inp.name!r}: duration: {inp.duration:g} s contradicts the file, which "
                f"lasts {info.duration_s:g} s (tolerance {DURATION_TOLERANCE_S:g} s); the price "
                "follows the file, so remove duration: or correct it",
                ("inputs", inp.name, "duration"),
                code="media",
            )
        return {
            "duration": None if info.kind == "image" else info.duration_s,
            "size_bytes": info.size_bytes,
            "width": info.width,
            "height": info.height,
            "format": getattr(info, "format", None) if info.kind == "image" else None,
        }

    def media_ref(
        self,
        ref: Any,
        kind: str,
        path: tuple[PathPart, ...],
        upstream: Mapping[str, PlannedJob],
        job_id: str,
    ) -> MediaRef | None:
        if not isinstance(ref, str):
            self.ctx.problem(
                f"{kind} must name an input or steps.STEP, not {ref!r}", path, job=job_id
            )
            return None
        if ref.startswith(STEP_REF_PREFIX):
            step_id = ref[len(STEP_REF_PREFIX) :].split(".", 1)[0]
            pj = upstream.get(step_id)
            if pj is None:
                self.ctx.problem(
                    f"{ref!r} names no step this step needs; steps: {', '.join(self.ctx.recipe.steps)}",
                    path,
                    suggestion=did_you_mean(step_id, list(self.ctx.recipe.steps)),
                    job=job_id,
                )
                return None
            if pj.job.piece is not None:
                self.ctx.problem(
                    f"step {step_id!r} is cut into pieces (its input is over its model's limits); "
                    "a later step cannot use its joined output yet: use its inputs directly",
                    path,
                    code="split-upstream",
                    job=job_id,
                )
                return None
            return MediaRef(
                name=ref, kind="video", origin="step", value=pj.job.id, duration=pj.output_duration
            )
        cached = self._input_refs.get((ref, kind))
        if cached is not None:
            return cached
        inp = self.ctx.recipe.inputs.get(ref)
        if inp is None:
            self.ctx.problems.append(
                reference_problem(self.ctx.recipe, kind, ref, path).with_context(job=job_id)
            )
            return None
        if inp.kind != kind:
            self.ctx.problem(
                f"input {ref!r} is {inp.kind}, but {kind} is wanted here", path, job=job_id
            )
            return None
        facts: dict[str, Any] = {"duration": inp.duration, "size_bytes": inp.size_bytes}
        origin: str
        value: str | int
        if inp.media_id is not None:
            origin, value = "media_id", inp.media_id
        elif inp.source is not None and inp.is_url:
            origin, value = "url", inp.source
        elif inp.other_scheme is not None:
            self._unsupported_scheme(inp, job_id)
            return None
        else:
            assert inp.path is not None
            origin, value = "file", inp.path
            facts = self._measure(inp)
        media = MediaRef(
            name=ref, kind=kind, origin=origin, value=value, provider=inp.provider, **facts
        )
        self._input_refs[(ref, kind)] = media  # the same for every job of every step
        return media

    def _unsupported_scheme(self, inp: Input, job_id: str) -> None:
        """An input written as a URL lipflow cannot hand a provider (``ftp://``, ``data:``,
        ``file:``): said as such, with the URL or path meant when it is plain which."""
        scheme, source = inp.other_scheme or "", inp.source or ""
        rest = source[len(scheme) :]
        near = did_you_mean(scheme, URL_SCHEMES)
        suggestion = None
        if scheme.lower() == "file":
            from urllib.parse import unquote, urlsplit

            suggestion = unquote(urlsplit(source).path) or None
        elif near is not None and rest.startswith("://"):
            suggestion = near + rest
        schemes = " or ".join(f"{s}://" for s in URL_SCHEMES)
        if scheme.lower() in URL_SCHEMES:
            said = f"write the URL's scheme in lower case ({schemes}), as lipflow passes it on"
        else:
            said = (
                f"{scheme}: URLs are not supported; a media input is an {schemes} URL (the "
                "provider fetches it), a local file's path (lipflow uploads it) or "
                "{media_id: ..., provider: ...}"
            )
        self.ctx.problem(
            f"input {inp.name!r}: {said}",
            ("inputs", inp.name, inp.kind),
            code="url-scheme",
            suggestion=suggestion,
            job=job_id,
        )

    def build(
        self, step: Step, spec: Mapping[str, Any], upstream: Mapping[str, PlannedJob], job_id: str
    ) -> tuple[dict[str, MediaRef], Params, frozenset[str]] | None:
        base = (*step.recipe_path, step.action)
        media: dict[str, MediaRef] = {}
        params: dict[str, Any] = {}
        wanted: set[str] = set()
        before = len(self.ctx.problems)

        add = self._add_media
        if step.action == "lipsync":
            add(media, spec, "video", "video", "video", base, upstream, job_id)
            add(media, spec, "audio", "audio", "audio", base, upstream, job_id)
            if spec.get("audio") is not None:
                wanted.add("lipsync.audio")
            if spec.get("tts") is not None:
                wanted.add("lipsync.tts")
                tts = spec["tts"]
                text, voice = tts.get("text"), tts.get("voice")
                if text is not None and (type(text) is not str or control_character(text)):
                    text = self._text(text, (*base, "tts", "text"), job_id)
                if voice is not None and type(voice) is not str:
                    voice = self._text(voice, (*base, "tts", "voice"), job_id)
                params["tts"] = Speech(text=text, voice=voice, language=tts.get("language"))
            if spec.get("segments") is not None:
                wanted.add("lipsync.segments")
                params["segments"] = tuple(
                    self._segments(spec["segments"], (*base, "segments"), media, upstream, job_id)
                )
            if spec.get("audio") is not None and spec.get("tts") is not None:
                self.ctx.problem(
                    "set either audio or tts, not both: a lip sync has one voice track",
                    base,
                    code="either-or",
                    job=job_id,
                )
            if not wanted:
                self.ctx.problem(
                    "a lip sync needs audio, tts or segments", base, code="required", job=job_id
                )
        else:
            wanted.add("video.text")
            add(media, spec, "image", "image", "image", base, upstream, job_id)
            add(media, spec, "last_image", "last_image", "image", base, upstream, job_id)
            if "image" in spec:
                wanted.add("video.image")
            for key, cap in (
                ("style", "video.style"),
                ("effect", "video.effect"),
                ("camera", "video.camera"),
                ("motion", "video.motion"),
            ):
                if spec.get(key) is not None:
                    wanted.add(cap)
                    params[key] = spec[key]
            for key in ("prompt", "negative_prompt"):
                if spec.get(key) is not None:
                    params[key] = self._text(spec[key], (*base, key), job_id)
            sound = spec.get("sound")
            if sound is not None and not isinstance(sound, bool | str):
                # The schema's check saw the template; its value (a list, a number) would be
                # sent as "sound on".
                self.ctx.problem(
                    f"sound must be true, false or text, not {type(sound).__name__} "
                    f"{_shown(sound)}",
                    (*base, "sound"),
                    code="type",
                    job=job_id,
                )
            elif sound is not None:
                params["sound"] = sound
            for key in ("duration", "fps"):
                if spec.get(key) is not None:
                    params[key] = _as_int(spec[key])
            if spec.get("size") is not None:
                size = spec["size"]
                if isinstance(size, str) and "x" in size:
                    w, _, h = size.partition("x")
                    params["width"], params["height"] = _as_int(w), _as_int(h)
                elif isinstance(size, dict):
                    params["width"], params["height"] = (
                        _as_int(size["width"]),
                        _as_int(size["height"]),
                    )
                else:
                    self.ctx.problem(
                        f"size {size!r} is not WIDTHxHEIGHT", (*base, "size"), job=job_id
                    )
        if len(self.ctx.problems) > before and has_errors(self.ctx.problems[before:]):
            return None
        typed: Params = (
            LipsyncParams(**params) if step.action == "lipsync" else GenerateParams(**params)
        )
        return media, typed, frozenset(wanted)

    def _add_media(
        self,
        media: dict[str, MediaRef],
        spec: Mapping[str, Any],
        role: str,
        key: str,
        kind: str,
        base: tuple[PathPart, ...],
        upstream: Mapping[str, PlannedJob],
        job_id: str,
    ) -> None:
        """``media[role]``: the input ``spec[key]`` names, when it is set and found (a method, not
        a closure in :meth:`build`: a closure would make every local of it a cell)."""
        value = spec.get(key)
        if value is None:
            return
        if type(value) is str and not value.startswith(STEP_REF_PREFIX):
            found = self._input_refs.get((value, kind))  # media_ref's answer for a known input
            if found is not None:
                media[role] = found
                return
        ref = self.media_ref(value, kind, (*base, key), upstream, job_id)
        if ref is not None:
            media[role] = ref

    def _text(self, value: Any, path: tuple[PathPart, ...], job_id: str) -> Any:
        """A text field's value: numbers (``{{ vars.line }}`` holding 12) are said as written;
        lists, mappings, booleans and text holding a control character are problems."""
        if isinstance(value, str):
            control = control_character(value)
            if control is None:
                return value
            at, name = control
            self.ctx.problem(
                f"{path[-1]} holds the control character {name} at character {at + 1}, which "
                "a provider's text-to-speech or prompt has no use for: remove it",
                path,
                code="control-character",
                job=job_id,
            )
            return None
        if value is None:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        self.ctx.problem(
            f"{path[-1]} must be text, not {type(value).__name__} {_shown(value)}",
            path,
            code="type",
            job=job_id,
        )
        return None

    def _segments(
        self,
        name: Any,
        path: tuple[PathPart, ...],
        media: dict[str, MediaRef],
        upstream: Mapping[str, PlannedJob],
        job_id: str,
    ) -> list[Segment]:
        seglist = self.ctx.recipe.segments.get(name) if isinstance(name, str) else None
        if seglist is None:
            problem = reference_problem(self.ctx.recipe, "segments", name, path)
            self.ctx.problems.append(problem.with_context(job=job_id))
            return []
        out = []
        for i, rng in enumerate(seglist["ranges"]):
            rpath = ("segments", name, "ranges", i)
            seg = Segment(
                start=rng.get("start"),
                end=rng.get("end"),
                audio_start=rng.get("audio_start"),
                audio_end=rng.get("audio_end"),
                text=rng.get("text"),
            )
            video = media.get("video")
            self._within(seg.start, seg.end, video, "start", "end", rpath, job_id)
            if rng.get("audio") is not None:
                ref = self.media_ref(rng["audio"], "audio", (*rpath, "audio"), upstream, job_id)
                if ref is not None:
                    media[f"segments.{i}.audio"] = ref
                    self._within(
                        seg.audio_start,
                        seg.audio_end,
                        ref,
                        "audio_start",
                        "audio_end",
                        rpath,
                        job_id,
                    )
            out.append(seg)
        return out

    def _within(
        self,
        start: Any,
        end: Any,
        ref: MediaRef | None,
        start_key: str,
        end_key: str,
        path: tuple[PathPart, ...],
        job_id: str,
    ) -> None:
        """A segment's times held against the length of the media they cut: a range past its
        end would be refused by the provider (or silently cut) after the job is paid for."""
        if ref is None or ref.duration is None:
            return
        for key, value in ((start_key, start), (end_key, end)):
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if value > ref.duration + _FLOAT_NOISE:
                self.ctx.problem(
                    f"{key} {value:g} s is past the end of {ref.kind} {ref.name!r}, which lasts "
                    f"{ref.duration:g} s",
                    (*path, key),
                    code="segment-past-end",
                    job=job_id,
                )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _as_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value
