"""A file found where an output is about to be written, that is not the one lipflow wrote there
(edited, re-encoded or replaced since): moved aside, never overwritten. The user's work is kept
under a name that says what it is and when it was found."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

from lipflow.run.downloads import disk_error

__all__ = ["set_aside"]


def set_aside(path: Path, *, now: float | None = None) -> Path | None:
    """Rename the file at ``path`` to ``<stem>.edited-<UTC time><ext>`` (``-2``, ``-3``... when
    that name is taken) so the output can be written in its place; its new path, or None when
    there is no file there (missing: nothing to keep). A rename the disk refuses is a
    :class:`~lipflow.errors.DiskError`: the output is then not written over the file."""
    if not path.is_file():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    for n in itertools.count(1):
        aside = path.with_name(
            f"{path.stem}.edited-{stamp}{'' if n == 1 else f'-{n}'}{path.suffix}"
        )
        if aside.exists():
            continue
        try:
            os.rename(path, aside)
        except OSError as exc:
            what = f"{path.name} aside (it was changed since it was saved)"
            raise disk_error(exc, path, what) from None
        return aside
    raise AssertionError("unreachable: itertools.count never ends")
