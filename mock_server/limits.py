"""The bounds of the mock's own settings, and the one check every numeric setting goes through.

A setting comes from Python, ``lipflow mock serve`` options, the admin API or an ``X-Mock-Fault``
header; JSON and floats admit NaN and infinities, which compare false with every bound and so
slip past ``x < 0`` checks, and a delay of 1e308 s cannot even be slept. Each setting is checked
here against a finite range and refused with a message naming it.
"""

from __future__ import annotations

import math

from mock_server.errors import MockUsageError

__all__ = ["MAX_SECONDS", "bounded_int", "bounded_number"]

MAX_SECONDS = 3600.0  # the longest delay, job time or Retry-After the mock takes: one hour


def bounded_number(
    name: str, value: object, *, low: float, high: float, high_open: bool = False
) -> float:
    """``value`` as a float if it is a finite number in [low, high] (or [low, high)), else refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MockUsageError(f"{name} must be a number, got {value!r}")
    number = float(value)
    above = number >= high if high_open else number > high
    if not math.isfinite(number) or number < low or above:
        upper = f"below {high:g}" if high_open else f"at most {high:g}"
        raise MockUsageError(f"{name} must be a number from {low:g}, {upper}; got {value!r}")
    return number


def bounded_int(name: str, value: object, *, low: int, high: int) -> int:
    """``value`` if it is a whole number (not a bool) in [low, high], else refused."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MockUsageError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value
