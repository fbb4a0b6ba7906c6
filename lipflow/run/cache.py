"""The output store: finished outputs kept per user by job key, so a job already paid for costs
nothing again, in another out directory or another recipe.

Where: ``LIPFLOW_CACHE_DIR`` when set, else the platform's user cache folder (platformdirs:
``~/.cache/lipflow/outputs`` on Linux, ``~/Library/Caches/lipflow/outputs`` on macOS,
``%LOCALAPPDATA%\\lipflow\\Cache\\outputs`` on Windows). Size: at most ``LIPFLOW_CACHE_MAX_MB``
megabytes (default 2048; 0 turns the store off); past it the least recently used entries go.

An entry is ``<key[:2]>/<key>/`` (the job key, the API's base URL and any ``--fresh`` take) with the outputs (``0.mp4``, ``1.mp4`` ...) and ``entry.json``
(sizes, durations, the cost it was bought for). It is written to a temporary folder and renamed
into place, so a half-written entry is never read; an entry whose files no longer match their
recorded sizes is treated as absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lipflow.errors import UsageError

__all__ = ["CachedOutput", "OutputStore", "default_store", "store_key"]

DEFAULT_MAX_MB = 2048
# A put that takes the store over its cap evicts down to this share of it, so a full store is
# measured again only after a tenth of its cap was written, not on every put.
_LOW_WATER = 0.9
# Puts between two measures of the whole store at least (more when it holds more entries), so
# what other runs sharing it put is counted too.
_REMEASURE_AFTER = 64


@dataclass(frozen=True, slots=True)
class CachedOutput:
    path: Path
    size_bytes: int
    duration_s: float | None


class OutputStore:
    """A content-addressed folder of finished outputs with a size cap (LRU eviction)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._measured: int | None = None  # bytes at the last measure, plus this store's puts
        self._entries = 0  # entries the last measure found
        self._puts = 0  # puts since

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> tuple[list[CachedOutput], float | None] | None:
        """The outputs stored for ``key`` and the USD they cost, or None."""
        if not self.enabled:
            return None
        entry = self._entry(key)
        try:
            meta = json.loads((entry / "entry.json").read_text(encoding="utf-8"))
            outputs = [
                CachedOutput(entry / o["file"], int(o["size_bytes"]), o.get("duration_s"))
                for o in meta["outputs"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for output in outputs:
            try:
                if output.path.stat().st_size != output.size_bytes:
                    return None
            except OSError:
                return None
        with contextlib.suppress(OSError):  # evicted meanwhile: the copies read above still serve
            os.utime(entry / "entry.json")  # most recently used
        usd = meta.get("usd")
        return outputs, usd if isinstance(usd, int | float) else None

    def stored_at(self, key: str) -> float | None:
        """When the entry for ``key`` was stored (its outputs bought before), or None."""
        try:
            meta = json.loads((self._entry(key) / "entry.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        at = meta.get("stored_at") if isinstance(meta, dict) else None
        return float(at) if isinstance(at, int | float) else None

    def put(
        self,
        key: str,
        files: Sequence[tuple[str, int, float | None]],
        usd: float | None,
    ) -> None:
        """Keep copies of a finished job's outputs (path, size, duration); best effort."""
        if not self.enabled or self.get(key) is not None:
            return
        entry = self._entry(key)
        tmp = entry.with_name(f".{key}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.mkdir(parents=True)
            outputs = []
            for idx, (path, size, duration) in enumerate(files):
                name = f"{idx}{Path(path).suffix}"
                _link_or_copy(Path(path), tmp / name)
                outputs.append({"file": name, "size_bytes": size, "duration_s": duration})
            meta = {"key": key, "outputs": outputs, "usd": usd, "stored_at": time.time()}
            text = json.dumps(meta)
            (tmp / "entry.json").write_text(text, encoding="utf-8")
            os.replace(tmp, entry)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        self._added(sum(size for _, size, _ in files) + len(text.encode()))

    def _added(self, size: int) -> None:
        """Count a put; measure the store and evict only when it may be over its cap.

        Measuring every entry after each put made a run quadratic in its jobs (the store holds
        every output the run finished). The whole store is measured again after as many puts as
        it had entries (64 at least), so other runs' puts are counted within a bounded delay.
        """
        with self._lock:
            if self._measured is not None and self._puts < max(_REMEASURE_AFTER, self._entries):
                self._measured += size
                self._puts += 1
                if self._measured <= self.max_bytes:
                    return
        self.evict(to_bytes=int(self.max_bytes * _LOW_WATER))

    def keep(
        self,
        key: str,
        files: Sequence[tuple[str, int, float | None]],
        usd: float | None,
        *,
        recipe: str,
        job_id: str,
        job_key: str,
        doc: Mapping[str, Any],
    ) -> None:
        """A finished job: its outputs kept (:meth:`put`) and its key noted for its recipe
        (:meth:`remember`). Meant for a worker thread: each creates files, which waits for the
        file system (about 0.2 ms for the note alone here), and a run's loop has other jobs."""
        self.put(key, files, usd)
        self.remember(recipe, job_id, job_key, doc)

    def remember(self, recipe: str, job_id: str, key: str, doc: Mapping[str, Any]) -> None:
        """Note which key (and request) a recipe's job last had, so a plan can say what changed."""
        if not self.enabled:
            return
        path = self._named(recipe, job_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"key": key, "doc": doc}, default=str), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def held_keys(self) -> frozenset[str]:
        """Every key with an entry now, from one listing per prefix folder.

        A plan of 100,000 jobs asks about each: listing what is there costs less than asking the
        file system for each absent entry. An entry still being written is hidden (``.tmp``)."""
        if not self.enabled:
            return frozenset()
        found: set[str] = set()
        try:
            prefixes = list(os.scandir(self.root))
        except OSError:
            return frozenset()
        for prefix in prefixes:
            if len(prefix.name) == 2 and not prefix.name.startswith("."):
                with contextlib.suppress(OSError):
                    found.update(n for n in os.listdir(prefix.path) if not n.startswith("."))
        return frozenset(found)

    def named_records(self) -> frozenset[str]:
        """The record names :meth:`record_name` gives of every job a recipe last paid for."""
        try:
            return frozenset(os.listdir(self.root / "by-name"))
        except OSError:
            return frozenset()

    def noted(self, recipe: str, job_ids: Iterable[str]) -> Iterator[str]:
        """Those of ``job_ids`` whose key in ``recipe`` :meth:`remember` noted, from one listing
        (a note's name is a hash: a recipe's notes cannot be listed otherwise)."""
        named = self.named_records()
        if not named:
            return
        prefix = hashlib.sha256(f"{recipe}\x00".encode())
        for job_id in job_ids:
            digest = prefix.copy()
            digest.update(job_id.encode())
            if f"{digest.hexdigest()}.json" in named:
                yield job_id

    def record_name(self, recipe: str, job_id: str) -> str:
        """Where :meth:`last` looks for ``job_id`` of ``recipe``, as a name in :meth:`named_records`."""
        return self._named(recipe, job_id).name

    def last(self, recipe: str, job_id: str) -> tuple[str, Any] | None:
        """The key and request a recipe's job last had when it was paid for, or None."""
        try:
            raw = json.loads(self._named(recipe, job_id).read_text(encoding="utf-8"))
            return str(raw["key"]), raw["doc"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _named(self, recipe: str, job_id: str) -> Path:
        digest = hashlib.sha256(f"{recipe}\x00{job_id}".encode()).hexdigest()
        return self.root / "by-name" / f"{digest}.json"

    def evict(self, *, to_bytes: int | None = None) -> None:
        """Remove least recently used entries until the store fits its cap (or ``to_bytes``).

        Other jobs (threads of this run, or other runs sharing the store) put and evict at the
        same time: an entry still being written (a hidden ``.tmp`` folder) is not an entry, and
        one that vanishes while it is measured is skipped.
        """
        entries = []
        total = 0
        for meta in self.root.glob("[0-9a-f][0-9a-f]/*/entry.json"):
            folder = meta.parent
            if folder.name.startswith("."):
                continue
            try:
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                entries.append((meta.stat().st_mtime, size, folder))
            except OSError:
                continue
            total += size
        limit = self.max_bytes if to_bytes is None else min(to_bytes, self.max_bytes)
        kept = len(entries)
        if total > self.max_bytes:
            for _, size, folder in sorted(entries):
                if total <= limit:
                    break
                shutil.rmtree(folder, ignore_errors=True)
                total -= size
                kept -= 1
        with self._lock:
            self._measured, self._entries, self._puts = total, kept, 0


def store_key(job_key: str, base_url: str, take: str = "") -> str:
    """A job's key in the store: its content key, where it ran (a mock's outputs never serve a
    run against the real API) and its ``--fresh`` take."""
    where = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:12]
    return f"{job_key}-{where}" + (f"-{take}" if take else "")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs no space; a copy where the store is on another file system."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def default_store(env: Mapping[str, str] | None = None) -> OutputStore:
    """The user's store, from ``LIPFLOW_CACHE_DIR`` and ``LIPFLOW_CACHE_MAX_MB``."""
    env = os.environ if env is None else env
    raw = env.get("LIPFLOW_CACHE_MAX_MB", "").strip()
    try:
        max_mb = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        max_mb = -1
    if not max_mb >= 0:
        raise UsageError(
            f"LIPFLOW_CACHE_MAX_MB={raw!r}: write a size in megabytes, 0 or more (0 turns the "
            "output store off)"
        )
    root = env.get("LIPFLOW_CACHE_DIR")
    if not root:
        import platformdirs

        root = str(Path(platformdirs.user_cache_dir("lipflow")) / "outputs")
    return OutputStore(Path(root), int(max_mb * 1024 * 1024))
