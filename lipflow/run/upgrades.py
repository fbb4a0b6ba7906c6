"""What older lipflows journaled or stored, recognised: a job bought under an earlier key or id
is the same job, kept, never bought again.

Each time lipflow changed how it keys or names a job, a journal written before, and the output
store (shared by every out directory), hold the same job under what it was called then:

- a turned phone video was sent as stored, sideways, not upright
  (:func:`~lipflow.identity.key_before_videos_were_sent_upright`), and before that one cut in
  pieces was read as stored (its stored size, no turn) and each piece cut sideways: another
  size and method, or another cut on a keyframe
  (:func:`~lipflow.identity.key_before_turned_videos_were_cut_upright`);
- a line's job was named by the line's number in its file, not its start
  (:func:`~lipflow.identity.numbered_line_job`), and before that its media was keyed by its
  range's name, not its file's bytes (:func:`~lipflow.identity.key_before_ranges_were_read`):
  every lipflow that keyed a line so named it by its number, so such a row is found under that
  name alone; a line whose number has changed since (a cue inserted or deleted before it) is
  found in the store by what it says, through the note of its request that lipflow kept
  beside its output (:meth:`EarlierKeys.renumbered`);
- a piece of a video driven by its own sound that leads the picture was cut where that sound,
  counted from its first sample, not the first frame, paused: tens of ms from today's cut
  (:func:`~lipflow.identity.key_before_sound_was_counted_from_first_frame`), and before that
  a piece of a video whose first frame is not at 0 was planned on its keyframes' raw
  timestamps: another method, or another cut on a keyframe
  (:func:`~lipflow.identity.key_before_keyframes_were_counted_from_first_frame`);
- a job chained on one of these (its input that job's output) was keyed with that job's key
  then, and named by its line's number as that job was.

:class:`EarlierKeys` says, for a job of the plan, each id and key it had then. Taken for a
changed job, such a row would be retired and the job bought again, and a stored output under
such a key would be missed in another out directory. The runner asks :class:`OlderJournal`
first: it renames what an older lipflow named otherwise, rekeys what it keyed otherwise, and
says which journaled uploads this run must not send again; and it looks a job up in the store
under its earlier keys too.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from lipflow.errors import InputError
from lipflow.identity import (
    RAW_TIMESTAMPS,
    SOUND_FROM_FIRST_SAMPLE,
    content_key,
    job_doc,
    job_key,
    key_before_keyframes_were_counted_from_first_frame,
    key_before_ranges_were_read,
    key_before_sound_was_counted_from_first_frame,
    key_before_turned_videos_were_cut_upright,
    key_before_videos_were_sent_upright,
    numbered_line_job,
    older_piece_digests,
)
from lipflow.jobs import LINE, Job, PlannedLine, format_job_id
from lipflow.longmedia.keyframes import first_times
from lipflow.media import piece_range, turn_to_send
from lipflow.run.cache import CachedOutput, OutputStore, store_key
from lipflow.run.downloads import file_name
from lipflow.run.journal import JobRecord, Journal, move_output

__all__ = [
    "EarlierKey",
    "EarlierKeys",
    "OlderJournal",
    "bought_otherwise",
    "stored",
    "unchanged_since",
]


class _Era(Enum):
    """How an older lipflow named and keyed jobs, each until the change that ended it."""

    SIDEWAYS = "a turned phone video sent as stored"
    RANGES_BY_NAME = "a line named by its number, its media keyed by its range's name"
    NUMBERED = "a line named by its number"
    SOUND_FROM_FIRST_SAMPLE = "a video's own sound counted from its first sample"
    KEYFRAMES_ON_RAW_TIMESTAMPS = "a video's keyframe times read from its raw timestamps"
    PIECES_SIDEWAYS = "a turned phone video read as stored and its pieces cut sideways"


@dataclass(frozen=True, slots=True)
class EarlierKey:
    """A job of this plan as an older lipflow named and keyed it: ``id`` and ``key``. ``unread``
    are the files whose bytes that key did not hold (a range's name stood for them): the job is
    the same only if they are unchanged since it was bought. ``sideways``: its turned video was
    sent as stored; ``cut_elsewhere``: a piece an older lipflow cut otherwise, at (start, end)
    (the range it has now, if its method alone differed), and what that lipflow did otherwise
    (:data:`~lipflow.identity.SOUND_FROM_FIRST_SAMPLE`,
    :data:`~lipflow.identity.RAW_TIMESTAMPS`)."""

    id: str
    key: str
    sideways: bool = False
    unread: tuple[str, ...] = ()
    cut_elsewhere: tuple[float, float, str] | None = None


class EarlierKeys:
    """The ids and keys older lipflows gave the plan's jobs (``jobs`` by id, ``lines`` its
    dubbed lines): one list that the out directory's journal (:class:`OlderJournal`) and the
    output store shared by every out directory are both read with, so a job bought under
    either is found. A job chained on another (its input that job's output) had a key made
    with its upstream's key then, and a line's chained job was numbered as its line was.

    Keys are computed only for a job asked about (and the jobs it needs). ``recipe``: the
    recipe's name, under which the store noted each job's request (:meth:`renumbered`)."""

    def __init__(
        self, jobs: Mapping[str, Job], lines: Sequence[PlannedLine], *, recipe: str = ""
    ) -> None:
        self._jobs = jobs
        self._recipe = recipe
        numbers: dict[str, list[int]] = {}
        for line in lines:
            numbers.setdefault(line.job, []).append(line.cue)
        # A job dubbing one line, by id: that line's number (a segmented job holds many).
        self._cues = {job: cues[0] for job, cues in numbers.items() if len(cues) == 1}
        # The numbers looked up in the store's notes: a cue file edited since had about as many
        # cues then as now (each number costs a hash, per step and matrix cell).
        self._numbers_then = min(
            _MOST_NUMBERS_THEN, 2 * max(self._cues.values(), default=0) + _MORE_CUES_THEN
        )
        # Upstreams' answers, kept: each is asked once per job needing it. Others' are not (at
        # 100,000 jobs a kept answer per job and era held far more than the plan's jobs).
        self._as_then: dict[tuple[_Era, str], EarlierKey] = {}
        self._upstreams: set[str] | None = None
        self._turns: dict[str, bool] = {}  # local video -> whether it is sent turned
        self._last_takes: dict[str, int] = {}  # step -> the take: found last
        # The store's notes of a step's numbered lines, by the text around the number in their
        # ids: (number, key) by the request's parameters (:meth:`renumbered`).
        self._notes: dict[tuple[str, str], dict[str, list[tuple[int, str]]]] = {}

    def of(self, job: Job) -> list[EarlierKey]:
        """Each id and key an older lipflow gave ``job`` that differs from its own now."""
        if not job.key or not self._may_differ(job):
            return []
        take = self._take(job)
        if take is None:
            return []
        found: list[EarlierKey] = []
        for era in _Era:
            then = self._as_in(era, job, take)
            if (then.id, then.key) != (job.id, job.key) and then not in found:
                found.append(then)
        return found

    def _may_differ(self, job: Job) -> bool:
        """Whether an older lipflow may have keyed ``job`` otherwise, found without computing
        a key (most jobs of a large plan: no line, no piece cut elsewhere, no turned video, and
        no job it needs that an older lipflow keyed otherwise)."""
        if self._cue(job) is not None:
            return True
        if job.piece is not None:  # its media are its cut files: its key holds none of them
            piece = job.piece
            return any(
                cut is not None
                for cut in (piece.earlier_cut, piece.cut_on_raw_timestamps, piece.cut_sideways)
            )
        if any(
            ref.origin == "file" and ref.kind == "video" and self._turned(str(ref.value))
            for ref in job.media.values()
        ):
            return True
        return any(self._may_differ(self._jobs[need]) for need in job.needs if need in self._jobs)

    def _turned(self, value: str) -> bool:
        """Whether the local video ``value`` is sent turned upright (read once per value)."""
        found = self._turns.get(value)
        if found is None:
            try:
                found = self._turns[value] = turn_to_send(value) != 0
            except InputError:
                found = self._turns[value] = False  # refused by the plan: never sent
        return found

    def renumbered(self, job: Job, store: OutputStore) -> list[EarlierKey]:
        """``job``, which dubs a subtitle line, as a lipflow that named and keyed a line by its
        number keyed it when that number was another (a cue inserted or deleted before the line
        since). That key holds the number, so a store entry under it cannot tell which line it
        is; but each such lipflow noted, beside every output it stored, the job's id (with the
        number) and request under the recipe's name (:meth:`OutputStore.remember`). A note whose
        request says what the line says (its text, voice and language) gives a number, and that
        number is tried only if the key this line would have had under it is the noted key: the
        key holds the line's text, voice, time range and video (its bytes, or the range's name
        and the video unchanged since, :func:`unchanged_since`), so another line never matches.
        A line with no such note (notes deleted, or its number since given to another line,
        whose note replaced it) is not found, and bought: the store alone cannot tell."""
        cue = self._cues.get(job.id)
        if cue is None or not job.key or not self._recipe:
            return []
        found: list[EarlierKey] = []
        noted = self._noted(job, store).get(_said(job.params.to_json()), ())
        take = self._take(job) if noted else None
        for number, key in noted:
            if number == cue or take is None:
                continue  # under its number now: :meth:`of` tried it
            for era in _NUMBERED_ERAS:
                then = self._as_in(era, job, take, number)
                if then.key == key and then not in found:
                    found.append(then)
        return found

    def _noted(self, job: Job, store: OutputStore) -> dict[str, list[tuple[int, str]]]:
        """The store's notes of ``job``'s step's lines as numbered then (same matrix cell but
        the line): (number, key) by what the request said. Listed once for a step's lines."""
        head, _, tail = format_job_id(job.step, {**job.matrix, LINE: _MARK}).partition(_MARK)
        notes = self._notes.get((head, tail))
        if notes is not None:
            return notes
        notes = self._notes[(head, tail)] = {}
        numbered = (f"{head}{number}{tail}" for number in range(1, self._numbers_then + 1))
        for job_id in store.noted(self._recipe, numbered):
            key, doc = store.last(self._recipe, job_id) or ("", None)
            if isinstance(doc, dict) and isinstance(doc.get("params"), dict):
                number = int(job_id[len(head) : len(job_id) - len(tail)])
                notes.setdefault(_said(doc["params"]), []).append((number, key))
        return notes

    def ids(self, job: Job) -> set[str]:
        """The ids other than its own an older lipflow gave ``job`` (no key computed)."""
        old = self._numbered_id(job)
        return set() if old is None else {old}

    def _as_in(
        self, era: _Era, job: Job, take: int | None = 0, number: int | None = None
    ) -> EarlierKey:
        """``job`` (its step's ``take``, :meth:`_take`; 0: found here) as the lipflow of ``era``
        named and keyed it (as it is now if unchanged); ``number``: the number its line had
        then, if not its number now."""
        memo = (era, job.id)
        found = None if number is not None else self._as_then.get(memo)
        if found is not None:
            return found
        if take == 0:
            take = self._take(job)
        if self._upstreams is None:
            self._upstreams = {need for each in self._jobs.values() for need in each.needs}
        ups = {need: self._as_in(era, self._jobs[need]) for need in job.needs if need in self._jobs}
        upstream_keys = {then.id: then.key for then in ups.values()}
        unread = {path for then in ups.values() for path in then.unread}
        changed = any(
            (then.id, then.key) != (need, self._jobs[need].key) for need, then in ups.items()
        )
        then_id, key, sideways = job.id, None, False
        cut_elsewhere: tuple[float, float, str] | None = None
        if take is None:  # its take unknown: no older key, and a key that matches nothing older
            key = job.key
        elif era is _Era.SIDEWAYS:
            key = key_before_videos_were_sent_upright(job, upstream_keys, take=take)
            sideways = key is not None
        elif era is _Era.PIECES_SIDEWAYS:
            key = key_before_turned_videos_were_cut_upright(job, upstream_keys, take=take)
            sideways = key is not None
        elif era is _Era.SOUND_FROM_FIRST_SAMPLE:
            key = key_before_sound_was_counted_from_first_frame(job, upstream_keys, take=take)
            if key is not None and job.piece is not None and job.piece.earlier_cut is not None:
                start, end, _ = job.piece.earlier_cut
                cut_elsewhere = (start, end, SOUND_FROM_FIRST_SAMPLE)
        elif era is _Era.KEYFRAMES_ON_RAW_TIMESTAMPS:
            key = key_before_keyframes_were_counted_from_first_frame(job, upstream_keys, take=take)
            cut = None if job.piece is None else job.piece.cut_on_raw_timestamps
            if key is not None and cut is not None:
                cut_elsewhere = (cut[0], cut[1], RAW_TIMESTAMPS)
        else:
            old = self._numbered(job, ups, number)
            if old is not None:
                then_id = old.id
                if era is _Era.RANGES_BY_NAME:
                    key = key_before_ranges_were_read(old, upstream_keys, take=take)
                    if key is not None:
                        unread.update(_ranged_files(job))
                key = key or job_key(old, upstream_keys, take=take)
        if key is None:
            key = job_key(job, upstream_keys, take=take or 1) if changed else job.key
        found = EarlierKey(then_id, key, sideways, tuple(sorted(unread)), cut_elsewhere)
        if job.id in self._upstreams and number is None:
            self._as_then[memo] = found
        return found

    def _take(self, job: Job) -> int | None:
        """The ``take:`` of ``job``'s step, which its key holds and older keys are made with
        (a step's take 2 is a fresh take: never the job an older lipflow bought on take 1).
        Found by the key (the job does not say it), trying the step's take found last first;
        None past :data:`_MOST_TAKES`: then no older key is tried."""
        now = {need: self._jobs[need].key for need in job.needs if need in self._jobs}
        doc = job_doc(job, now)
        last = self._last_takes.get(job.step)
        for take in ([last] if last else []) + list(range(1, _MOST_TAKES + 1)):
            doc["take"] = take
            if content_key(doc) == job.key:
                self._last_takes[job.step] = take
                return take
        return None

    def _cue(self, job: Job) -> int | None:
        """The number of the line ``job`` dubs, or is chained on (its upstream's), if any."""
        if LINE not in job.matrix:
            return None
        cue = self._cues.get(job.id)
        if cue is not None:
            return cue
        for need in job.needs:
            up = self._jobs.get(need)
            if up is not None and up.matrix.get(LINE) == job.matrix[LINE]:
                cue = self._cue(up)
                if cue is not None:
                    return cue
        return None

    def _numbered_id(self, job: Job) -> str | None:
        cue = self._cue(job)
        return None if cue is None else numbered_line_job(job, cue).id

    def _numbered(
        self, job: Job, ups: Mapping[str, EarlierKey], number: int | None = None
    ) -> Job | None:
        """``job`` as a lipflow that named a line's job by its number planned it: numbered as
        its line is (or ``number``), its inputs from its upstreams as then named; None for a
        job of no line."""
        cue = self._cue(job) if number is None else number
        if cue is None:
            return None
        named = {need: then.id for need, then in ups.items()}
        media = {
            role: replace(ref, value=named.get(str(ref.value), ref.value))
            if ref.origin == "step"
            else ref
            for role, ref in job.media.items()
        }
        old = numbered_line_job(job, cue)
        return replace(old, media=media, needs=tuple(named.get(n, n) for n in job.needs))


