"""The official WaveSpeed SDK 2.0.5, unchanged, against the mock (its upload and polling as the SDK sends them: https://github.com/WaveSpeedAI/wavespeed-python)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from wavespeed import Client

from lipflow import media
from mock_server import ManualClock, MockServer


def _client(mock: MockServer, key: str = "any-key") -> Client:
    # The SDK appends /api/v3/... itself: its base URL is the server root.
    root = mock.urls.wavespeed.removesuffix("/api/v3")
    return Client(api_key=key, base_url=root, max_connection_retries=0, retry_interval=0)


class _TickingClock(ManualClock):
    """Moves 0.02 s each time the simulator reads it: a job of 0.2 s is still processing at the
    first poll and done a few polls later, however slowly the machine runs the SDK."""

    def now(self) -> float:
        self.advance(0.02)
        return super().now()


def test_upload_then_run_pixverse_lipsync_returns_a_real_video(tmp_path: Path) -> None:
    video_file = tmp_path / "face.mp4"
    video_file.write_bytes(media.synthesize_video(4.0))
    audio_file = tmp_path / "voice.wav"
    audio_file.write_bytes(media.synthesize_audio(2.0))
    with MockServer(clock=_TickingClock(), seed=3) as mock:
        mock.simulator.processing_seconds = 0.2
        client = _client(mock)

        video_url = client.upload(str(video_file))
        audio_url = client.upload(str(audio_file))
        result = client.run(
            "pixverse/lipsync", {"video": video_url, "audio": audio_url}, poll_interval=0.05
        )
        outputs, jobs = result["outputs"], mock.simulator.jobs("wavespeed")
        polls = mock.simulator.journal.records(op="poll")

        assert httpx.get(audio_url).content == audio_file.read_bytes()
        (output,) = outputs
        info = media.probe_bytes(httpx.get(output).content)
    assert info.kind == "video"
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    (job,) = jobs
    assert job.cost_usd == pytest.approx(
        0.15
    )  # one 5 s block (https://wavespeed.ai/docs/docs-api/pixverse/pixverse-lipsync#playground)
    statuses = [r.reply["data"]["status"] for r in polls]
    assert statuses[0] == "processing" and statuses[-1] == "completed", statuses


def test_sync_mode_answers_once_the_task_is_done(mock: MockServer) -> None:
    result = _client(mock).run(
        "pixverse/lipsync",
        {"video": "https://example.com/v.mp4", "audio": "https://example.com/a.mp3"},
        enable_sync_mode=True,
    )
    assert len(result["outputs"]) == 1
    assert mock.simulator.journal.records(op="poll") == []


def test_an_invalid_body_is_refused_naming_the_missing_field(mock: MockServer) -> None:
    with pytest.raises(RuntimeError, match=r"HTTP 400.*audio"):
        _client(mock).run("pixverse/lipsync", {"video": "https://example.com/v.mp4"})
    assert mock.simulator.jobs() == []


def test_a_failed_task_raises_with_the_error_text(mock: MockServer) -> None:
    mock.add_fault("moderation", provider="wavespeed")
    with pytest.raises(RuntimeError, match="NSFW"):
        _client(mock).run(
            "pixverse/lipsync",
            {"video": "https://example.com/v.mp4", "audio": "https://example.com/a.mp3"},
            poll_interval=0.01,
        )


def test_a_wrong_key_gets_401() -> None:
    with MockServer(api_key="right") as strict, pytest.raises(RuntimeError, match="HTTP 401"):
        _client(strict, key="wrong").run(
            "pixverse/lipsync", {"video": "https://e.com/v.mp4", "audio": "https://e.com/a.mp3"}
        )
