"""The mock checks what it receives with the same schemas ``lipflow check-request`` uses.

A thin bridge to :mod:`lipflow.schemas` that keeps only errors (warnings do not make a provider
refuse a request) and words each problem the way the provider modules put it in their replies.
lipflow's own errors stop here: what the mock raises is a :class:`~mock_server.errors.MockError`.
"""

from __future__ import annotations

from typing import Any

from lipflow import schemas  # its names load on first use: importing this module costs nothing
from lipflow.errors import LipflowError
from lipflow.problems import Problem
from mock_server.errors import MockError

__all__ = ["describe", "parameter", "request_problems"]


def request_problems(
    provider: str, body: Any, *, endpoint: str | None = None, method: str = "POST"
) -> list[Problem]:
    try:
        problems = schemas.check_request(provider, body, endpoint=endpoint, method=method)
    except LipflowError as exc:  # an endpoint the schemas do not know: the mock's own error
        raise MockError(f"{provider} {method} {endpoint}: {exc}") from exc
    return [p for p in problems if p.is_error]


def describe(problem: Problem) -> str:
    """One sentence naming the field, what is wrong, and the nearest valid value if any."""
    where = parameter(problem)
    text = f"{where}: {problem.message}" if where else problem.message
    if problem.suggestion:
        text += f"; did you mean {problem.suggestion!r}?"
    return text


def parameter(problem: Problem) -> str:
    """The field's path as the providers name parameters: ``speech.voice``, ``inputs.video``."""
    out = ""
    for part in problem.path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
