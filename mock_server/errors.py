"""The mock's own errors: a fault rule or a setting it cannot take, said in one sentence.

They are not lipflow's errors: the mock is a separate tool. The admin API answers them with
HTTP 400; ``lipflow mock serve`` turns them into its usage error at the command line.
"""

from __future__ import annotations

__all__ = ["MockError", "MockUsageError"]


class MockError(Exception):
    """Base of every error the mock raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MockUsageError(MockError):
    """A fault rule, setting or server option the mock cannot take as given."""
