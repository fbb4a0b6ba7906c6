"""How long text takes to say, before any speech exists: a low-high range by writing system.

A flat rate of characters per second is wrong by a factor of two across scripts: a Japanese or
Chinese character is about a syllable, a Latin letter a fraction of one. So each character is
counted by its script, each script has its own low and high rate, and the range is the sum.

Rates are characters per second of natural read speech, from syllable rates measured across
languages (Pellegrino, Coupé & Marsico, "A cross-language perspective on speech information
rate", Language 87(3), 2011, https://doi.org/10.1353/lan.2011.0057: about 5.2 syllables/s in
Mandarin, 6.2 in English, 7.0-7.8 in Italian, Spanish and Japanese) times the characters a
syllable takes in each script (lipflow's estimate, written beside each rate). They are
assumptions, and every plan that uses them says so.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache

from lipflow._memo import BoundedMemo

__all__ = ["RATES", "SpeechEstimate", "estimate_speech", "script_of"]


@dataclass(frozen=True, slots=True)
class Rate:
    low: float  # characters per second, a slow reader
    high: float  # characters per second, a fast reader
    why: str


# Alphabets count letters and the spaces between words (that is how these rates are measured).
RATES: dict[str, Rate] = {
    "Latin": Rate(
        12.0, 18.0, "6-8 syllables/s x ~2.3 letters+spaces per syllable (en, es, fr, de, it)"
    ),
    "Cyrillic": Rate(11.0, 17.0, "5.5-7.5 syllables/s x ~2.3 letters+spaces per syllable (ru, uk)"),
    "Greek": Rate(11.0, 17.0, "6-7.5 syllables/s x ~2.3 letters+spaces per syllable"),
    "Arabic": Rate(9.0, 14.0, "short vowels are not written: ~1.8 letters+spaces per syllable"),
    "Hebrew": Rate(9.0, 14.0, "short vowels are not written: ~1.8 letters+spaces per syllable"),
    "Devanagari": Rate(9.0, 14.0, "an akshara is ~1 syllable, written in ~1.8 code points"),
    "Thai": Rate(9.0, 14.0, "~1.8 code points per syllable (vowel and tone marks), no spaces"),
    "CJK": Rate(4.0, 6.5, "one Han character is one syllable; Mandarin 5.2 syllables/s"),
    "Kana": Rate(6.0, 9.0, "one kana is about one mora; Japanese 7.8 morae/s"),
    "Kanji": Rate(3.5, 5.5, "a kanji in Japanese is read as ~1.6 morae at 7.8 morae/s"),
    "Hangul": Rate(5.0, 7.5, "one Hangul block is one syllable"),
}
# A written number is said in words: about a third of a second per digit ("2024" = "two thousand
# twenty-four", 7 syllables), whatever the language. Rough, and said so.
DIGIT_SECONDS = (0.25, 0.45)
# A sentence or clause mark is a short pause.
PAUSE_SECONDS = (0.05, 0.25)
_PAUSES = frozenset(".,;:!?\u2026\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a")  # and CJK forms


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechEstimate:
    """The range a text's speech will likely last, and what it was counted as."""

    low: float
    high: float
    counts: tuple[tuple[str, int], ...]  # (script or "digits"/"pauses", how many)

    @property
    def middle(self) -> float:
        return round((self.low + self.high) / 2, 2)

    @property
    def basis(self) -> str:
        """How the range was reached, for a plan's assumptions."""
        parts = []
        for name, n in self.counts:
            if name in RATES:
                rate = RATES[name]
                parts.append(f"{n} {name} characters at {rate.low:g}-{rate.high:g}/s")
            elif name == "digits":
                parts.append(
                    f"{n} digits said as words ({DIGIT_SECONDS[0]:g}-{DIGIT_SECONDS[1]:g} s each)"
                )
            else:
                parts.append(f"{n} pause{'s' if n != 1 else ''}")
        what = ", ".join(parts) or "no speakable text"
        return f"speech estimated at {self.low:.1f}-{self.high:.1f} s from {what}"


_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x08A0, 0x08FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x1100, 0x11FF, "Hangul"),
    (0x3040, 0x30FF, "Kana"),
    (0x31F0, 0x31FF, "Kana"),
    (0x3130, 0x318F, "Hangul"),
    (0x3400, 0x4DBF, "CJK"),
    (0x4E00, 0x9FFF, "CJK"),
    (0xAC00, 0xD7AF, "Hangul"),
    (0xF900, 0xFAFF, "CJK"),
    (0xFB1D, 0xFB4F, "Hebrew"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0xFF66, 0xFF9F, "Kana"),
    (0x20000, 0x2FFFF, "CJK"),
)


