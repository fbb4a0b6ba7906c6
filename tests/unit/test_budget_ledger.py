"""The budget while running, as arithmetic: reservations, reported costs, and when submits stop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lipflow.run.budget import Ledger


def test_a_submit_is_refused_when_spent_plus_reserved_would_pass_the_budget() -> None:
    ledger = Ledger(1.0)
    assert ledger.reserve("a", 0.4) is None
    assert ledger.reserve("b", 0.4) is None

    refused = ledger.reserve("c", 0.4)

    assert refused is not None and "would pass the budget of $1.00" in refused
    assert ledger.reserved == pytest.approx(0.8) and not ledger.holds("c")


def test_a_reported_cost_replaces_the_reservation() -> None:
    ledger = Ledger(1.0)
    ledger.reserve("a", 0.4)
    ledger.reserve("b", 0.4)

    ledger.settle("a", 0.1)  # the provider reported less than the maximum

    assert ledger.spent == pytest.approx(0.1) and ledger.reserved == pytest.approx(0.4)
    assert ledger.reserve("c", 0.4) is None


def test_nothing_is_submitted_once_spending_reaches_the_budget() -> None:
    ledger = Ledger(0.5)
    ledger.reserve("a", 0.1)
    ledger.settle("a", 0.5)  # reported five times the estimate

    refused = ledger.reserve("free", 0.0)

    assert refused is not None and "has reached the budget of $0.50" in refused


def test_a_job_that_never_reached_the_provider_gives_its_reservation_back() -> None:
    ledger = Ledger(0.5)
    ledger.reserve("a", 0.5)
    assert ledger.reserve("b", 0.1) is not None

    ledger.release("a")

    assert ledger.reserve("b", 0.1) is None


def test_a_job_found_at_the_provider_is_held_whatever_the_budget() -> None:
    ledger = Ledger(0.1)
    ledger.hold("already-submitted", 0.3)
    assert ledger.holds("already-submitted") and ledger.reserved == pytest.approx(0.3)
    assert ledger.reserve("new", 0.01) is not None


def test_without_a_budget_every_submit_is_allowed_and_still_counted() -> None:
    ledger = Ledger(None)
    assert ledger.reserve("a", 100.0) is None
    ledger.settle("a", 99.0)
    assert ledger.spent == pytest.approx(99.0) and ledger.reserved == 0


def test_reserving_again_for_the_same_job_replaces_its_reservation() -> None:
    ledger = Ledger(1.0)
    ledger.reserve("a", 0.6)
    ledger.hold("a", 0.2)  # found at the provider on resume, at a smaller estimate

    assert ledger.reserved == pytest.approx(0.2)
    assert ledger.reserve("b", 0.8) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["reserve", "hold", "settle", "release"]),
            st.sampled_from(["a", "b", "c", "d"]),
            st.floats(min_value=0, max_value=5, allow_nan=False),
        ),
        max_size=60,
    )
)
def test_what_is_reserved_is_always_the_sum_of_the_jobs_held(
    operations: list[tuple[str, str, float]],
) -> None:
    ledger = Ledger(10.0)
    held: dict[str, float] = {}
    for operation, job, amount in operations:
        if operation == "reserve" and ledger.reserve(job, amount) is None:
            held[job] = amount
        elif operation == "hold":
            ledger.hold(job, amount)
            held[job] = amount
        elif operation in ("settle", "release"):
            getattr(ledger, operation)(job, *([amount] if operation == "settle" else []))
            held.pop(job, None)
        assert ledger.reserved == pytest.approx(sum(held.values()), abs=1e-9)
        assert all(ledger.holds(job) for job in held)
