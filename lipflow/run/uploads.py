"""Uploads shared across jobs: each file (or URL, or job output) goes to a provider once per run.

The first job that needs it uploads; the others wait for that result. A failed upload is
forgotten, so the next job that needs the file tries again itself. Uploads journaled by an
earlier run serve every job of this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lipflow.errors import LipflowError
from lipflow.jobs import Job, MediaRef

__all__ = ["UploadKey", "Uploads", "upload_key"]

UploadKey = tuple[str, str, str]


def upload_key(job: Job, ref: MediaRef) -> UploadKey:
    """What makes two uploads the same: the provider, and the file, URL or job output sent."""
    return (job.provider, ref.origin, str(ref.value))


class Uploads:
    """The run's uploads by what was uploaded, finished or in flight."""

    def __init__(self) -> None:
        self._futures: dict[UploadKey, asyncio.Future[Any]] = {}

    def remember(
        self, job: Job, uploads: Mapping[str, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Results journaled by an earlier run, for every job that sends the same media."""
        for role, result in uploads.items():
            ref = job.media.get(role)
            if ref is not None:
                future: asyncio.Future[Any] = loop.create_future()
                future.set_result(result)
                self._futures.setdefault(upload_key(job, ref), future)

    async def once(self, key: UploadKey, upload: Callable[[], Awaitable[Any]]) -> Any:
        """The upload's result (or its error), uploading only if no job has or is."""
        while True:
            pending = self._futures.get(key)
            if pending is None:
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                self._futures[key] = future
                try:
                    result = await upload()
                except BaseException:
                    del self._futures[key]
                    future.cancel()
                    raise
                if isinstance(result, LipflowError):
                    del self._futures[key]
                future.set_result(result)
                return result
            try:
                result = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():
                    continue  # the uploader was cancelled: try again ourselves
                raise
            if not isinstance(result, LipflowError):
                return result
