"""The budget while running, as arithmetic: reservations, reported costs, and when submits stop."""

from __future__ import annotations

import pytest

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
