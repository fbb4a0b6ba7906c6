"""Out directories as an older lipflow left them: its journal holding each job under the key
that lipflow computed, so a test can check an upgrade never buys a job again."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path

from lipflow.jobs import Job


def journal_keys_as_before(
    recipe: Path, out: Path, old_key: Callable[[Job, Mapping[str, str]], str | None]
) -> None:
    """Each planned job's journaled key set to ``old_key``'s, which must differ from today's."""
    from lipflow.plan import plan_file
    from lipflow.run.journal import JOURNAL_NAME

    plan = plan_file(str(recipe), env={})
    with closing(sqlite3.connect(out / JOURNAL_NAME)) as db, db:
        for planned in plan.jobs:
            old = old_key(planned.job, {})
            assert old is not None and old != planned.job.key
            db.execute("UPDATE jobs SET job_key = ? WHERE id = ?", (old, planned.job.id))
