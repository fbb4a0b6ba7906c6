"""A PixVerse Platform client written from https://docs.platform.pixverse.ai/how-to-use-speechlip-sync-1268530m0 and the API reference, run against the mock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lipflow import media
from mock_server import ManualClock, MockServer
from tests.replies import as_json


class PixVerse:
    """What a user would write from the docs: API-KEY, a fresh Ai-Trace-Id, the envelope."""

    def __init__(self, base_url: str, key: str = "any-key") -> None:
        self.http = httpx.Client(base_url=base_url, timeout=5)
        self.key = key

    def headers(self, trace_id: str | None = None) -> dict[str, str]:
        return {"API-KEY": self.key, "Ai-Trace-Id": trace_id or str(uuid.uuid4())}

    def upload(self, name: str, data: bytes, mime: str) -> dict[str, Any]:
        r = self.http.post(
            "/media/upload", headers=self.headers(), files={"file": (name, data, mime)}
        )
        return as_json(r.raise_for_status())

    def generate(self, body: dict[str, Any], trace_id: str | None = None) -> dict[str, Any]:
        r = self.http.post("/video/lip_sync/generate", headers=self.headers(trace_id), json=body)
        return as_json(r.raise_for_status())

    def result(self, video_id: int) -> dict[str, Any]:
        return as_json(self.http.get(f"/video/result/{video_id}", headers=self.headers()))

    def tts_list(self, **params: str) -> dict[str, Any]:
        return as_json(
            self.http.get("/video/lip_sync/tts_list", headers=self.headers(), params=params)
        )


@pytest.fixture
def client(mock: MockServer) -> Iterator[PixVerse]:
    pixverse = PixVerse(mock.urls.pixverse)
    yield pixverse
    pixverse.http.close()


def test_upload_generate_poll_download() -> None:
    clock = ManualClock()
    with MockServer(clock=clock, processing_seconds=0.2) as mock:
        client = PixVerse(mock.urls.pixverse)
        try:
            _upload_generate_poll_download(client, clock)
        finally:
            client.http.close()


def _upload_generate_poll_download(client: PixVerse, clock: ManualClock) -> None:
    video = client.upload(
        "face.mov", media.synthesize_video(5.0, container="mov"), "video/quicktime"
    )
    audio = client.upload("voice.mp3", media.synthesize_audio(3.2, container="mp3"), "audio/mpeg")
    assert (video["Resp"]["media_type"], audio["Resp"]["media_type"]) == ("video", "audio")

    sent = client.generate(
        {"video_media_id": video["Resp"]["media_id"], "audio_media_id": audio["Resp"]["media_id"]}
    )
    assert sent["ErrCode"] == 0
    video_id = sent["Resp"]["video_id"]
    assert sent["Resp"]["credits"] == 16  # 4 credits per second, 3.2 s rounded up (D-PVPRICE)

    first = client.result(video_id)
    assert first["Resp"]["status"] == 5 and first["Resp"]["url"] == ""
    clock.advance(0.25)  # past the job's processing time
    done = client.result(video_id)["Resp"]
    assert done["status"] == 1
    info = media.probe_bytes(httpx.get(done["url"]).content)
    assert info.duration_s == pytest.approx(3.2, abs=0.05)
    assert done["size"] == len(httpx.get(done["url"]).content)


def test_uploaded_media_is_served_back_unchanged(client: PixVerse) -> None:
    data = media.synthesize_audio(1.0)
    resp = client.upload("a.wav", data, "audio/wav")["Resp"]
    assert httpx.get(resp["url"]).content == data


def test_tts_list_is_paged_over_the_15_documented_speakers(client: PixVerse) -> None:
    pages = [client.tts_list(page_num=str(n), page_size="4")["Resp"] for n in (1, 2, 3, 4, 5)]
    assert {p["total"] for p in pages} == {15}
    assert [len(p["data"]) for p in pages] == [4, 4, 4, 3, 0]
    names = [s["name"] for p in pages for s in p["data"]]
    assert "Auto" in names and "James" in names and len(set(names)) == 15
    assert len(client.tts_list()["Resp"]["data"]) == 15


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        pytest.param(
            {"video_media_id": 1, "source_video_id": 2, "audio_media_id": 3},
            400017,
            "either 'source_video_id' or 'video_media_id'",
            id="two-video-sources",
        ),
        pytest.param({"audio_media_id": 3}, 400017, "video", id="no-video-source"),
        pytest.param(
            {
                "video_media_id": 1,
                "audio_media_id": 3,
                "lip_sync_tts_speaker_id": "1",
                "lip_sync_tts_content": "hi",
            },
            400017,
            "audio_media_id",
            id="audio-and-tts",
        ),
        pytest.param(
            {"video_media_id": 1, "lip_sync_tts_speaker_id": "1"},
            400017,
            "lip_sync_tts_content",
            id="tts-pair-incomplete",
        ),
        pytest.param(
            {"video_media_id": "one", "audio_media_id": 3},
            400013,
            "video_media_id",
            id="wrong-type",
        ),
    ],
)
def test_the_either_or_rules_are_refused_with_the_documented_codes(
    mock: MockServer, client: PixVerse, body: dict[str, Any], code: int, words: str
) -> None:
    reply = client.generate(body)
    assert reply["ErrCode"] == code
    assert words in reply["ErrMsg"]
    assert mock.simulator.jobs() == []


def test_a_media_id_that_was_never_uploaded_is_refused(client: PixVerse) -> None:
    reply = client.generate(
        {"video_media_id": 123, "lip_sync_tts_speaker_id": "2", "lip_sync_tts_content": "hello"}
    )
    assert reply["ErrCode"] == 400017 and "not an uploaded video" in reply["ErrMsg"]


def test_a_file_that_is_not_media_is_refused_at_upload(client: PixVerse) -> None:
    r = client.http.post(
        "/media/upload",
        headers=client.headers(),
        files={"file": ("x.mp4", b"not a video", "video/mp4")},
    )
    assert r.json()["ErrCode"] == 400017 and "readable" in r.json()["ErrMsg"]


def test_a_missing_trace_id_or_key_is_refused(mock: MockServer) -> None:
    url = mock.urls.pixverse + "/video/lip_sync/tts_list"
    no_trace = httpx.get(url, headers={"API-KEY": "k"}).json()
    no_key = httpx.get(url, headers={"Ai-Trace-Id": "t"}).json()
    assert no_trace["ErrCode"] == 400017 and "Ai-Trace-Id" in no_trace["ErrMsg"]
    assert no_key["ErrCode"] == 10005 and "API-KEY" in no_key["ErrMsg"]


def test_reusing_a_trace_id_leaves_the_generation_stuck_as_documented(
    mock: MockServer, client: PixVerse
) -> None:
    video = client.upload("v.mp4", media.synthesize_video(2.0), "video/mp4")["Resp"]["media_id"]
    body = {
        "video_media_id": video,
        "lip_sync_tts_speaker_id": "Auto",
        "lip_sync_tts_content": "hey",
    }
    first = client.generate(body, trace_id="same")["Resp"]["video_id"]
    second = client.generate(body, trace_id="same")["Resp"]["video_id"]
    assert client.result(first)["Resp"]["status"] == 1
    assert client.result(second)["Resp"]["status"] == 5
