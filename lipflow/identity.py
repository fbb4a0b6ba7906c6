"""A job is its content: the key that names a job in journals, caches and idempotency keys.

A job's key is a hash of what the provider would be asked to do: provider, model and action, the
typed parameters and options (the canonical request without per-attempt ids such as Runware's
``taskUUID``), the step's ``take:`` counter, and each media input by content: a local file by the
SHA-256 of its bytes (not its path), a URL as written, a media id with its provider, an upstream
job's output by that job's key. A comment, the order of steps, an unrelated step or an added
matrix cell changes nothing in it, so an edited recipe keeps every unchanged job's key; a moved
or renamed file with the same bytes keeps it too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from operator import itemgetter
from typing import Any

from lipflow._memo import BoundedMemo
from lipflow.errors import InputError
from lipflow.jobs import LINE, Job, LipsyncParams, MediaRef, Params, Piece, format_job_id
from lipflow.media import piece_range, turn_to_send

__all__ = [
    "ContentKeys",
    "changed_fields",
    "content_doc",
    "content_key",
    "file_digest",
    "job_doc",
    "job_key",
    "key_before_keyframes_were_counted_from_first_frame",
    "key_before_sound_was_counted_from_first_frame",
    "key_before_turned_videos_were_cut_upright",
    "key_before_videos_were_sent_upright",
    "numbered_line_job",
    "older_piece_digests",
    "piece_digest",
    "take_uuid_parts",
]

_DIGESTS: dict[tuple[str, int, int], str] = {}
_CHUNK = 1 << 20


def file_digest(path: str) -> str:
    """The SHA-256 of a file's bytes, read once per path, size and modification time."""
    try:
        stat = os.stat(path)
    except OSError:
        return f"unreadable:{path}"  # the planner reports the file; the key stays stable
    memo = (path, stat.st_size, stat.st_mtime_ns)
    found = _DIGESTS.get(memo)
    if found is None:
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except OSError:
            return f"unreadable:{path}"
        found = _DIGESTS[memo] = digest.hexdigest()
    return found


def _media_digest(value: str) -> str:
    """A local file's part of a key: its bytes' digest, and for a time range of it
    (``/a/v.mp4#t=1.5,4.2``, a subtitle line's media) that range after it. The range's name is
    no file, so its own digest would be its path: a replaced source would change no key."""
    path, span = piece_range(value)
    if span is None:
        return file_digest(path)
    return f"{file_digest(path)}#t={span[0]:.3f},{span[1]:.3f}"


def _turned(value: str) -> bool:
    """Whether the local file is sent turned upright (the planner reports a file it cannot read
    or turn)."""
    try:
        return turn_to_send(value) != 0
    except InputError:
        return False


# A turned video's part of a key: it is sent upright (lipflow sent it as stored before).
_SENT_UPRIGHT = {"sent": "upright"}


def _media(ref: MediaRef, upstream_keys: Mapping[str, str]) -> Any:
    if ref.origin == "file":
        value = str(ref.value)
        shown = _SENT_UPRIGHT if ref.kind == "video" and _turned(value) else {}
        return {"kind": ref.kind, "sha256": _media_digest(value), **shown}
    if ref.origin == "step":
        return {"kind": ref.kind, "job": upstream_keys.get(str(ref.value), str(ref.value))}
    if ref.origin == "media_id":
        return {"kind": ref.kind, "media_id": ref.value, "provider": ref.provider}
    return {"kind": ref.kind, "url": ref.value}


def key_before_ranges_were_read(
    job: Job, upstream_keys: Mapping[str, str], *, take: int = 1
) -> str | None:
    """The key lipflow gave ``job`` (its step's ``take``) before a time range's media was keyed
    by its file's bytes (its range's name was digested as no file: ``unreadable:<path>#t=...``),
    for a job with such media; None for any other job. A journal written then holds this
    key for a job whose content may be the same, under its :func:`numbered_line_job` id (every
    lipflow that keyed a line so named it by its number)."""
    doc = job_doc(job, upstream_keys, take=take)
    ranged = False
    for role, ref in job.media.items():
        if ref.origin == "file" and piece_range(str(ref.value))[1] is not None:
            doc["media"][role] = {"kind": ref.kind, "sha256": f"unreadable:{ref.value}"}
            ranged = True
    return content_key(doc) if ranged and job.piece is None else None


