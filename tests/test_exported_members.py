"""lipflow's public surface is what __all__ lists, sorted, and every name in it resolves."""

from __future__ import annotations

import lipflow


def test_all_is_sorted_and_complete() -> None:
    assert lipflow.__all__ == sorted(lipflow.__all__)
    for name in lipflow.__all__:
        assert getattr(lipflow, name) is not None, name


def test_every_error_derives_from_one_base() -> None:
    errors = [
        getattr(lipflow, n)
        for n in lipflow.__all__
        if n.endswith(
            (
                "Error",
                "Exceeded",
                "Invalid",
                "Failed",
                "Interrupted",
                "Rejected",
                "Capacity",
                "Unavailable",
                "Ambiguous",
            )
        )
    ]
    assert errors and all(issubclass(e, lipflow.LipflowError) for e in errors)
    assert all(isinstance(e.exit_code, int) for e in errors)
