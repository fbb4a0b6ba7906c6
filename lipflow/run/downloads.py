"""Downloads: each output to a temporary file, checked (size, media type, duration), then renamed.

A partial or wrong file never takes an output's name: it stays ``.<name>.<pid>.<id>.part`` until
it is checked, and a killed run's leftovers are swept by the next run in the same directory.

Every download is bounded: the URL (and each redirect) must pass the provider's
:class:`~lipflow.providers._http.UrlRule`, the body may not pass the output cap (announced or
streamed), and the whole transfer has a deadline however slowly the bytes arrive. The file's
SHA-256 is computed while it is written, for the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import itertools
import os
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import httpx

from lipflow import media
from lipflow.errors import DiskError, InputError, OutputInvalid, OutputRefused, ProviderError
from lipflow.jobs import Job
from lipflow.providers._http import Answer, UrlRule, classify_status, classify_transport
from lipflow.run.pace import Pace
from lipflow.run.sender import Reply, Sender

__all__ = [
    "Downloaded",
    "Downloader",
    "OpenFile",
    "disk_error",
    "file_name",
]

OpenFile = Callable[[Path], BinaryIO]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# An output up to this size is kept in memory while it is written, and its header probed from
# those bytes rather than read back from the disk (half the probe's cost).
HELD_BYTES = 4 * 1024 * 1024
# While creating an output file takes less than this on average, it is opened on the loop.
INLINE_OPEN_S = 0.001
T = TypeVar("T")


def _open_for_writing(path: Path) -> BinaryIO:
    return open(path, "wb")


@dataclass(frozen=True, slots=True)
class Downloaded:
    """One saved output: its size, media duration and content hash."""

    size: int
    duration_s: float | None
    sha256: str


def disk_error(exc: OSError, path: Path, what: str) -> DiskError:
    """An OS error writing the out directory, said with what to do about it."""
    reason = exc.strerror or str(exc)
    advice = {
        errno.ENOSPC: "free some space (or use another --out), then run again to resume",
        errno.EDQUOT: "free some space (or use another --out), then run again to resume",
        errno.EROFS: "the file system is read-only: choose a writable --out",
        errno.EACCES: "choose an --out directory you can write",
        errno.EPERM: "choose an --out directory you can write",
    }.get(exc.errno or 0, "check the out directory, then run again to resume")
    return DiskError(f"cannot write {what}: {reason}; {advice}", path=str(path))


class Downloader:
    """Fetches outputs through the run's :class:`~lipflow.run.sender.Sender`; counts its requests.

    ``open_file`` opens a temporary output file for writing: the seam a test uses to make the
    disk fail (``ENOSPC``) without filling one.
    """

    def __init__(
        self,
        sender: Sender,
        timeout: httpx.Timeout,
        *,
        deadline: float = 1800.0,
        open_file: OpenFile = _open_for_writing,
    ) -> None:
        self.sender = sender
        self.timeout = timeout
        self.deadline = deadline
        self.open_file = open_file
        self.requests = 0
        self._opens = Pace(INLINE_OPEN_S)
        # The <id> of each temporary file's name: unique within the run (its pid tells runs
        # apart), counted from a random start rather than drawn from the OS for every output.
        self._part_ids = itertools.count(random.getrandbits(32))

    async def _open(self, tmp: Path) -> BinaryIO:
        """Open a temporary output file: on the loop while this disk creates files quickly, on
        a worker thread once creating one has been slow (it can wait for the file system's
        journal, behind another process's fsync), so the loop serves other jobs meanwhile.

        The hop to the thread and back cost more than the open it hid on a quick disk (a
        second task, a thread switch and two wake-ups per output)."""
        if self._opens.inline:
            return self._opens.timed(self.open_file, tmp)
        return await asyncio.to_thread(self._opens.timed, self.open_file, tmp)

    async def fetch(
        self,
        job: Job,
        url: str,
        path: Path,
        expected: int | None,
        *,
        rule: UrlRule,
        max_bytes: int,
    ) -> Downloaded:
        """Download ``url`` to ``path``: what was saved, or a classified error."""
        tmp = path.with_name(
            f".{path.name}.{os.getpid()}.{next(self._part_ids) & 0xFFFFFFFF:08x}.part"
        )
        renamed = False
        try:
            try:
                size, announced, digest, held = await _within(
                    self.deadline, self._stream(job, url, tmp, rule, max_bytes)
                )
            except asyncio.TimeoutError:
                raise OutputRefused(
                    f"output {_shown(url)} did not arrive within {self.deadline:g} s "
                    "(the download deadline, --download-timeout); it was not kept",
                    provider=job.provider,
                ) from None
            for what, want in (("Content-Length", announced), ("the provider's size", expected)):
                if want is not None and int(want) != size:
                    raise OutputInvalid(
                        f"output {_shown(url)} is {size} bytes, but {what} said {want}",
                        provider=job.provider,
                    )
            try:
                info = media.probe(tmp, held=held)
            except InputError as exc:
                raise OutputInvalid(
                    f"output {_shown(url)} is not a media file: {exc.message}",
                    provider=job.provider,
                ) from None
            if info.kind != job.output_kind:
                raise OutputInvalid(
                    f"output {_shown(url)} is {info.kind}, not {job.output_kind}",
                    provider=job.provider,
                )
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise disk_error(exc, path, "the output") from None
            renamed = True
            return Downloaded(size, info.duration_s, digest)
        finally:
            if not renamed:  # a renamed one is gone: no stat to learn it for every output
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    async def _stream(
        self, job: Job, url: str, tmp: Path, rule: UrlRule, max_bytes: int
    ) -> tuple[int, str | None, str, bytes | None]:
        """Follow redirects under ``rule``, then write the body: size, Content-Length, SHA-256,
        and the body itself if it is small (:data:`HELD_BYTES`)."""
        target = httpx.URL(url)
        for _hop in range(MAX_REDIRECTS + 1):
            refused = await rule.check(target, job.provider, "output URL")
            if refused is not None:
                raise OutputRefused(refused + "; it was not fetched", provider=job.provider)
            self.requests += 1
            try:
                async with self.sender.stream(target, self.timeout) as reply:
                    location = reply.headers.get("location")
                    if reply.status_code in _REDIRECTS and location:
                        target = target.join(location)
                        continue
                    if reply.status_code != 200:
                        raise _download_status(reply, job.provider)
                    return await self._write(job, url, reply, tmp, max_bytes)
            except httpx.HTTPError as exc:
                raise classify_transport(exc, job.provider) from exc
        raise OutputRefused(
            f"output {_shown(url)} redirects more than {MAX_REDIRECTS} times; it was not fetched",
            provider=job.provider,
        )

    async def _write(
        self, job: Job, url: str, reply: Reply, tmp: Path, max_bytes: int
    ) -> tuple[int, str | None, str, bytes | None]:
        announced = reply.headers.get("content-length")
        if announced is not None and announced.isdigit() and int(announced) > max_bytes:
            raise _too_large(job, url, f"{int(announced):,} bytes", max_bytes)
        size = 0
        digest = hashlib.sha256()
        held: list[bytes] | None = []
        try:
            with await self._open(tmp) as fh:
                async for chunk in reply.chunks():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(job, url, f"over {max_bytes:,} bytes", max_bytes)
                    fh.write(chunk)
                    digest.update(chunk)
                    if held is not None and size <= HELD_BYTES:
                        held.append(chunk)
                    else:
                        held = None
        except OSError as exc:
            raise disk_error(exc, tmp.parent, "an output") from None
        return size, announced, digest.hexdigest(), None if held is None else b"".join(held)


if sys.version_info >= (3, 11):

    async def _within(seconds: float, work: Awaitable[T]) -> T:
        """``work``'s result, or TimeoutError once ``seconds`` have passed (it is cancelled):
        on the task that awaits it, without the second task ``wait_for`` runs it in."""
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10 has no asyncio.timeout

    async def _within(seconds: float, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, seconds)


def _too_large(job: Job, url: str, size: str, limit: int) -> OutputRefused:
    return OutputRefused(
        f"output {_shown(url)} is {size}, over the {limit:,}-byte output cap "
        "(--max-output-mb); it was refused while streaming and not kept",
        provider=job.provider,
    )


def _shown(url: str) -> str:
    """A URL as a message shows it: signed URLs carry tokens in their query, so it is cut."""
    return url.split("?", 1)[0].split("#", 1)[0]


def _download_status(response: Answer, provider: str) -> ProviderError:
    message = f"download answered HTTP {response.status_code}"
    return classify_status(response, provider, message) or OutputInvalid(message, provider=provider)


def file_name(stem: str, idx: int, count: int, url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = os.path.splitext(path)[1].lower()
    ext = ext if ext in media.VIDEO_EXTENSIONS else ".mp4"
    return f"{stem}{'' if count == 1 else f'-{idx + 1}'}{ext}"