def numbered_line_job(job: Job, cue: int) -> Job:
    """``job``, which dubs the ``cue``-th line of its lines file, as a lipflow that named such a
    job by that number (``dub[line=3]``, the number in its key too) planned it: a journal
    written then holds it under this id, and :func:`job_key` of it is its key there."""
    matrix = {**job.matrix, LINE: cue}
    return replace(job, id=format_job_id(job.step, matrix), matrix=matrix, key="")


def key_before_videos_were_sent_upright(
    job: Job, upstream_keys: Mapping[str, str], *, take: int = 1
) -> str | None:
    """The key lipflow gave ``job`` (its step's ``take``) when it sent a turned phone video as
    stored (sideways), for a job with such a video; None for any other job. A journal written then
    holds this key for a job bought with the sideways video."""
    doc = job_doc(job, upstream_keys, take=take)
    turned = [m for m in doc["media"].values() if m.get("sent") == _SENT_UPRIGHT["sent"]]
    for media in turned:
        del media["sent"]
    return content_key(doc) if turned else None


def key_before_sound_was_counted_from_first_frame(
    job: Job, upstream_keys: Mapping[str, str], *, take: int = 1
) -> str | None:
    """The key lipflow gave the piece ``job`` when it counted a video's own sound from its
    first sample, not its first frame: it found the pauses tens of ms late, so it cut the piece
    at other times (:attr:`~lipflow.jobs.Piece.earlier_cut`); None for any other job. A journal
    written then holds this key for the piece it bought."""
    cut = None if job.piece is None else job.piece.earlier_cut
    return _key_cut_at(job, cut, upstream_keys, take)


def key_before_keyframes_were_counted_from_first_frame(
    job: Job, upstream_keys: Mapping[str, str], *, take: int = 1
) -> str | None:
    """The key lipflow gave the piece ``job`` of a video whose first frame is not at 0 when it
    read the video's keyframe times from its raw timestamps: it planned the piece's method (in
    its key), and any cut it put on a keyframe, otherwise
    (:attr:`~lipflow.jobs.Piece.cut_on_raw_timestamps`); None for any other job. A journal
    written then holds this key for the piece it bought."""
    piece = job.piece
    return _key_cut_at(
        job, None if piece is None else piece.cut_on_raw_timestamps, upstream_keys, take
    )


def key_before_turned_videos_were_cut_upright(
    job: Job, upstream_keys: Mapping[str, str], *, take: int = 1
) -> str | None:
    """The key lipflow gave the piece ``job`` of a turned phone video when it read the video as
    stored (its stored size, no turn) and cut it sideways: it planned the piece's size and
    method (in its key), and any cut it put on a keyframe, otherwise
    (:attr:`~lipflow.jobs.Piece.cut_sideways`); None for any other job. A journal written then
    holds this key for the piece it bought."""
    cut = None if job.piece is None else job.piece.cut_sideways
    if cut is None:
        return None
    start, end, method, width, height = cut
    return _key_cut_at(job, (start, end, method), upstream_keys, take, size=(width, height))


def _key_cut_at(
    job: Job,
    cut: tuple[float, float, str] | None,
    upstream_keys: Mapping[str, str],
    take: int,
    *,
    size: tuple[int, int] | None = None,
) -> str | None:
    """The key of the piece ``job`` (its step's ``take``) cut at ``cut`` (start, end,
    video_method) at ``size`` (its own if None); None if no cut."""
    if job.piece is None or cut is None:
        return None
    start, end, method = cut
    then = replace(
        job.piece,
        start=start,
        end=end,
        video_method=method,
        size=size or job.piece.size,
        earlier_cut=None,
        cut_on_raw_timestamps=None,
        cut_sideways=None,
    )
    return job_key(replace(job, piece=then), upstream_keys, take=take)