# The highest take: of a step whose jobs' older keys are looked up (each take tried is a key).
_MOST_TAKES = 1_000
# The eras that named a line's job by its number, its key holding the number.
_NUMBERED_ERAS = (_Era.RANGES_BY_NAME, _Era.NUMBERED)
# Where a line's number goes in a job id, to cut the id around it (no job id holds a NUL).
_MARK = "\x00"
# The highest number a line bought by a lipflow that numbered lines can have had: its plans held
# at most 100,000 jobs (its --max-jobs ceiling), one a line. A cue it left out (one with no
# text) took a number too: a line numbered past this is not looked up, and bought again.
_MOST_NUMBERS_THEN = 100_000
# Numbers looked up past twice the file's cues now: a cue file that shrank by more than this since
# an older lipflow stored its lines has its lines numbered past it bought again.
_MORE_CUES_THEN = 1_000


def _said(params: Mapping[str, Any]) -> str:
    """What a request's parameters say (a line's text, voice and language), as one string."""
    return content_key(params)


def _ranged_files(job: Job) -> set[str]:
    """The files ``job``'s time ranges are of (a subtitle line's media)."""
    return {
        piece_range(str(ref.value))[0]
        for ref in job.media.values()
        if ref.origin == "file" and piece_range(str(ref.value))[1] is not None
    }


