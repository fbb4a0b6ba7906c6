"""Prices: unit x quantity x rate from the catalog, rounding said, unpriced never $0."""

from __future__ import annotations

import pytest

from lipflow.pricing import charge


@pytest.mark.parametrize(
    ("model", "kwargs", "usd", "basis"),
    [
        ("runware/pixverse-lipsync", {"audio_seconds": 10}, 0.136, "10 s of audio x $0.0136/s"),
        ("runware/sync-lipsync-2", {"audio_seconds": 2.5}, 0.11, "2.5 s of audio x $0.044/s"),
        (
            "pixverse/lipsync",
            {"audio_seconds": 7.2},
            0.32,
            "8 s of audio x 4 credits/s = 32 credits",
        ),
        (
            "wavespeed/pixverse-lipsync",
            {"video_seconds": 11},
            0.45,
            "3 blocks of 5 s of video x $0.15/block",
        ),
        (
            "pixverse/lipsync",
            {"tts_text": "a" * 16},
            0.08,
            "16 UTF-8 bytes of script = 2 x 15-byte blocks",
        ),
    ],
    ids=[
        "runware-pixverse",
        "runware-sync",
        "pixverse-credits",
        "wavespeed-blocks",
        "pixverse-tts-bytes",
    ],
)
def test_documented_prices(model: str, kwargs: dict[str, object], usd: float, basis: str) -> None:
    cost = charge(model, **kwargs)  # type: ignore[arg-type]
    assert cost.usd == pytest.approx(usd)
    assert basis in cost.basis
    assert cost.source is not None and cost.source.startswith("https://")
    # A read date, or the plan says why the price could not be confirmed.
    assert cost.as_of or any("not confirmed" in a for a in cost.assumptions)


@pytest.mark.parametrize(
    ("model", "kwargs", "page"),
    [
        (
            "runware/pixverse-lipsync",
            {"audio_seconds": 1},
            "https://runware.ai/docs/models/pixverse-lipsync",
        ),
        (
            "runware/sync-lipsync-2",
            {"audio_seconds": 1},
            "https://runware.ai/docs/models/sync-lipsync-2",
        ),
        (
            "pixverse/lipsync",
            {"audio_seconds": 1},
            "https://docs.platform.pixverse.ai/model-pricing-796039m0",
        ),
    ],
    ids=["runware-pixverse", "runware-sync", "pixverse"],
)
def test_a_confirmed_price_cites_its_pricing_page_and_the_day_it_was_read(
    model: str, kwargs: dict[str, float], page: str
) -> None:
    cost = charge(model, **kwargs)  # type: ignore[arg-type]
    assert cost.source == page
    assert cost.as_of == "2026-11-23"  # read then, not the model's release date
    assert not any("not confirmed" in a for a in cost.assumptions)


def test_a_price_that_could_not_be_confirmed_says_so_and_gives_no_read_date() -> None:
    cost = charge("wavespeed/pixverse-lipsync", video_seconds=5)
    assert cost.source == "https://wavespeed.ai/docs/docs-api/pixverse/pixverse-lipsync#playground"
    assert cost.as_of is None
    assert any(a.startswith("price not confirmed:") for a in cost.assumptions)


def test_multibyte_text_is_billed_by_its_utf8_size() -> None:
    cost = charge("pixverse/lipsync", tts_text="春のコレクション")  # 8 characters, 24 bytes
    assert cost.credits == 8 and "24 UTF-8 bytes" in cost.basis


def test_rounding_is_stated_as_an_assumption() -> None:
    assert any(
        "billed whole" in a for a in charge("pixverse/lipsync", audio_seconds=7.2).assumptions
    )
    assert charge("pixverse/lipsync", audio_seconds=8).assumptions == ()


def test_a_model_without_a_documented_price_is_unpriced() -> None:
    cost = charge("runware/pixverse-v5")
    assert cost.usd is None and not cost.priced
    assert "no price" in cost.basis


def test_a_script_priced_per_second_costs_the_same_from_its_speech_estimate() -> None:
    from lipflow.lines.speech import estimate_speech

    for text, language in (("Hola, ¿qué tal? 2024", "es"), ("こんにちは世界", "ja")):
        by_text = charge("runware/pixverse-lipsync", tts_text=text, language=language)
        speech = estimate_speech(text, language=language)
        assert by_text.usd is not None and by_text.credits is None
        assert charge("runware/pixverse-lipsync", speech=speech) == by_text
