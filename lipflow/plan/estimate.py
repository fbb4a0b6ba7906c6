"""What a job will cost: the documented price applied to what the job knows of its media, with a
low-high range when a duration is unknown (priced at the documented maximum)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lipflow._memo import BoundedMemo
from lipflow.catalog import ModelEntry
from lipflow.jobs import Cost, LipsyncParams, MediaRef, Params
from lipflow.lines.speech import SpeechEstimate, estimate_speech
from lipflow.media import ASSUMED_SECONDS
from lipflow.pricing import charge, segments_audio_seconds, times

__all__ = ["Costs", "job_cost", "output_duration"]


def job_cost(
    entry: ModelEntry,
    media: Mapping[str, MediaRef],
    params: Params,
    options: Mapping[str, Any] | None = None,
) -> tuple[Cost, float | None, float | None]:
    """The job's cost and its low/high range, pricing unknown durations at the documented maximum.

    ``options`` are the request fields the step adds; a field that multiplies the price (the
    catalog's ``per_result``, e.g. Runware ``numberResults``) multiplies the cost and its range.
    """
    if entry.price is None:
        return charge(entry.id), None, None
    results = _results(entry, options or {})
    if results != 1:
        one, one_low, one_high = job_cost(entry, media, params)
        return (
            times(one, results, entry.price),
            None if one_low is None else one_low * results,
            None if one_high is None else one_high * results,
        )
    lipsync = params if isinstance(params, LipsyncParams) else LipsyncParams()
    if lipsync.tts and entry.price.of == "audio":
        text, language = str(lipsync.tts.text), lipsync.tts.language
        if entry.price.tts_credits is not None and entry.price.tts_per_utf8_bytes:
            cost = charge(entry.id, tts_text=text, language=language)
            return cost, cost.usd, cost.usd  # billed by the script's bytes: no range
        # Priced per second of the estimated speech: texts that estimate alike cost alike.
        speech = estimate_speech(text, language=language)
        global _LAST_SPOKEN
        last = _LAST_SPOKEN  # texts of one template estimate alike: the same estimate object
        if last is not None and last[0] is entry and last[1] is speech:
            return last[2]
        known = _SPOKEN.get((entry.id, speech))
        if known is not None and known[0] is entry:
            _LAST_SPOKEN = (entry, speech, known[1])
            return known[1]
        cost = charge(entry.id, speech=speech)
        if cost.usd is None or entry.price.tts_credits is not None:
            found = cost, cost.usd, cost.usd
        else:
            least = charge(entry.id, audio_seconds=speech.low).usd
            most = charge(entry.id, audio_seconds=speech.high).usd
            found = cost, least, most
        _SPOKEN.put((entry.id, speech), (entry, found))
        _LAST_SPOKEN = (entry, speech, found)
        return found
    segments = lipsync.segments or ()
    role = "audio" if entry.price.of == "audio" else "video"
    if segments and role == "audio":
        seconds = segments_audio_seconds(
            (seg.start, seg.end, seg.audio_start, seg.audio_end) for seg in segments
        )
        cost = charge(entry.id, audio_seconds=seconds)
        note = "billed seconds are the sum of the segments' video ranges (README: Billing basis)"
        cost = replace(cost, assumptions=(*cost.assumptions, note))
        return cost, cost.usd, cost.usd
    ref = media.get(role)

    def priced(seconds: float) -> Cost:
        if role == "audio":
            return charge(entry.id, audio_seconds=seconds)
        return charge(entry.id, video_seconds=seconds)

    if ref is not None and ref.duration is not None:
        cost = priced(ref.duration)
        return cost, cost.usd, cost.usd
    limit = (entry.limits.get(role) or {}).get("max_seconds")
    name = ref.name if ref is not None else role
    if limit is None:
        cost = charge(entry.id)
        note = f"the {role} duration of {name!r} is unknown and {entry.title} documents no maximum; declare duration: on the input"
        return replace(cost, assumptions=(note,)), None, None
    high, low = priced(float(limit)), priced(1.0)
    note = (
        f"the {role} duration of {name!r} is unknown, so it is priced at the documented "
        f"maximum of {limit} s as an upper bound (declare duration: to narrow it)"
    )
    return replace(high, assumptions=(*high.assumptions, note)), low.usd, high.usd


# TTS jobs' costs by model and speech estimate, with the catalog entry they were priced from
# (a reloaded catalog prices anew). Costs are frozen, so jobs share them.
_SPOKEN: BoundedMemo[
    tuple[str, SpeechEstimate], tuple[ModelEntry, tuple[Cost, float | None, float | None]]
] = BoundedMemo(8192)
_LAST_MIDDLE: tuple[SpeechEstimate, float] | None = None  # output_duration's last estimate
# The last of them, found by identity (a hash of the estimate costs more than the rest).
_LAST_SPOKEN: tuple[ModelEntry, SpeechEstimate, tuple[Cost, float | None, float | None]] | None = (
    None
)


def _results(entry: ModelEntry, options: Mapping[str, Any]) -> int:
    """How many outputs the request asks for, each billed; 1 when the price has no such field."""
    field = entry.price.per_result if entry.price is not None else None
    value = options.get(field) if field else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def output_duration(params: Params, media: Mapping[str, MediaRef]) -> float | None:
    """How long a job's output video will be, as far as the plan can tell."""
    if isinstance(params, LipsyncParams):
        audio = media.get("audio")
        if audio is not None:
            return audio.duration
        if params.tts:
            global _LAST_MIDDLE
            speech = estimate_speech(str(params.tts.text), language=params.tts.language)
            if _LAST_MIDDLE is None or _LAST_MIDDLE[0] is not speech:
                _LAST_MIDDLE = (speech, speech.middle)  # jobs of one template estimate alike
            return _LAST_MIDDLE[1]
        return media["video"].duration
    seconds = params.duration
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return float(seconds)
    return float(ASSUMED_SECONDS)  # absent, or not a number: the request check says so


Priced = tuple[Cost, float | None, float | None, float | None]  # cost, low, high, output seconds


class Costs:
    """:func:`job_cost` and :func:`output_duration` of a plan's jobs, in plan order.

    A text-to-speech job without an audio input, on a model not billed by the text's bytes,
    is priced and timed from its entry, options and media and its text's speech estimate alone
    (:func:`job_cost` reads the text only through the estimate then, and so does
    :func:`output_duration`): a job whose four are the very objects of the previous one's (the
    jobs of one template share them: texts that estimate alike share an estimate) has its
    cost. Everything else is worked out anew."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: (
            tuple[ModelEntry, Mapping[str, Any], Mapping[str, MediaRef], SpeechEstimate, Priced]
            | None
        ) = None

    def of(
        self,
        entry: ModelEntry,
        media: Mapping[str, MediaRef],
        params: Params,
        options: Mapping[str, Any],
    ) -> Priced:
        price = entry.price
        if (
            type(params) is not LipsyncParams
            or params.tts is None
            or params.segments is not None
            or "audio" in media
            or (price is not None and price.tts_credits is not None and price.tts_per_utf8_bytes)
        ):
            return (*job_cost(entry, media, params, options), output_duration(params, media))
        tts = params.tts
        speech = estimate_speech(str(tts.text), language=tts.language)
        last = self._last
        if (
            last is not None
            and last[0] is entry
            and last[1] is options
            and last[2] is media
            and last[3] is speech
        ):
            return last[4]
        found = (*job_cost(entry, media, params, options), output_duration(params, media))
        self._last = (entry, options, media, speech, found)
        return found