def unchanged_since(then: EarlierKey, at: float | None) -> bool:
    """Whether ``then``'s unread files are unchanged since ``at`` (when the job was bought): the
    older key could not tell a changed file, the new one does."""
    if not then.unread:
        return True
    if at is None:
        return False
    for path in then.unread:
        try:
            if os.stat(path).st_mtime > at:
                return False
        except OSError:
            return False
    return True


def stored(
    store: OutputStore,
    job: Job,
    base_url: str,
    earlier: EarlierKeys,
    *,
    take: str = "",
    held: Collection[str] | None = None,
) -> tuple[str, list[CachedOutput], float | None, EarlierKey | None] | None:
    """The store's entry for ``job`` against ``base_url`` (its store key, outputs and cost):
    under its key, else (on the default take) under a key an older lipflow gave it, bought in
    an out directory before an upgrade (that key last). ``held``: the store's keys, listed
    once for many jobs."""
    key = store_key(job.key, base_url, take)
    found = store.get(key) if held is None or key in held else None
    if found is not None:
        return key, *found, None
    if take or (held is not None and not held):
        return None
    for then in _earlier_keys(job, earlier, store):
        key = store_key(then.key, base_url)
        found = store.get(key) if held is None or key in held else None
        if found is not None and unchanged_since(then, store.stored_at(key)):
            return key, *found, then
    return None


