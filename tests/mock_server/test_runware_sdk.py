"""The official Runware SDK 0.5.24, unchanged, against the mock over WebSocket (https://github.com/Runware/sdk-python)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

# The SDK reads its timeouts at import: poll quickly instead of waiting 30 s per pending reply.
os.environ["RUNWARE_VIDEO_INITIAL_TIMEOUT"] = "400"
os.environ["RUNWARE_VIDEO_POLLING_DELAY"] = "50"

from runware import (
    ISyncProviderSettings,
    IVideoInference,
    Runware,
    RunwareAPIError,
)

from lipflow import media
from mock_server import MockServer

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


async def _client(mock: MockServer, key: str = "any-key") -> Runware:
    client = Runware(api_key=key, url=mock.urls.runware_ws)
    await client.connect()
    return client


def test_upload_then_lipsync_with_tts_returns_a_real_video(
    mock: MockServer, tmp_path: Path
) -> None:
    clip = tmp_path / "face.mp4"
    clip.write_bytes(media.synthesize_video(3.0))
    mock.simulator.processing_seconds = 0.3

    async def scenario() -> tuple[Any, list[Any]]:
        client = await _client(mock)
        try:
            uploaded = await client.uploadMedia(str(clip))
            ack = await client.videoInference(
                IVideoInference(
                    model="pixverse:lipsync@1",
                    includeCost=True,
                    speech={"voice": "Emily", "text": "Hello from the mock server"},
                    inputs={"referenceVideos": [uploaded.mediaUUID]},
                )
            )
            videos = await client.getResponse(ack.taskUUID, numberResults=1)
            return ack, videos
        finally:
            await client.disconnect()

    ack, videos = _run(scenario())
    (video,) = videos
    assert video.status == "success"
    assert video.taskUUID == ack.taskUUID
    assert video.cost == pytest.approx(0.0136 * 26 / 15, abs=1e-4)
    info = media.probe_bytes(_download(video.videoURL))
    assert info.kind == "video" and info.duration_s == pytest.approx(26 / 15, abs=0.05)
    polls = [r for r in mock.simulator.journal.records(op="poll")]
    assert any(r.reply.get("data", [{}])[0].get("status") == "processing" for r in polls)


def test_sync_lipsync_2_with_uploaded_audio_lasts_as_long_as_the_audio(mock: MockServer) -> None:
    async def scenario() -> list[Any]:
        client = await _client(mock)
        try:
            audio = await client.uploadMedia(_b64(media.synthesize_audio(2.5)))
            video = await client.uploadMedia(_b64(media.synthesize_video(4.0)))
            ack = await client.videoInference(
                IVideoInference(
                    model="sync:lipsync-2@1",
                    outputFormat="WEBM",
                    inputs={"video": video.mediaUUID, "audio": audio.mediaUUID},
                    providerSettings=ISyncProviderSettings(syncMode="bounce", temperature=0.5),
                )
            )
            videos: list[Any] = await client.getResponse(ack.taskUUID)
            return videos
        finally:
            await client.disconnect()

    (video,) = _run(scenario())
    info = media.probe_bytes(_download(video.videoURL))
    assert info.format == "webm"
    assert info.duration_s == pytest.approx(2.5, abs=0.05)
    assert video.cost is None  # includeCost was not asked for


def test_an_invalid_voice_is_rejected_with_the_field_and_the_nearest_voice(
    mock: MockServer,
) -> None:
    async def scenario() -> None:
        client = await _client(mock)
        try:
            await client.videoInference(
                IVideoInference(
                    model="pixverse:lipsync@1",
                    speech={"voice": "2", "text": "Hello"},
                    inputs={"referenceVideos": ["https://example.com/v.mp4"]},
                )
            )
        finally:
            await client.disconnect()

    with pytest.raises(RunwareAPIError) as info:
        _run(scenario())
    error = info.value.error_data
    assert error["parameter"] == "speech.voice"
    assert "James" in error["message"]
    assert mock.simulator.jobs() == []


def test_a_failed_generation_reaches_the_sdk_as_an_error_not_an_endless_poll(
    mock: MockServer,
) -> None:
    mock.add_fault("generation_failure", provider="runware")

    async def scenario() -> None:
        client = await _client(mock)
        try:
            ack = await client.videoInference(
                IVideoInference(
                    model="pixverse:lipsync@1",
                    inputs={
                        "referenceVideos": ["https://example.com/v.mp4"],
                        "audio": "https://example.com/a.mp3",
                    },
                )
            )
            await client.getResponse(ack.taskUUID)
        finally:
            await client.disconnect()

    with pytest.raises(RunwareAPIError) as info:
        _run(scenario())
    assert info.value.code == "providerError"


def test_a_reused_task_uuid_is_a_conflict(mock: MockServer) -> None:
    task_uuid = str(uuid.uuid4())

    def task() -> IVideoInference:
        return IVideoInference(
            model="pixverse:lipsync@1",
            taskUUID=task_uuid,
            speech={"voice": "auto", "text": "Hi there"},
            inputs={"referenceVideos": ["https://example.com/v.mp4"]},
        )

    async def scenario() -> None:
        client = await _client(mock)
        try:
            await client.videoInference(task())
            await client.videoInference(task())
        finally:
            await client.disconnect()

    with pytest.raises(RunwareAPIError) as info:
        _run(scenario())
    assert info.value.code == "conflictTaskUUID"
    assert len(mock.simulator.jobs("runware")) == 1


# SDK 0.5.24 leaves its sockets open after a failed authentication; collect them here, so the
# warning belongs to this test and is not raised at the end of the session.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_wrong_key_is_refused_at_connect() -> None:
    import gc

    with MockServer(api_key="the-right-key") as strict:

        async def scenario() -> None:
            client = Runware(api_key="a-wrong-key", url=strict.urls.runware_ws, max_retries=0)
            try:
                await client.connect()
                await client.ensureConnection()  # what every SDK call does first
            finally:
                await client.disconnect()

        with pytest.raises(ConnectionError, match="Invalid API key"):
            _run(scenario())
        (auth,) = [r for r in strict.simulator.journal.records() if r.op == "auth"][:1]
        assert auth.reply["errors"][0]["code"] == "invalidApiKey"
        assert "a-wrong-key" not in repr(auth.to_json())
    gc.collect()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _download(url: str) -> bytes:
    import httpx

    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.content
