"""Base64 uploads: the mock takes and refuses exactly what Python's strict base64 decoder does,
and serves back the bytes it decodes (its fast decoder is only a fast path)."""

from __future__ import annotations

import base64
import binascii
import struct
import uuid

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from lipflow.media import probe_bytes, synthesize_audio
from mock_server import MockServer
from mock_server.store import decode_base64_media

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _standard(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


_texts = st.one_of(
    st.text(alphabet=_ALPHABET + "=", max_size=24),
    st.text(alphabet=_ALPHABET + "=\n\r\t -_.\x00\u00e9", max_size=24),
    st.tuples(st.binary(max_size=24), st.text(alphabet=_ALPHABET + "= \n", max_size=3)).map(
        lambda pair: base64.b64encode(pair[0]).decode() + pair[1]
    ),
)


@settings(max_examples=2000)
@given(_texts)
def test_a_base64_text_decodes_as_the_standard_strict_decoder_says(text: str) -> None:
    assert decode_base64_media(text) == _standard(text)
    assert decode_base64_media(f"data:audio/wav;base64,{text}") == _standard(text)


def _upload(mock: MockServer, media: str) -> httpx.Response:
    task = {
        "taskType": "mediaStorage",
        "taskUUID": str(uuid.uuid4()),
        "operation": "upload",
        "media": media,
    }
    return httpx.post(
        mock.urls.runware, json=[task], headers={"Authorization": "Bearer test-key-123"}
    )


def test_padding_after_a_whole_quantum_is_taken_as_python_takes_it(mock: MockServer) -> None:
    # "Jt2n=": the strict decoder takes it (b"&\xdd\xa7"); the SIMD decoder alone refuses it.
    reply = _upload(mock, "Jt2n=")
    assert reply.status_code == 200, reply.text
    url = reply.json()["data"][0]["mediaURL"]
    assert httpx.get(url).content == b"&\xdd\xa7"


def test_an_upload_is_served_back_byte_for_byte(mock: MockServer) -> None:
    data = bytes(range(256)) * 200
    reply = _upload(mock, base64.b64encode(data).decode())
    assert reply.status_code == 200, reply.text
    assert httpx.get(reply.json()["data"][0]["mediaURL"]).content == data


def test_an_upload_that_is_not_strict_base64_is_refused(mock: MockServer) -> None:
    for media in ("QUJD\nREVG", "QUJD REVG", "QUJ", "=QUJD", "QUJD!"):
        reply = _upload(mock, media)
        assert reply.status_code == 400, media
        assert reply.json()["errors"][0]["code"] == "invalidMedia", media


def _lip_sync_seconds(mock: MockServer, audio: bytes) -> float:
    """The length the mock gives a lip sync driven by ``audio`` (uploaded first): its duration."""
    reply = _upload(mock, base64.b64encode(audio).decode())
    assert reply.status_code == 200, reply.text
    task_uuid = str(uuid.uuid4())
    submit = {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "sync:lipsync-2@1",
        "inputs": {
            "video": "https://example.com/presenter.mp4",
            "audio": reply.json()["data"][0]["mediaUUID"],
        },
    }
    done = httpx.post(
        mock.urls.runware, json=[submit], headers={"Authorization": "Bearer test-key-123"}
    )
    assert done.status_code == 200, done.text
    (job,) = [
        j for j in httpx.get(f"{mock.urls.admin}/jobs").json()["jobs"] if j["id"] == task_uuid
    ]
    return float(job["duration_s"])


def test_an_upload_is_probed_for_its_own_header_even_when_it_begins_as_an_earlier_one(
    mock: MockServer,
) -> None:
    # Two WAVs of one size whose first bytes are alike; the second's header says twice the rate,
    # so it lasts half as long. Each upload is described by its own header.
    first = synthesize_audio(1.0)
    rate, byte_rate = struct.unpack_from("<II", first, 24)
    second = first[:24] + struct.pack("<II", rate * 2, byte_rate * 2) + first[32:]
    for audio in (first, second, first, second):
        assert _lip_sync_seconds(mock, audio) == probe_bytes(audio).duration_s
    assert probe_bytes(first).duration_s == 2 * probe_bytes(second).duration_s


def test_a_file_uploaded_again_is_served_back_and_held_once(mock: MockServer) -> None:
    audio = synthesize_audio(1.0)
    text = base64.b64encode(audio).decode()
    first, again = (_upload(mock, text).json()["data"][0] for _ in range(2))
    for reply in (first, again):
        assert httpx.get(reply["mediaURL"]).content == audio
    held = [mock.simulator.store.get(reply["mediaUUID"]) for reply in (first, again)]
    assert held[0] is not None and held[1] is not None
    assert held[0].data is held[1].data


def test_texts_alike_at_both_ends_are_each_decoded_for_themselves(mock: MockServer) -> None:
    # Same length, same first and last few hundred characters: only the middle tells them apart.
    head, tail = bytes(range(256)), bytes(range(255, -1, -1))
    files = [head + bytes([n]) * 300 + tail for n in (1, 2, 1, 3)]
    for data in files:
        reply = _upload(mock, base64.b64encode(data).decode())
        assert reply.status_code == 200, reply.text
        assert httpx.get(reply.json()["data"][0]["mediaURL"]).content == data
    # A text alike at both ends but not base64 in the middle is still refused.
    good = base64.b64encode(files[0]).decode()
    bad = good[:200] + "!" + good[201:]
    for media in (good, bad, f"data:audio/wav;base64,{bad}"):
        expected = 200 if media is good else 400
        assert _upload(mock, media).status_code == expected