def job_key(job: Job, upstream_keys: Mapping[str, str], *, take: int = 1) -> str:
    """The job's content key (64 hex digits); ``upstream_keys`` maps upstream job ids to keys."""
    return content_key(job_doc(job, upstream_keys, take=take))


# json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str), its encoder made once
# (json.dumps builds a new one on every call given options: a tenth of a key's cost).
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _compact(value: Any) -> str:
    """:func:`_canonical` of ``value`` made of JSON's own types (exact str, int, float, bool,
    None, list, tuple, dict with str keys), in Python: a job's small parameters and matrix
    encode faster so than through a JSON encoder built for large documents. Anything else
    raises :class:`_NotPlain`."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise _NotPlain
        return (
            "{"
            + ",".join(
                [
                    _quote(k) + ":" + (_quote(v) if type(v := value[k]) is str else _compact(v))
                    for k in sorted(value)
                ]
            )
            + "}"
        )
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([_compact(item) for item in value]) + "]"
    if kind is float:
        if value != value:
            return "NaN"
        if value in (_INF, -_INF):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise _NotPlain


class _NotPlain(Exception):
    """A value :func:`_compact` leaves to the JSON encoder (its ``default=str`` and the like)."""


_quote = json.encoder.encode_basestring_ascii  # what the encoder does to every string
_INF = float("inf")


def _encoded(value: Any) -> str:
    """``_canonical(value)``, through :func:`_compact` when it can."""
    try:
        return _compact(value)
    except (_NotPlain, RecursionError):
        return _canonical(value)


def _params_text(params: Params) -> str:
    """``_canonical(params.to_json())``; a lip sync's text-to-speech of plain strings (every job
    of a TTS matrix) written out directly, its keys in sorted order (language, text, voice)."""
    if type(params) is LipsyncParams and params.segments is None:
        tts = params.tts
        if tts is None:
            return "{}"
        text, voice, language = tts.text, tts.voice, tts.language
        if (
            type(text) is str
            and (voice is None or type(voice) is str)
            and (language is None or type(language) is str)
        ):
            return "".join(
                [
                    '{"tts":{',
                    "" if language is None else '"language":' + _quote(language) + ",",
                    '"text":',
                    _quote(text),
                    "" if voice is None else ',"voice":' + _quote(voice),
                    "}}",
                ]
            )
    return _encoded(params.to_json())


def job_doc(job: Job, upstream_keys: Mapping[str, str], *, take: int = 1) -> dict[str, Any]:
    """What the key hashes: the job's request content, as plain JSON values."""
    return content_doc(
        provider=job.provider,
        model=job.model,
        action=job.action,
        params=job.params,
        options=job.options,
        media=job.media,
        matrix=job.matrix,
        piece=job.piece,
        upstream_keys=upstream_keys,
        take=take,
    )


def content_doc(
    *,
    provider: str,
    model: str,
    action: str,
    params: Params,
    options: Mapping[str, Any],
    media: Mapping[str, MediaRef],
    matrix: Mapping[str, Any],
    piece: Piece | None,
    upstream_keys: Mapping[str, str],
    take: int,
) -> dict[str, Any]:
    """:func:`job_doc` of a job not built yet, from the fields the key hashes."""
    return {
        "provider": provider,
        "model": model,
        "action": action,
        "params": params.to_json(),
        "options": dict(options),
        "media": {
            role: _media(ref, upstream_keys) if piece is None else {"kind": ref.kind}
            for role, ref in sorted(media.items())
        },
        "take": take,
        # A matrix value names a variant the user asked for even when the request does not use
        # it (``take: [1, 2, 3]``): each is its own job, not one output shared.
        **({"matrix": dict(matrix)} if matrix else {}),
        **({} if piece is None else {"piece": _piece(piece)}),
    }


def content_key(doc: Mapping[str, Any]) -> str:
    """The key of a :func:`job_doc` or :func:`content_doc` (64 hex digits)."""
    return hashlib.sha256(_canonical(doc).encode("utf-8")).hexdigest()