def _earlier_keys(job: Job, earlier: EarlierKeys, store: OutputStore) -> Iterator[EarlierKey]:
    """The keys older lipflows gave ``job``, those found through the store's notes of lines
    numbered otherwise last (they are read only if the others are not in the store)."""
    yield from earlier.of(job)
    yield from earlier.renumbered(job, store)


def bought_otherwise(job: Job, then: EarlierKey) -> str | None:
    """What an output of ``job`` bought under ``then`` has otherwise than one this lipflow
    would buy (None: nothing): it is kept as paid, and the run says so."""
    if then.sideways:
        return (
            "bought by an older lipflow that sent its phone video as stored: the provider "
            "lip-synced it sideways"
        )
    piece = job.piece
    if then.cut_elsewhere is None or piece is None:
        return None
    start, end, flaw = then.cut_elsewhere
    if flaw == RAW_TIMESTAMPS:
        first, _ = first_times(piece.video)
        flaw += f" (its first frame is at {first or 0:g} s)"
    moved = (start, end) != (piece.start, piece.end)
    where = f" cut at {start:g}-{end:g} s (now {piece.start:g}-{piece.end:g} s)" if moved else ""
    return f"bought{where} by an older lipflow that {flaw}"


class OlderJournal:
    """The journal of the plan's out directory, read for the jobs an older lipflow journaled
    under another key or id (:class:`EarlierKeys`)."""

    def __init__(self, jobs: Mapping[str, Job], earlier: EarlierKeys, journal: Journal) -> None:
        self._jobs = jobs
        self._earlier = earlier
        self._journal = journal
        self._sent_sideways: set[str] = set()  # jobs bought with a turned video sent as stored
        # Jobs kept as paid whose output an older lipflow bought otherwise than this one would:
        # what was otherwise, by job (the run warns, naming how to buy a fresh take). Noted in
        # the journal (:meth:`keep`), so every later run says it too (:meth:`noted`).
        self.kept_otherwise: dict[str, str] = {}

    def noted(self) -> dict[str, str]:
        """:attr:`kept_otherwise`, with the jobs earlier runs here noted so, read once the
        journal is matched to the plan: a job's row retired since (a fresh take, a changed
        job) took its note along, so a take bought since under the job's id is not said."""
        for job_id, why in self._journal.kept_otherwise().items():
            if job_id in self._jobs:
                self.kept_otherwise.setdefault(job_id, why)
        return self.kept_otherwise

    def keep(self, job_id: str, why: str) -> None:
        """Note that ``job_id`` is kept as paid though bought otherwise (``why``), here and in
        the journal (the note moves with the job's row: a fresh take bought since, under the
        job's id, has none)."""
        self._journal.keep_otherwise(job_id, why)
        self.kept_otherwise[job_id] = why

    def rekeyed(self, job: Job, rec: JobRecord) -> bool:
        """Whether ``rec``, journaled under ``job``'s id and another key, is ``job`` as an older
        lipflow keyed it; if so it is journaled under ``job``'s key now, kept as it is. (A row
        renamed by :meth:`rename_earlier_ids` in a run stopped before it was rekeyed is found
        so too.)"""
        for then in self._earlier.of(job):
            if rec.key == then.key and self._bought_as(job.id, then):
                why = bought_otherwise(job, then)
                if why is not None:
                    self.keep(job.id, why)  # first: a run stopped before the rekey notes it again
                self._journal.rekey(job.id, job.key)
                if then.sideways:
                    self._sent_sideways.add(job.id)
                return True
        return False

    def rename_earlier_ids(
        self, records: Mapping[str, JobRecord], names: Mapping[str, str]
    ) -> bool:
        """Rows an older lipflow journaled under another id for a job whose content is unchanged
        (a subtitle line's job, or one chained on it, named by the line's number in its file:
        ``dub[line=3]``): renamed to the id the job has now (the line's start,
        ``dub[line=00:00:08.000]``), outputs beside it under the job's output name in ``names``,
        and keyed anew; not bought again. Whether any was."""
        renamed = False
        for job in self._jobs.values():
            if job.id in records or not job.key:
                continue
            olds = {i for i in self._earlier.ids(job) if i in records and i not in self._jobs}
            if not olds:
                continue
            for then in self._earlier.of(job):
                rec = records.get(then.id)
                if then.id not in olds or rec is None or rec.key != then.key:
                    continue
                if not self._bought_as(then.id, then):
                    continue  # another line now, or this one changed: kept as it is, not reused
                paths: dict[int, str] = {}
                for output in rec.outputs:
                    if output.path:
                        name = file_name(names[job.id], output.idx, len(rec.outputs), output.url)
                        move_output(output, Path(output.path).with_name(name), paths)
                self._journal.rename(
                    then.id, job.id, paths, "a line's job is named by its start, not its number"
                )
                self._journal.rekey(job.id, job.key)
                renamed = True
                break
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

    def cut_by_an_older_lipflow(self, job: Job, out_dir: Path) -> None:
        """Note a piece bought from files an older lipflow cut (found under the names it gave
        them, this cut's absent) if that cut was off for its sources: times counted from the
        video's raw timestamps when its first frame is not at 0, or the video's own sound cut
        from its first sample when that is not at its first frame. The output is kept as paid;
        the run says so (:attr:`kept_otherwise`)."""
        piece = job.piece
        if piece is None or job.id in self.kept_otherwise or "video" not in job.media:
            return  # (noted by an earlier run: said again, not noted again)
        video = out_dir / str(job.media["video"].value)
        if video.exists():
            return  # cut by this lipflow
        prefix = f"{piece.index:02d}"
        names: dict[str, tuple[str, ...]] = {f"{prefix}.video.mp4": _OLDEST_CUT}
        for digest, flaws in older_piece_digests(piece).items():
            names[f"{prefix}-{digest[:16]}.video.mp4"] = flaws
        found = next(((n, f) for n, f in names.items() if (video.parent / n).exists()), None)
        if found is None:
            return
        name, flaws = found
        said = []
        if RAW_TIMESTAMPS in flaws:
            first, _ = first_times(piece.video)
            if first:
                said.append(f"may have {RAW_TIMESTAMPS} (its first frame is at {first:g} s)")
        if SOUND_FROM_FIRST_SAMPLE in flaws:
            first, sound = first_times(piece.audio)
            if first is not None and sound is not None and abs(first - sound) >= 0.0005:
                lead = (first - sound) * 1000
                said.append(f"{SOUND_FROM_FIRST_SAMPLE} ({lead:+.0f} ms from it)")
        if said:
            where = video.parent.relative_to(out_dir) / name
            self.keep(
                job.id, f"bought from {where}, cut by an older lipflow that " + " and ".join(said)
            )

    def _bought_as(self, row: str, then: EarlierKey) -> bool:
        """Whether the journal's ``row`` can be ``then``: a job sent sideways or a piece cut
        elsewhere was bought (the output paid for is kept, not bought again for the new key; a
        fresh take is the user's call: --retake), and one keyed by a range's name was bought
        with its files unchanged since (the old key could not tell; the bytes in the others
        can)."""
        if not then.sideways and not then.unread and then.cut_elsewhere is None:
            return True
        sent = self._journal.first_sent_at(row)
        return sent is not None and unchanged_since(then, sent)


# The flaws of the cut of a lipflow that named a piece's files by their index alone.
_OLDEST_CUT = (RAW_TIMESTAMPS, SOUND_FROM_FIRST_SAMPLE)
