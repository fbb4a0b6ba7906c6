"""Reading the mock's JSON replies in tests, typed for the checker."""

from __future__ import annotations

from typing import Any

import httpx


def as_json(response: httpx.Response) -> dict[str, Any]:
    """The reply's JSON object (a test that gets anything else fails on its own assertions)."""
    body: dict[str, Any] = response.json()
    return body
