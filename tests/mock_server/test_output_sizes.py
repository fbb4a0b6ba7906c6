"""The mock renders every documented size, portrait included, as a real video of that aspect.

Runware's PixVerse video models take the sizes of their dimension table (v3.5 or v4, from the
catalog); each is asked for, polled and downloaded. PixVerse's and WaveSpeed's lip sync keep
the uploaded video's shape, so portrait and landscape uploads at documented sizes go through too.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from lipflow import media
from lipflow.catalog import load_catalog
from lipflow.schemas.loading import document_text
from mock_server import MockServer
from mock_server.store import preview_size

EXAMPLES = Path(__file__).parents[1] / "example-files" / "requests" / "runware" / "valid"
KEY = {"Authorization": "Bearer k"}


def _table(name: str) -> list[tuple[int, int]]:
    """A documented dimension table of Runware's PixVerse schema as (width, height) pairs."""
    schema = json.loads(document_text("runware/pixverse.json"))
    branches = schema["$defs"][f"dimensions_{name.replace('.', '_')}"]["anyOf"]
    return [
        (b["properties"]["width"]["const"], b["properties"]["height"]["const"]) for b in branches
    ]


def _model_sizes() -> list[Any]:
    cases = []
    for model in load_catalog().models:
        table = (getattr(model, "video", None) or {}).get("dimension_table")
        if model.provider != "runware" or table is None:
            continue
        example = next(EXAMPLES.glob(f"seed001-{model.id.rsplit('-', 1)[1]}-text-to-video.json"))
        for width, height in _table(table):
            cases.append(pytest.param(example, width, height, id=f"{model.model}-{width}x{height}"))
    return cases


def _assert_shape(video: bytes, width: int, height: int) -> None:
    info = media.probe_bytes(video)
    assert info.kind == "video"
    assert (info.width, info.height) == preview_size(width, height)
    assert info.width is not None and info.height is not None
    assert (info.width > info.height) == (width > height)
    assert info.width / info.height == pytest.approx(width / height, rel=0.2)


def test_every_runware_video_model_has_a_dimension_table() -> None:
    assert len(_model_sizes()) == 4 * 20


@pytest.mark.parametrize(("example", "width", "height"), _model_sizes())
def test_runware_renders_every_documented_size_of_each_model(
    mock: MockServer, example: Path, width: int, height: int
) -> None:
    task = {
        **json.loads(example.read_text()),
        "taskUUID": str(uuid.uuid4()),
        "width": width,
        "height": height,
        "duration": 5,
    }
    submitted = httpx.post(mock.urls.runware, headers=KEY, json=[task])
    assert submitted.status_code == 200, submitted.text
    polled = httpx.post(
        mock.urls.runware,
        headers=KEY,
        json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}],
    ).json()
    (result,) = polled["data"]
    download = httpx.get(result["videoURL"])
    assert download.status_code == 200
    _assert_shape(download.content, width, height)


PORTRAIT_AND_LANDSCAPE = [(720, 1280), (1080, 1920), (720, 960), (1280, 720), (540, 540)]


@pytest.fixture(scope="module")
def uploads() -> dict[tuple[int, int], bytes]:
    return {
        size: media.synthesize_video(0.2, width=size[0], height=size[1])
        for size in PORTRAIT_AND_LANDSCAPE
    }


def _pixverse_headers() -> dict[str, str]:
    return {"API-KEY": "k", "Ai-Trace-Id": str(uuid.uuid4())}


@pytest.mark.parametrize(("width", "height"), PORTRAIT_AND_LANDSCAPE)
def test_pixverse_lip_sync_keeps_the_uploaded_videos_shape(
    mock: MockServer, uploads: dict[tuple[int, int], bytes], width: int, height: int
) -> None:
    base = mock.urls.pixverse
    video = httpx.post(
        base + "/media/upload",
        headers=_pixverse_headers(),
        files={"file": ("face.mp4", uploads[width, height], "video/mp4")},
    ).json()["Resp"]["media_id"]
    audio = httpx.post(
        base + "/media/upload",
        headers=_pixverse_headers(),
        files={"file": ("voice.wav", media.synthesize_audio(0.5), "audio/wav")},
    ).json()["Resp"]["media_id"]
    submitted = httpx.post(
        base + "/video/lip_sync/generate",
        headers=_pixverse_headers(),
        json={"video_media_id": video, "audio_media_id": audio},
    ).json()
    assert submitted["ErrCode"] == 0, submitted
    result = httpx.get(
        f"{base}/video/result/{submitted['Resp']['video_id']}", headers=_pixverse_headers()
    ).json()["Resp"]
    assert (result["outputWidth"], result["outputHeight"]) == preview_size(width, height)
    _assert_shape(httpx.get(result["url"]).content, width, height)


@pytest.mark.parametrize(("width", "height"), PORTRAIT_AND_LANDSCAPE)
def test_wavespeed_lip_sync_keeps_the_uploaded_videos_shape(
    mock: MockServer, uploads: dict[tuple[int, int], bytes], width: int, height: int
) -> None:
    url = httpx.post(
        mock.urls.wavespeed + "/media/upload/binary",
        headers=KEY,
        files={"file": ("face.mp4", uploads[width, height], "video/mp4")},
    ).json()["data"]["download_url"]
    submitted = httpx.post(
        mock.urls.wavespeed + "/pixverse/lipsync",
        headers=KEY,
        json={"video": url, "audio": "https://example.com/voice.mp3"},
    ).json()["data"]
    result = httpx.get(submitted["urls"]["get"], headers=KEY).json()["data"]
    (output,) = result["outputs"]
    _assert_shape(httpx.get(output).content, width, height)
