"""What older lipflows journaled, recognised: a job bought under an earlier key or id is the same
job, kept, never bought again.

Each time lipflow changed how it keys or names a job, a journal written before holds the same
job under what it was called then:

- a turned phone video was sent as stored, sideways, not upright
  (:func:`~lipflow.identity.key_before_videos_were_sent_upright`);
- a line's job was named by the line's number in its file, not its start
  (:func:`~lipflow.identity.numbered_line_job`), and before that its media was keyed by its
  range's name, not its file's bytes (:func:`~lipflow.identity.key_before_ranges_were_read`):
  every lipflow that keyed a line so named it by its number, so such a row is found under that
  name alone.

Taken for a changed job, such a row would be retired and the job bought again. The runner asks
:class:`OlderJournal` first: it renames what an older lipflow named otherwise, rekeys what it
keyed otherwise, and says which journaled uploads this run must not send again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lipflow.identity import (
    job_key,
    key_before_ranges_were_read,
    key_before_videos_were_sent_upright,
    numbered_line_job,
)
from lipflow.jobs import LINE, Job, PlannedLine
from lipflow.media import piece_range
from lipflow.run.downloads import file_name
from lipflow.run.journal import JobRecord, Journal, move_output

__all__ = ["OlderJournal"]


class OlderJournal:
    """The journal of the plan's out directory, read for the jobs an older lipflow journaled
    under another key or id. ``jobs`` are the plan's by id, ``lines`` its dubbed lines."""

    def __init__(
        self, jobs: Mapping[str, Job], lines: Sequence[PlannedLine], journal: Journal
    ) -> None:
        self._jobs = jobs
        self._lines = lines
        self._journal = journal
        self._sent_sideways: set[str] = set()  # jobs bought with a turned video sent as stored

    def rekeyed(self, job: Job, rec: JobRecord) -> bool:
        """Whether ``rec``, journaled under another key than ``job``'s, is ``job`` as an older
        lipflow keyed it (bought sideways); if so it is journaled under ``job``'s key now, kept
        as it is."""
        if self._bought_sideways(job, rec):
            self._journal.rekey(job.id, job.key)
            self._sent_sideways.add(job.id)
            return True
        return False

    def rename_numbered_lines(
        self, records: Mapping[str, JobRecord], names: Mapping[str, str]
    ) -> bool:
        """Rows a lipflow that named a subtitle line's job by the line's number in its file
        (``dub[line=3]``) journaled, for a line whose content is unchanged: renamed to the id
        the job has now (the line's start, ``dub[line=00:00:08.000]``), outputs beside it under
        the job's output name in ``names``, and keyed anew; not bought again. Whether any was."""
        if not self._lines:
            return False
        cues: dict[str, list[int]] = {}
        for line in self._lines:
            cues.setdefault(line.job, []).append(line.cue)
        renamed = False
        for job in self._jobs.values():
            numbers = cues.get(job.id, [])
            if job.id in records or not job.key or LINE not in job.matrix or len(numbers) != 1:
                continue
            old = numbered_line_job(job, numbers[0])
            rec = records.get(old.id)
            if rec is None or rec.key is None or old.id in self._jobs:
                continue
            if rec.key != job_key(old, self._upstream_keys(job)) and (
                not self._same_as_before_ranges_were_read(old, rec)
            ):
                continue  # another line now, or this one changed: kept as it is, not reused
            paths: dict[int, str] = {}
            for output in rec.outputs:
                if output.path:
                    name = file_name(names[job.id], output.idx, len(rec.outputs), output.url)
                    move_output(output, Path(output.path).with_name(name), paths)
            self._journal.rename(
                old.id, job.id, paths, "a line's job is named by its start, not its number"
            )
            self._journal.rekey(job.id, job.key)
            renamed = True
        return renamed

    def uploads_not_to_send(
        self, uploaded: Mapping[str, Mapping[str, Any]], out_dir: Path
    ) -> list[str]:
        """The jobs whose journaled uploads (``uploaded``, by job) this run must not send: a
        job bought sideways (its uploads are the sideways video: never sent again, for it or
        another job), and a piece job never sent whose uploads are of files this plan does not
        name (cut by an older lipflow, under another name, or deleted since): cut and uploaded
        anew, not submitted with what may be a piece cut wrongly."""
        stale = list(self._sent_sideways)
        for job_id, roles in uploaded.items():
            job = self._jobs.get(job_id)
            if job is None or job.piece is None or job_id in self._sent_sideways:
                continue
            if self._journal.first_sent_at(job_id) is not None:
                continue
            if any(
                not (out_dir / str(job.media[role].value)).exists()
                for role in roles
                if role in job.media
            ):
                stale.append(job_id)
        return stale

    def _same_as_before_ranges_were_read(self, job: Job, rec: JobRecord) -> bool:
        """Whether ``rec`` is ``job`` journaled by a lipflow that keyed a subtitle line's media
        by its range's name, not its file's bytes, with that file unchanged since the job was
        first sent: the same content, not to be bought again for a new key."""
        if rec.key != key_before_ranges_were_read(job, self._upstream_keys(job)):
            return False
        sent = self._journal.first_sent_at(job.id)
        if sent is None:
            return False
        for ref in job.media.values():
            if ref.origin == "file":
                path, _ = piece_range(str(ref.value))
                try:
                    if os.stat(path).st_mtime > sent:
                        return False  # changed since: the old key could not tell, the new does
                except OSError:
                    return False
        return True

    def _bought_sideways(self, job: Job, rec: JobRecord) -> bool:
        """Whether ``rec`` is ``job`` bought by a lipflow that sent its turned phone video as
        stored (sideways): the output paid for is kept, not bought again for the new key (a
        fresh take is the user's call: --retake). The old key holds the video's bytes, so a
        video replaced since is a new job."""
        old = key_before_videos_were_sent_upright(job, self._upstream_keys(job))
        return (
            old is not None and rec.key == old and self._journal.first_sent_at(job.id) is not None
        )

    def _upstream_keys(self, job: Job) -> dict[str, str]:
        """The keys of the plan's jobs ``job`` needs, by id: what its key is computed with."""
        return {need: self._jobs[need].key for need in job.needs if need in self._jobs}