class ContentKeys:
    """:func:`content_key` of :func:`content_doc` for the many jobs of one plan, hashing the
    very same bytes: the canonical encoding of a sorted-keys object is its members' encodings
    in key order, so what jobs share (provider, model, action, take, the same options, the same
    URL and media-id inputs) is encoded once and only what differs (parameters, matrix, files,
    upstream outputs, pieces) per job. Mappings given are not changed afterwards (a planned
    job's values never are): their encodings are remembered by identity."""

    __slots__ = ("_last_media", "_matrix_form", "_media", "_middle", "_options", "_texts")

    def __init__(self) -> None:
        # The encoded members around action, model and provider, by the three.
        self._texts: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        # Encodings by the identity of what they encode, which they keep alive: the last
        # options, and the media of jobs whose inputs are all URLs or media ids (bounded).
        self._options: tuple[Mapping[str, Any], str] | None = None
        self._media: BoundedMemo[tuple[tuple[str, int], ...], tuple[tuple[MediaRef, ...], str]] = (
            BoundedMemo(1024)
        )
        # The media mapping of the last key whose inputs are all URLs or media ids, and their
        # encoding: the planner gives the jobs of one input the same mapping, never changed.
        self._last_media: tuple[Mapping[str, MediaRef], str] | None = None
        # The last matrix's names, a getter of their values in sorted order, and the format of
        # its encoding (',"matrix":{"lang":%s,"text":%s}'): the cells of one matrix share them.
        self._matrix_form: tuple[frozenset[str], Callable[[Any], Any], str] | None = None
        # The last key's media text, options, action, model and provider (by identity), their
        # names, and the text from media to params they make.
        self._middle: (
            tuple[str, tuple[Mapping[str, Any], str], str, str, str, tuple[str, str, str], str]
            | None
        ) = None

    def key(
        self,
        *,
        provider: str,
        model: str,
        action: str,
        params: Params,
        options: Mapping[str, Any],
        media: Mapping[str, MediaRef],
        matrix: Mapping[str, Any],
        piece: Piece | None,
        upstream_keys: Mapping[str, str],
        take: int,
    ) -> str:
        held = self._options
        if held is None or held[0] is not options:
            held = self._options = (options, _canonical(dict(options)))
        media_text = self._media_text(media, piece, upstream_keys)
        # What lies between the matrix and the parameters is the previous key's when its parts
        # are the very same objects (the jobs of one step share them).
        last = self._middle
        if (
            last is None
            or last[0] is not media_text
            or last[1] is not held
            or last[2] is not action
            or last[3] is not model
            or last[4] is not provider
        ):
            names = self._texts.get((action, model, provider))
            if names is None:
                names = self._texts[(action, model, provider)] = (
                    '{"action":' + _canonical(action),
                    ',"model":' + _canonical(model) + ',"options":',
                    ',"provider":' + _canonical(provider) + ',"take":',
                )
            middle = ',"media":' + media_text + names[1] + held[1] + ',"params":'
            last = self._middle = (media_text, held, action, model, provider, names, middle)
        names = last[5]
        members = [
            names[0],
            self._matrix_text(matrix) if matrix else "",
            last[6],
            _params_text(params),
            "" if piece is None else ',"piece":' + _canonical(_piece(piece)),
            names[2],
            str(take) if type(take) is int else _canonical(take),
            "}",
        ]
        return hashlib.sha256("".join(members).encode("utf-8")).hexdigest()

    def _matrix_text(self, matrix: Mapping[str, Any]) -> str:
        """``',"matrix":' + _encoded(dict(matrix))``: a matrix of strings (names and values)
        written out directly through a format made once for the cells that share its names
        (the same names sort the same, whatever their order)."""
        form = self._matrix_form
        if form is None or matrix.keys() != form[0]:
            names = list(matrix)
            if not names or any(type(name) is not str for name in names):
                return ',"matrix":' + _encoded(dict(matrix))
            order = sorted(names)
            text = ',"matrix":{' + ",".join(_quote(n).replace("%", "%%") + ":%s" for n in order)
            form = self._matrix_form = (frozenset(order), itemgetter(*order), text + "}")
        values = form[1](matrix)
        if type(values) is not tuple:
            values = (values,)  # one name: itemgetter gives the value itself
        for value in values:
            if type(value) is not str:
                return ',"matrix":' + _encoded(dict(matrix))
        return form[2] % tuple(map(_quote, values))

    def _media_text(
        self, media: Mapping[str, MediaRef], piece: Piece | None, upstream_keys: Mapping[str, str]
    ) -> str:
        last = self._last_media
        if piece is None and last is not None and last[0] is media:
            return last[1]  # the very dict the previous job's key read (jobs share one)
        if piece is not None or any(r.origin not in _FIXED_ORIGINS for r in media.values()):
            return _canonical(
                {
                    role: _media(ref, upstream_keys) if piece is None else {"kind": ref.kind}
                    for role, ref in sorted(media.items())
                }
            )
        which = tuple([(role, id(ref)) for role, ref in media.items()])
        held = self._media.get(which)
        if held is None:
            text = _canonical({role: _media(ref, {}) for role, ref in sorted(media.items())})
            held = self._media.put(which, (tuple(media.values()), text))
        self._last_media = (media, held[1])  # held: its id is not another's while it is here
        return held[1]


