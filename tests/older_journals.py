"""Out directories and output stores as an older lipflow left them: its journal and its store
holding each job under the key that lipflow computed, so a test can check an upgrade never
buys a job again."""

from __future__ import annotations

import json
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


def stored_under(store: Path, key: str, old: str) -> None:
    """The output store's entry for job key ``key`` moved to job key ``old``, as a lipflow that
    gave the job that key stored it."""
    (entry,) = store.glob(f"{key[:2]}/{key}-*")
    moved = store / old[:2] / (old + entry.name[len(key) :])
    moved.parent.mkdir(exist_ok=True)
    entry.rename(moved)
    meta = json.loads((moved / "entry.json").read_text(encoding="utf-8"))
    (moved / "entry.json").write_text(json.dumps({**meta, "key": moved.name}), encoding="utf-8")


def store_keys_as_before(
    recipe: Path, store: Path, old_key: Callable[[Job, Mapping[str, str]], str | None]
) -> None:
    """Each planned job's stored outputs moved to ``old_key``'s key, which must differ from
    today's."""
    from lipflow.plan import plan_file

    for planned in plan_file(str(recipe), env={}).jobs:
        old = old_key(planned.job, {})
        assert old is not None and old != planned.job.key
        stored_under(store, planned.job.key, old)
