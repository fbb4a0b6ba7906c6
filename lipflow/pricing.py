"""What a job costs, and why: unit x quantity x rate, with the price's source and date.

Pure functions over the catalog's documented prices. A price the docs do not give is reported
as unpriced (``usd is None``), never as $0. The mock server charges its simulated jobs with the
same function, so a plan's estimate and a mock run's reported cost agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from lipflow._memo import BoundedMemo
from lipflow.catalog import Catalog, Price, load_catalog
from lipflow.jobs import Cost, dollars
from lipflow.lines.speech import SpeechEstimate, estimate_speech

__all__ = [
    "Cost",
    "charge",
    "estimate_tts_seconds",
    "segments_audio_seconds",
    "spoken_charge",
    "times",
]


def estimate_tts_seconds(text: str, *, language: str | None = None) -> float:
    """Spoken length of ``text`` before it exists: the middle of its range by script
    (:func:`lipflow.lines.speech.estimate_speech`)."""
    return estimate_speech(text, language=language).middle


def spoken_charge(model_id: str, text: str, *, results: int = 1) -> tuple[SpeechEstimate, Cost]:
    """The estimated spoken length of ``text`` and the cost of a TTS job of ``model_id`` saying
    it: :func:`charge` with ``tts_text=text``, the text estimated once and priced by that
    estimate (texts that estimate alike cost alike, one memo entry), or by the text itself
    where the price is per UTF-8 byte of script."""
    speech = estimate_speech(text)
    price = load_catalog().model(model_id).price
    by_bytes = price is not None and price.tts_credits is not None and price.tts_per_utf8_bytes
    return speech, charge(
        model_id, tts_text=text if by_bytes else None, speech=speech, results=results
    )


def segments_audio_seconds(
    spans: Iterable[tuple[float, float, float | None, float | None]],
) -> float:
    """Seconds a segmented lip sync is billed for: the sum of its segments' video ranges.

    One basis for the plan, the run report and the mock (README "Billing basis"). Runware bills
    sync. lipsync-2 per second of audio (https://runware.ai/docs/models/sync-lipsync-2#pricing),
    and a segment's audio drives exactly its video range: ``syncMode`` cuts, loops or pads audio
    of another length to fit it
    (https://runware.ai/docs/models/sync-lipsync-2#request-providersettings-sync-syncmode), and
    sync. counts usage by output frames (https://sync.so/docs/product/billing). So neither the
    audio file's length nor the ``audio_start``/``audio_end`` slice changes the billed seconds.

    Each span is (start, end, audio_start, audio_end); the audio times are accepted, not priced.
    """
    total = 0.0
    for start, end, _audio_start, _audio_end in spans:
        total += max(0.0, float(end) - float(start))
    return round(total, 3)


def _units(seconds: float, price: Price) -> tuple[float, str | None]:
    """Billable units of ``price.per_seconds`` in ``seconds``, with the rounding assumption said."""
    raw = seconds / price.per_seconds
    if price.rounding == "up":
        units = float(math.ceil(raw - 1e-9))
        if units != raw:
            return units, f"partial units are billed whole ({raw:.2f} -> {units:.0f})"
    return raw, None


def charge(
    model_id: str,
    *,
    audio_seconds: float | None = None,
    video_seconds: float | None = None,
    tts_text: str | None = None,
    results: int = 1,
    language: str | None = None,
    speech: SpeechEstimate | None = None,
) -> Cost:
    """The documented cost of one job of ``model_id`` (a catalog id like ``runware/pixverse-lipsync``).

    Lip-sync prices are per second of audio (or of video for WaveSpeed). With TTS and no audio
    duration, the audio's length is estimated from the text and the assumption is recorded.
    ``results`` is how many outputs the job asks for (Runware ``numberResults``): each is billed.
    ``speech``, the text's estimate already made, stands for ``tts_text`` where a price is per
    second: texts that estimate alike cost alike, so a 10,000-line plan prices each length once.
    """
    catalog = load_catalog()
    if _CHARGED[0] is not catalog:
        _CHARGED[:] = [catalog, BoundedMemo(8192)]
    known: BoundedMemo[tuple[object, ...], Cost] = _CHARGED[1]
    key = (model_id, audio_seconds, video_seconds, tts_text, results, language, speech)
    found = known.get(key)
    if found is None:
        found = known.put(
            key,
            _charge(
                catalog,
                model_id,
                audio_seconds=audio_seconds,
                video_seconds=video_seconds,
                tts_text=tts_text,
                results=results,
                language=language,
                speech=speech,
            ),
        )
    return found


# The costs already worked out for the current catalog: a plan prices each job three times (its
# cost and its low-high range), and jobs of the same length cost the same. Costs are frozen.
_CHARGED: list[Any] = [None, BoundedMemo(8192)]


def _charge(
    catalog: Catalog,
    model_id: str,
    *,
    audio_seconds: float | None,
    video_seconds: float | None,
    tts_text: str | None,
    results: int,
    language: str | None,
    speech: SpeechEstimate | None = None,
) -> Cost:
    entry = catalog.model(model_id)
    price = entry.price
    if price is None:
        return Cost(usd=None, basis=f"{entry.title}: the provider's docs give no price")
    if results != 1:
        one = charge(
            model_id,
            audio_seconds=audio_seconds,
            video_seconds=video_seconds,
            tts_text=tts_text,
            language=language,
            speech=speech,
        )
        return times(one, results, price)
    if tts_text is not None and price.tts_credits is not None and price.tts_per_utf8_bytes:
        return _tts_credits_cost(price, tts_text)

    # A price the current page could not confirm is said in every plan that uses it.
    assumptions = [f"price not confirmed: {price.unconfirmed}"] if price.unconfirmed else []
    seconds = audio_seconds if price.of == "audio" else video_seconds
    if seconds is None and price.of == "audio" and (speech or tts_text) is not None:
        if speech is None:
            speech = estimate_speech(str(tts_text), language=language)
        seconds = speech.middle
        assumptions.append(f"{speech.basis}; priced at the middle, {seconds:g} s")
    if seconds is None:
        return Cost(
            usd=None,
            basis=f"{entry.title}: priced per second of {price.of}, whose duration is unknown",
            source=price.source,
            as_of=price.as_of,
        )
    units, rounding = _units(seconds, price)
    if rounding:
        assumptions.append(rounding)
    if price.per_seconds == 1:
        quantity, unit_name = f"{units:g} s of {price.of}", "s"
    else:
        quantity, unit_name = f"{units:g} blocks of {price.per_seconds:g} s of {price.of}", "block"
    if price.credits is not None:
        credits = math.ceil(units * price.credits - 1e-9)
        basis = f"{quantity} x {price.credits} credits/{unit_name} = {credits} credits"
        return _in_credits(price, credits, basis, tuple(assumptions))
    assert price.usd is not None  # a catalog price has usd or credits
    usd = units * price.usd
    basis = f"{quantity} x ${price.usd:g}/{unit_name} = {dollars(usd)}"
    return Cost(
        usd=usd, basis=basis, source=price.source, as_of=price.as_of, assumptions=tuple(assumptions)
    )


def times(one: Cost, results: int, price: Price) -> Cost:
    """``results`` outputs of one job: each is generated, so each is billed (the catalog's
    ``per_result`` field names the request field and cites the page that says so)."""
    if one.usd is None:
        return one
    credits = None if one.credits is None else one.credits * results
    usd = one.usd * results
    field = price.per_result or "results"
    return Cost(
        usd=usd,
        credits=credits,
        basis=f"({one.basis}) x {results} results ({field}) = {dollars(usd)}",
        source=one.source,
        as_of=one.as_of,
        assumptions=one.assumptions,
    )


def _tts_credits_cost(price: Price, text: str) -> Cost:
    """PixVerse bills TTS lip sync by the script's UTF-8 bytes, not by seconds (D-PVPRICE)."""
    assert price.tts_credits is not None and price.tts_per_utf8_bytes is not None
    size = len(text.encode("utf-8"))
    blocks = math.ceil(size / price.tts_per_utf8_bytes)
    credits = blocks * price.tts_credits
    basis = (
        f"{size} UTF-8 bytes of script = {blocks} x {price.tts_per_utf8_bytes}-byte blocks"
        f" x {price.tts_credits} credits = {credits} credits"
    )
    assumptions = (
        (f"partial blocks are billed whole ({size / price.tts_per_utf8_bytes:.2f} -> {blocks})",)
        if size % price.tts_per_utf8_bytes
        else ()
    )
    return _in_credits(price, credits, basis, assumptions)


def _in_credits(price: Price, credits: int, basis: str, assumptions: tuple[str, ...]) -> Cost:
    """A cost billed in credits, converted to USD at the documented credit value."""
    usd = credits * price.usd_per_credit if price.usd_per_credit else None
    if usd is not None:
        basis += f" x ${price.usd_per_credit:g}/credit = {dollars(usd)}"
    return Cost(
        usd=usd,
        credits=credits,
        basis=basis,
        source=price.source,
        as_of=price.as_of,
        assumptions=assumptions,
    )
