"""Names of the files a run writes, made from job ids: readable in any script, taken by every
file system (Linux, macOS, Windows), within a file name's 255 bytes, and never one path for two
jobs' outputs."""

from __future__ import annotations

import itertools
import unicodedata
import uuid
from collections.abc import Mapping, Sequence

from lipflow.jobs import Job

__all__ = ["MAX_STEM", "output_names", "path_component", "same_name"]

_ASCII_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
# Names Windows keeps for devices, whatever their extension: ``nul.mp4`` cannot be created.
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"{d}{n}" for d in ("COM", "LPT") for n in "123456789")}
)


def _kept(char: str) -> bool:
    """A character every file system takes in a name: ASCII letters, digits and ``._-``, and
    the letters, marks and digits of any other script (``日本語``, ``español``, ``हिन्दी``);
    not separators, controls, spaces, symbols or the characters Windows refuses."""
    if char < "\x80":
        return char in _ASCII_KEPT
    return unicodedata.category(char)[0] in "LMN"


def _safe(name: str) -> str:
    """A job id as a file name: ``dub[lang=en,voice=Sophia]`` -> ``dub_lang-en_voice-Sophia``,
    ``dub[lang=日本語]`` -> ``dub_lang-日本語`` (NFC: one name whatever the recipe's encoding)."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("=", "-").replace("[", "_").replace("]", "")
    safe = "".join(
        "".join(run) if kept else "_" for kept, run in itertools.groupby(name, key=_kept)
    ).strip("._")
    if safe.split(".")[0].upper() in _DEVICES:
        safe += "_"
    return safe or "job"


# The longest file-name stem in UTF-8 bytes: with an output's number (-NNN), its extension and
# the temporary file's ``.<name>.<pid>.<id>.part`` around it (32 characters at most), a name
# stays under the 255 bytes a file name may have. A job id of a few long matrix values is
# longer than that; its output could not be saved, after the job was paid for.
MAX_STEM = 200
_TAG = 9  # "-" and eight hex digits of the job id's UUID5: what tells apart stems made alike


def _bytes_cut(text: str, most: int) -> str:
    """``text`` cut to at most ``most`` bytes of UTF-8, on a character's edge."""
    return text.encode()[:most].decode(errors="ignore")


def same_name(stem: str) -> str:
    """What makes two stems one file on some file system: case (Windows, macOS) and Unicode
    normalization (macOS)."""
    return unicodedata.normalize("NFC", stem).casefold()


def output_names(jobs: Sequence[Job], claimed: Mapping[str, str] | None = None) -> dict[str, str]:
    """A file-name stem per job, unique even when two ids sanitize alike, and at most
    :data:`MAX_STEM` bytes (a longer one is cut, and tagged with its id's hash). ``claimed``:
    stems (by :func:`same_name`) of outputs an out directory's journal holds, by their job's
    id: another job's is never given (it would write over an output already paid for)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    claimed = claimed or {}
    for job in jobs:
        stem = _safe(job.id)
        if (
            len(stem.encode()) > MAX_STEM
            or same_name(stem) in taken
            or claimed.get(same_name(stem), job.id) != job.id
        ):
            tag = uuid.uuid5(uuid.NAMESPACE_URL, job.id).hex[:8]
            stem = f"{_bytes_cut(stem, MAX_STEM - _TAG)}-{tag}"
        taken.add(same_name(stem))
        names[job.id] = stem
    return names


# Characters no file system of the three takes in a name (Windows refuses the most), and the
# path separators: a job id holding one must not make a folder of its own, or climb out of the
# out directory (``dub[tag=../../x]``).
_REFUSED = frozenset('/\\:*?"<>|')


def path_component(name: str) -> str:
    """A job id as one folder's name, as like the id as the file systems allow (``dub[lang=es]``
    stays): separators, controls and the characters Windows refuses become ``_``, a leading or
    trailing dot or space goes, a device name gets a ``_``, and a long one is cut and tagged."""
    name = unicodedata.normalize("NFC", name)
    safe = "".join(
        "_" if char in _REFUSED or unicodedata.category(char)[0] == "C" else char for char in name
    ).strip(". ")
    if safe.split(".")[0].upper() in _DEVICES:
        safe += "_"
    if len(safe.encode()) > MAX_STEM or not safe:
        safe = f"{_bytes_cut(safe, MAX_STEM - _TAG)}-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:8]}"
    return safe
