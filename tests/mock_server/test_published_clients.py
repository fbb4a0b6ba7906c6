"""What the providers' own published clients send, the mock accepts.

PixVerse's published client is PixVerseAI's ``pixverse-mcp`` (https://github.com/PixVerseAI/PixVerse-MCP;
it needs Python 3.12, so its requests are rebuilt here from ``BaseClient.upload_file`` and
``PixverseClient.upload_media``): a file upload is a multipart form of the ``file`` part plus a
``media_type`` field ("video" by default, or "audio"), a URL upload a urlencoded ``file_url`` form,
each with ``API-KEY``, ``Accept``, ``User-Agent`` and a fresh ``Ai-Trace-Id``. Runware's and
WaveSpeed's SDKs run unchanged in test_runware_sdk.py and test_wavespeed_sdk.py; the cases here
are the requests those leave out.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lipflow import media
from mock_server import MockServer, Simulator
from mock_server.adapters.transport import MockTransport, transport_urls


def _pixverse_mcp_headers() -> dict[str, str]:
    """``BaseClient._get_default_headers`` plus the per-request trace id of ``upload_file``."""
    return {
        "API-KEY": "any-key",
        "Accept": "application/json",
        "User-Agent": "pixverse-mcp/0.1.0",
        "Ai-Trace-Id": str(uuid.uuid4()),
    }


@pytest.fixture(params=["loopback", "in-process"])
def pixverse(
    request: pytest.FixtureRequest, mock: MockServer
) -> Iterator[tuple[httpx.Client, str]]:
    """An httpx client and PixVerse's base URL: on the real server, or the in-process transport."""
    if request.param == "loopback":
        with httpx.Client() as client:
            yield client, mock.urls.pixverse
    else:
        simulator = Simulator()
        with httpx.Client(transport=MockTransport(simulator)) as client:
            yield client, transport_urls(simulator)["pixverse"]
        assert simulator.internal_errors == []


def _upload_file(
    client: httpx.Client, base: str, name: str, data: bytes, ctype: str, kind: str
) -> Any:
    reply = client.post(
        base + "/media/upload",
        headers=_pixverse_mcp_headers(),
        files={"file": (name, io.BytesIO(data), ctype)},
        data={"media_type": kind},
    )
    assert reply.status_code == 200
    return reply.json()


def test_pixverse_accepts_the_media_type_field_its_published_client_sends(
    pixverse: tuple[httpx.Client, str],
) -> None:
    client, base = pixverse
    video = _upload_file(
        client, base, "face.mp4", media.synthesize_video(1.0), "video/mp4", "video"
    )
    audio = _upload_file(
        client, base, "voice.wav", media.synthesize_audio(1.0), "audio/wav", "audio"
    )
    assert video["ErrCode"] == 0 and video["Resp"]["media_type"] == "video"
    assert audio["ErrCode"] == 0 and audio["Resp"]["media_type"] == "audio"

    generated = client.post(
        base + "/video/lip_sync/generate",
        headers={**_pixverse_mcp_headers(), "Content-Type": "application/json"},
        json={
            "video_media_id": video["Resp"]["media_id"],
            "audio_media_id": audio["Resp"]["media_id"],
        },
    ).json()
    assert generated["ErrCode"] == 0, generated


def test_the_published_clients_default_media_type_is_accepted_for_audio_too(
    pixverse: tuple[httpx.Client, str],
) -> None:
    """``upload_media`` sends media_type "video" unless told otherwise; the file decides the kind."""
    client, base = pixverse
    audio = _upload_file(
        client,
        base,
        "voice.mp3",
        media.synthesize_audio(1.0, container="mp3"),
        "audio/mpeg",
        "video",
    )
    assert audio["ErrCode"] == 0 and audio["Resp"]["media_type"] == "audio"


def test_pixverse_accepts_the_published_clients_url_upload_as_a_urlencoded_form(
    pixverse: tuple[httpx.Client, str],
) -> None:
    client, base = pixverse
    reply = client.post(
        base + "/media/upload",
        headers=_pixverse_mcp_headers(),
        data={"file_url": "https://example.com/face.mp4"},
    ).json()
    assert reply["ErrCode"] == 0 and reply["Resp"]["media_type"] == "video"


def test_a_media_type_pixverse_does_not_know_is_refused_naming_the_field(mock: MockServer) -> None:
    with httpx.Client() as client:
        reply = _upload_file(
            client,
            mock.urls.pixverse,
            "face.mp4",
            media.synthesize_video(1.0),
            "video/mp4",
            "image",
        )
    assert reply["ErrCode"] == 400013 and "media_type" in reply["ErrMsg"]


def test_the_journal_keeps_the_media_type_field(mock: MockServer) -> None:
    with httpx.Client() as client:  # the mock keeps connections alive: close the client's
        _upload_file(
            client,
            mock.urls.pixverse,
            "face.mp4",
            media.synthesize_video(1.0),
            "video/mp4",
            "video",
        )
    (record,) = mock.simulator.journal.records()
    assert record.body["form"] == {"media_type": "video"}
    assert record.body["files"]["file"]["content_type"] == "video/mp4"


def test_the_wavespeed_sdk_uploads_a_nameless_stream(mock: MockServer) -> None:
    """SDK 2.0.5 names a stream without a name "upload" and sends no content_type: still a video."""
    from wavespeed import Client

    root = mock.urls.wavespeed.removesuffix("/api/v3")
    client = Client(api_key="k", base_url=root, max_connection_retries=0, retry_interval=0)
    url = client.upload(io.BytesIO(media.synthesize_video(1.0)))
    (ticket,) = mock.simulator.journal.records(op="upload")[:1]
    assert ticket.body == {"filename": "upload", "size": ticket.body["size"]}
    assert media.probe_bytes(httpx.get(url).content).kind == "video"