# Inputs whose part of a key is their value as written (a file's is its bytes' digest, read
# anew; an upstream output's is that job's key).
_FIXED_ORIGINS = frozenset({"url", "media_id"})


def _piece(piece: Piece) -> dict[str, Any]:
    """A piece is its sources' contents and its time range (its own files are cut at run time
    into the out directory, so their paths say nothing)."""
    return {
        "start": piece.start,
        "end": piece.end,
        "size": list(piece.size),
        "video_method": piece.video_method,
        "video": file_digest(piece.video),
        "audio": file_digest(piece.audio),
    }


# How pieces are cut: times counted from the video's first frame, for its own sound too. A
# lipflow before that cut a video starting at 10 s on its raw timestamps (piece 1 got half its
# video), or its leading sound from the first sample, into files of the same name: they are
# never taken for this cut's. Not part of a job's key: a piece bought with such a file is paid
# for and kept.
_CUT = "from-first-frame;sound-from-first-frame"


# What older cuts did otherwise, by the tag their files' names hashed (None: no tag).
RAW_TIMESTAMPS = "counted its times from the video's raw timestamps, not its first frame"
SOUND_FROM_FIRST_SAMPLE = "cut the video's own sound from its first sample, not its first frame"
_OLDER_CUTS: dict[str | None, tuple[str, ...]] = {
    None: (RAW_TIMESTAMPS, SOUND_FROM_FIRST_SAMPLE),  # before ccad509 raw; names hashed no tag
    "from-first-frame": (SOUND_FROM_FIRST_SAMPLE,),
}


def older_piece_digests(piece: Piece) -> dict[str, tuple[str, ...]]:
    """The :func:`piece_digest` older lipflows named a piece's cut files by, each with what
    their cut may have done otherwise (:data:`RAW_TIMESTAMPS`, :data:`SOUND_FROM_FIRST_SAMPLE`):
    a piece bought from such a file was cut so."""
    doc = _piece(piece)
    return {
        content_key(doc if tag is None else {**doc, "cut": tag}): flaws
        for tag, flaws in _OLDER_CUTS.items()
    }


def piece_digest(piece: Piece) -> str:
    """What a piece's cut files are cut from (its sources' bytes, range, size and method) and
    how, as 64 hex digits: their name holds it, so a file cut for another split, another take
    of a source or by an older cut is never uploaded for this piece."""
    return content_key({**_piece(piece), "cut": _CUT})


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The dotted paths where two job documents differ (what made a job's key change)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for name in sorted(set(old) | set(new)):
            path = f"{prefix}.{name}" if prefix else str(name)
            if name not in old or name not in new:
                out.append(path)
            else:
                out.extend(changed_fields(old[name], new[name], path))
        return out
    return [] if old == new else [prefix or "(the whole request)"]


def take_uuid_parts(key: str, take: str) -> tuple[str, ...]:
    """What a job's idempotency key (Runware's ``taskUUID``) is derived from: the job key, and
    the run's ``--fresh`` take when there is one."""
    return (key,) if not take else (key, "take", take)
