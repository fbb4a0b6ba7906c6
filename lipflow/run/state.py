"""A job's state in a run, and the one table of which state may follow which.

The runner changes states and the journal records them; both read :data:`TRANSITIONS`, and the
journal refuses a change the table does not allow. The rule the table exists for: a submit is
journaled as intent (``submitting``) before it is sent, so nothing reaches ``submitted`` from
``pending``, ``failed`` or ``blocked`` without passing through ``submitting``; outputs are
journaled (``downloading``) before any is saved, so only ``downloading`` leads to ``done``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

__all__ = [
    "RUNNING",
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
_ANY_UNSENT = frozenset({S.PENDING, S.SUBMITTING, S.FAILED, S.BLOCKED})
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    S.PENDING: _ANY_UNSENT,
    S.SUBMITTING: _ANY_UNSENT | {S.SUBMITTED, S.AMBIGUOUS},
    S.SUBMITTED: _ANY_UNSENT | {S.SUBMITTED, S.DOWNLOADING},
    S.DOWNLOADING: _ANY_UNSENT | {S.DOWNLOADING, S.DONE},
    S.DONE: _ANY_UNSENT | {S.DOWNLOADING, S.DONE},
    S.FAILED: _ANY_UNSENT,
    # A deduplicated resend resolves an ambiguous submit to submitted without a new intent.
    S.AMBIGUOUS: _ANY_UNSENT | {S.SUBMITTED, S.AMBIGUOUS},
    S.BLOCKED: _ANY_UNSENT,
}
RUNNING = frozenset({S.SUBMITTING, S.SUBMITTED, S.DOWNLOADING})


class InvalidTransition(RuntimeError):
    """A state change the table does not allow: a bug in the runner, refused by the journal."""


def check_transition(old: JobState | str, new: JobState | str) -> None:
    if JobState(new) not in TRANSITIONS[JobState(old)]:
        raise InvalidTransition(f"a job cannot go from {old} to {new}")


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
