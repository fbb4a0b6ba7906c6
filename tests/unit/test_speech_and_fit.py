"""How long a line takes to say, by its script, and whether it fits its slot."""

from __future__ import annotations

import pytest

from lipflow.lines import FitPolicy, estimate_speech, judge_fit
from lipflow.lines.speech import RATES


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Привет мир", "Cyrillic"),
        ("Καλημέρα κόσμε", "Greek"),
        ("مرحبا بالعالم", "Arabic"),
        ("שלום עולם", "Hebrew"),
        ("नमस्ते दुनिया", "Devanagari"),
        ("สวัสดีชาวโลก", "Thai"),
        ("你好世界", "CJK"),
        ("こんにちは", "Kana"),
        ("안녕하세요", "Hangul"),
        ("Hello world", "Latin"),
    ],
)
def test_each_script_is_timed_at_its_own_rates(text: str, script: str) -> None:
    speech = estimate_speech(text)
    (counted,) = [n for name, n in speech.counts if name == script]
    rate = RATES[script]
    assert speech.low == pytest.approx(counted / rate.high, abs=0.01)
    assert speech.high == pytest.approx(counted / rate.low, abs=0.01)
    assert f"{script} characters at {rate.low:g}-{rate.high:g}/s" in speech.basis


def test_han_characters_in_japanese_are_read_as_kanji() -> None:
    chinese = estimate_speech("東京", language="zh")
    japanese = estimate_speech("東京", language="ja")
    assert dict(chinese.counts) == {"CJK": 2}
    assert dict(japanese.counts) == {"Kanji": 2}
    assert japanese.high > chinese.high


def test_han_characters_are_read_by_their_texts_language_whatever_was_estimated_before() -> None:
    # Texts of one shape are estimated once; the language still decides how Han reads.
    for first, then in (("zh", "ja"), ("ja", "zh"), ("ja-JP", None)):
        assert estimate_speech("北京", language=first) == estimate_speech("東京", language=first)
        again = estimate_speech("大阪", language=then)
        expected = "Kanji" if (then or "").startswith("ja") else "CJK"
        assert dict(again.counts) == {expected: 2}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Line 12 in fr", "Mark 47 on de"),
        ("Привет, мир 3", "Добрый, дом 9"),
        ("こんにちは 東京", "さようなら 大阪"),
    ],
)
def test_texts_of_the_same_kinds_of_characters_in_the_same_order_estimate_alike(
    one: str, other: str
) -> None:
    assert estimate_speech(one) == estimate_speech(other)
    assert estimate_speech(one + "!") != estimate_speech(other + " and more")


def test_numbers_are_counted_as_spoken_words() -> None:
    bare = estimate_speech("in the year")
    dated = estimate_speech("in the year 2024")
    assert dict(dated.counts)["digits"] == 4
    assert dated.low - bare.low >= 4 * 0.25 - 0.1


@pytest.mark.parametrize(
    ("low", "high", "mode", "status", "note"),
    [
        (2.8, 3.4, None, "fits", "fits"),
        (4.0, 4.5, None, "misfit", "too long by 0.5 s"),
        (1.0, 1.5, None, "misfit", "too short by 1.0 s"),
        (4.0, 4.5, "remap", "handled", "syncMode remap"),
        (1.0, 1.5, "silence", "handled", "syncMode silence"),
        (4.0, 4.5, "silence", "misfit", "too long by 0.5 s"),
        (1.0, 1.5, "bounce", "misfit", "too short by 1.0 s"),
    ],
)
def test_a_line_fits_is_handled_by_a_mode_or_misses_by_so_much(
    low: float, high: float, mode: str | None, status: str, note: str
) -> None:
    verdict = judge_fit(3.0, low, high, FitPolicy(tolerance=0.5), sync_mode=mode)
    assert verdict.status == status
    assert note in verdict.label
