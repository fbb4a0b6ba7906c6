"""A job's state in a run, and the one table of which state may follow which.

The runner changes states and the journal records them; both read :data:`TRANSITIONS`, and the
journal refuses a change the table does not allow. The rules the table exists for:

- a submit is journaled as intent (``submitting``) before it is sent, so nothing reaches
  ``submitted`` from ``pending``, ``failed`` or ``blocked`` without passing through
  ``submitting``; outputs are journaled (``downloading``) before any is saved, so only
  ``downloading`` leads to ``done``;
- a job that reached the provider (``submitted``, ``downloading``, ``done``) is paid for. It only
  becomes resubmittable (``failed``) when the provider itself reports that job failed or was
  moderated (:data:`PROVIDER_VERDICTS`); a poll error of any kind leaves it ``submitted``;
- an ``ambiguous`` submit is never sent again blindly: it becomes ``submitted`` when the provider
  is found to have it, ``pending`` when the provider says it has no such task, and
  ``submitting`` only when the user asks for it (``--resubmit-ambiguous``).

Two explicit paths lie outside the table, each named by its error class: a ``--mock`` run's
jobs go back to ``pending`` when the mock that held them is gone (:data:`MOCK_GONE`: a mock's
jobs end with its process and cost nothing), and a job whose outputs the provider no longer
serves, and which the provider itself says failed, fails (:data:`OUTPUT_LOST`; bought again
only with ``--retake-lost``), and such a job goes back to ``downloading`` when a later run fetches
its outputs again before anything is bought (:data:`OUTPUT_REFUSED`, the error class of a job
whose output URL is refused while the provider does not say the job failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

__all__ = [
    "AT_PROVIDER",
    "MOCK_GONE",
    "OUTPUT_LOST",
    "OUTPUT_REFUSED",
    "PROVIDER_VERDICTS",
    "RUNNING",
    "SENT",
    "TRANSITIONS",
    "InvalidTransition",
    "JobState",
    "StateTally",
    "check_transition",
]


class JobState(str, Enum):
    PENDING = "pending"  # nothing sent
    SUBMITTING = "submitting"  # intent written; the submit may be out
    SUBMITTED = "submitted"  # the provider has the job
    DOWNLOADING = "downloading"  # done at the provider; outputs known
    DONE = "done"  # every output on disk
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"  # a submit whose fate is unknown; never re-sent blindly
    BLOCKED = "blocked"  # an upstream job did not finish

    def __str__(self) -> str:  # f-strings and reports show the value, on every Python
        return str(self.value)


S = JobState
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    # A cached result (the same job paid for in another out directory) goes straight to its files.
    S.PENDING: frozenset({S.PENDING, S.SUBMITTING, S.FAILED, S.BLOCKED, S.DOWNLOADING}),
    # Not sent (interrupted, connection refused), refused (nothing created), sent, or unknown.
    S.SUBMITTING: frozenset({S.PENDING, S.SUBMITTING, S.FAILED, S.SUBMITTED, S.AMBIGUOUS}),
    # FAILED only on the provider's verdict about this job: check_transition asks for it.
    S.SUBMITTED: frozenset({S.SUBMITTED, S.DOWNLOADING, S.FAILED}),
    S.DOWNLOADING: frozenset({S.DOWNLOADING, S.DONE}),
    S.DONE: frozenset({S.DOWNLOADING, S.DONE}),
    S.FAILED: frozenset({S.PENDING, S.SUBMITTING, S.FAILED, S.BLOCKED}),
    S.AMBIGUOUS: frozenset({S.AMBIGUOUS, S.SUBMITTED, S.PENDING, S.SUBMITTING}),
    S.BLOCKED: frozenset({S.PENDING, S.SUBMITTING, S.FAILED, S.BLOCKED}),
}
RUNNING = frozenset({S.SUBMITTING, S.SUBMITTED, S.DOWNLOADING})
AT_PROVIDER = frozenset({S.SUBMITTED, S.DOWNLOADING, S.DONE})
# The submit may have reached the provider: what a resume asks the provider about, never resends.
SENT = frozenset({S.SUBMITTING, S.SUBMITTED, S.AMBIGUOUS, S.DOWNLOADING, S.DONE})
# The error classes that are the provider's own word that a job it had ended without a result.
PROVIDER_VERDICTS = frozenset({"moderation", "generation"})
MOCK_GONE = "mock_gone"
OUTPUT_LOST = "output_lost"
OUTPUT_REFUSED = "output_refused"
_EXPLICIT: Mapping[str, tuple[frozenset[JobState], JobState]] = {
    MOCK_GONE: (frozenset({S.SUBMITTING, S.SUBMITTED, S.AMBIGUOUS, S.DOWNLOADING}), S.PENDING),
    OUTPUT_LOST: (frozenset({S.SUBMITTED, S.DOWNLOADING, S.DONE}), S.FAILED),
    OUTPUT_REFUSED: (frozenset({S.FAILED}), S.DOWNLOADING),
}


class InvalidTransition(RuntimeError):
    """A state change the table does not allow: a bug in the runner, refused by the journal."""


def check_transition(
    old: JobState | str, new: JobState | str, *, error_class: str | None = None
) -> None:
    """Refuse a change the table forbids, and a job at the provider failing without its verdict."""
    old, new = JobState(old), JobState(new)
    explicit = _EXPLICIT.get(error_class or "")
    if explicit is not None and old in explicit[0] and new == explicit[1]:
        return
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"a job cannot go from {old} to {new}")
    if old in AT_PROVIDER and new == S.FAILED and error_class not in PROVIDER_VERDICTS:
        raise InvalidTransition(
            f"a job at the provider only fails on the provider's word, not on {error_class!r}"
        )


class StateTally:
    """Each job's state and how many jobs are in each, kept as states change.

    A progress display asks for the counts on every state change; recounting all jobs each time
    made a run quadratic in its jobs (50 s of display at 10,000 jobs). Here a change costs O(1).
    """

    def __init__(self) -> None:
        self._of: dict[str, JobState] = {}
        self._counts: dict[JobState, int] = dict.fromkeys(JobState, 0)

    def set(self, job_id: str, state: JobState) -> None:
        old = self._of.get(job_id)
        if old is not None:
            self._counts[old] -= 1
        self._of[job_id] = state
        self._counts[state] += 1

    def get(self, job_id: str) -> JobState | None:
        return self._of.get(job_id)

    def count(self, *states: JobState) -> int:
        return sum(self._counts[s] for s in states)
