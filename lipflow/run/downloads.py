"""Downloads: each output to a temporary file, checked (size, media type, duration), then renamed.

A partial or wrong file never takes an output's name: it stays ``.<name>.<pid>.<id>.part`` until
it is checked, and a killed run's leftovers are swept by the next run in the same directory.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from lipflow import media
from lipflow.errors import InputError, OutputInvalid, ProviderError
from lipflow.jobs import Job
from lipflow.providers._http import classify_status, classify_transport

__all__ = ["Downloader", "file_name", "output_names"]


class Downloader:
    """Fetches outputs over the run's HTTP client; counts its requests."""

    def __init__(self, client: httpx.AsyncClient, timeout: httpx.Timeout) -> None:
        self.client = client
        self.timeout = timeout
        self.requests = 0

    async def fetch(
        self, job: Job, url: str, path: Path, expected: int | None
    ) -> tuple[int, float | None]:
        """Download ``url`` to ``path``: its size and duration, or a classified error."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
        request = self.client.build_request("GET", url, timeout=self.timeout)
        self.requests += 1
        try:
            try:
                response = await self.client.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        raise _download_status(response, job.provider)
                    announced = response.headers.get("content-length")
                    size = 0
                    with open(tmp, "wb") as fh:
                        async for chunk in response.aiter_bytes():
                            fh.write(chunk)
                            size += len(chunk)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise classify_transport(exc, job.provider) from exc
            for what, want in (("Content-Length", announced), ("the provider's size", expected)):
                if want is not None and int(want) != size:
                    raise OutputInvalid(
                        f"output {url} is {size} bytes, but {what} said {want}",
                        provider=job.provider,
                    )
            try:
                info = media.probe(tmp)
            except InputError as exc:
                raise OutputInvalid(
                    f"output {url} is not a media file: {exc.message}", provider=job.provider
                ) from None
            if info.kind != job.output_kind:
                raise OutputInvalid(
                    f"output {url} is {info.kind}, not {job.output_kind}", provider=job.provider
                )
            os.replace(tmp, path)
            return size, info.duration_s
        except OSError as exc:
            raise OutputInvalid(
                f"cannot write {path}: {exc.strerror}", provider=job.provider
            ) from None
        finally:
            if tmp.exists():
                tmp.unlink()


def _download_status(response: httpx.Response, provider: str) -> ProviderError:
    message = f"download answered HTTP {response.status_code}"
    return classify_status(response, provider, message) or OutputInvalid(message, provider=provider)


def _safe(name: str) -> str:
    """A job id as a file name: ``dub[lang=en,voice=Sophia]`` -> ``dub_lang-en_voice-Sophia``."""
    name = name.replace("=", "-").replace("[", "_").replace("]", "")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "job"


def output_names(jobs: Sequence[Job]) -> dict[str, str]:
    """A file-name stem per job, unique even when two ids sanitize alike."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for job in jobs:
        stem = _safe(job.id)
        if stem.lower() in taken:
            stem = f"{stem}-{uuid.uuid5(uuid.NAMESPACE_URL, job.id).hex[:8]}"
        taken.add(stem.lower())
        names[job.id] = stem
    return names


def file_name(stem: str, idx: int, count: int, url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = os.path.splitext(path)[1].lower()
    ext = ext if ext in media.VIDEO_EXTENSIONS else ".mp4"
    return f"{stem}{'' if count == 1 else f'-{idx + 1}'}{ext}"