_STARTS = [low for low, _, _ in sorted(_RANGES)]
_SORTED = sorted(_RANGES)


def script_of(char: str) -> str | None:
    """The writing system of one letter, as RATES names it (None: not a letter we time)."""
    code = ord(char)
    if code >= 0x0370:  # below it: Latin letters, digits and punctuation
        i = bisect.bisect_right(_STARTS, code) - 1
        if i >= 0 and code <= _SORTED[i][1]:
            return _SORTED[i][2]
    if char.isalpha():
        return "Latin"  # Latin, or another alphabet timed like it rather than not at all
    return None


_KINDS: dict[str, str | None] = {}


def _kind(char: str) -> str | None:
    """What one character counts as: "digits", "pauses", " " (a space), a script, or None."""
    found = _KINDS.get(char, "")
    if found == "":
        if char.isdigit():
            found = "digits"
        elif char in _PAUSES:
            found = "pauses"
        elif char.isspace():
            found = " "
        else:
            found = script_of(char)
        if len(_KINDS) < 65536:
            _KINDS[char] = found
    return found


# Each kind a character can count as, coded as one character, so str.translate and str.count
# (in C) count a text's kinds instead of a Python loop over its characters.
_CODE_OF: dict[str | None, str] = {
    name: chr(i) for i, name in enumerate((None, " ", "digits", "pauses", *RATES, "Kanji"))
}
_NAME_OF = {code: name for name, code in _CODE_OF.items()}


class _Codes(dict[int, str]):
    """Code point -> its kind's code, for str.translate; each character worked out once."""

    def __missing__(self, point: int) -> str:
        code = _CODE_OF[_kind(chr(point))]
        if len(self) < 65536:
            self[point] = code
        return code


_CODES = _Codes()


@lru_cache(maxsize=4096)  # a plan asks for each line's estimate several times (cost, fit, length)
def estimate_speech(text: str, *, language: str | None = None) -> SpeechEstimate:
    """The likely spoken length of ``text``; ``language`` (e.g. ``ja``) tells Han characters in
    Japanese (read as kanji, ~1.6 morae each) from Chinese ones."""
    # The text as one code per character's kind: the estimate depends on nothing else, and
    # texts made from one template code alike ("Line 12 in fr", "Line 47 in de").
    global _LAST
    last = _LAST
    if last is not None and last[0] is text and last[1] == language:
        return last[2]  # a planned job's cost and its output's length ask about one text
    coded = text.translate(_CODES)
    jp = (language or "").lower().split("-")[0] == "ja"
    found = _BY_CODES.get((coded, jp))
    if found is None:
        found = _BY_CODES.put((coded, jp), _estimate_codes(coded, jp))
    _LAST = (text, language, found)
    return found


_BY_CODES: BoundedMemo[tuple[str, bool], SpeechEstimate] = BoundedMemo(8192)
_LAST: tuple[str, str | None, SpeechEstimate] | None = None  # the last text, language, estimate


def _estimate_codes(coded: str, jp: bool) -> SpeechEstimate:
    """:func:`estimate_speech` of a coded text; ``jp``: its language is Japanese."""
    # Each kind once, in order of first appearance.
    counts: dict[str, int] = {}
    spaces = 0
    for code in dict.fromkeys(coded):
        name = _NAME_OF[code]
        if name == " ":
            spaces = coded.count(code)
        elif name is not None:
            counts[name] = coded.count(code)
    if "CJK" in counts and (
        "Kana" in counts or jp
    ):  # Han characters in Japanese are kanji, in the place the first of them came
        counts = {("Kanji" if name == "CJK" else name): n for name, n in counts.items()}
    alphabets = [n for n in counts if n in RATES and RATES[n].low >= 9]
    if alphabets and spaces:  # word spaces belong to the alphabet they separate
        main = max(alphabets, key=lambda n: counts[n])
        counts[main] += spaces
    low = high = 0.0
    for name, n in counts.items():
        if name in RATES:
            low += n / RATES[name].high
            high += n / RATES[name].low
        elif name == "digits":
            low += n * DIGIT_SECONDS[0]
            high += n * DIGIT_SECONDS[1]
        else:
            low += n * PAUSE_SECONDS[0]
            high += n * PAUSE_SECONDS[1]
    order = sorted(counts.items(), key=lambda item: -item[1])
    return SpeechEstimate(low=round(low, 2), high=round(high, 2), counts=tuple(order))
