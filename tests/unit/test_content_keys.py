"""A plan's job keys, hashed from encodings shared between jobs, are the keys of the jobs'
documents (:func:`lipflow.identity.content_key` of :func:`lipflow.identity.content_doc`),
whatever the inputs, parameters, options, matrix and pieces, and however often a value repeats;
the idempotency keys derived from them are UUID v4s of their parts' digest."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lipflow.identity import ContentKeys, content_doc, content_key
from lipflow.jobs import GenerateParams, LipsyncParams, MediaRef, Piece, Speech
from lipflow.providers._common import stable_uuid4

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

_REFS = [
    MediaRef(name="clip", kind="video", origin="url", value="https://example.com/a.mp4"),
    MediaRef(name="held", kind="video", origin="media_id", value=7, provider="runware"),
    MediaRef(name="steps.a", kind="video", origin="step", value="a[n=1]"),
    MediaRef(name="voice", kind="audio", origin="url", value="https://example.com/v.wav"),
]


def _file_ref(tmp: Path) -> MediaRef:
    path = tmp / "voice.wav"
    path.write_bytes(b"RIFF....WAVE")
    return MediaRef(name="local", kind="audio", origin="file", value=str(path))


_PIECE = Piece(
    group="a",
    index=1,
    count=2,
    start=0.0,
    end=4.5,
    why="a pause",
    video_method="stream copy",
    video_bytes=10,
    audio_bytes=20,
    size=(640, 360),
    video="/nowhere/v.mp4",
    audio="/nowhere/a.wav",
    fps="25",
)

_PARAMS = st.one_of(
    st.builds(
        LipsyncParams,
        tts=st.none()
        | st.builds(
            Speech,
            text=st.text(max_size=20) | st.integers(),
            voice=st.none() | st.text(max_size=5) | st.integers(),
            language=st.none() | st.text(max_size=5),
        ),
        segments=st.none() | st.just(()),
    ),
    st.builds(GenerateParams, prompt=st.text(max_size=10), duration=st.none() | st.integers(1, 10)),
)


@st.composite
def _jobs(draw: st.DrawFn, file_ref: MediaRef) -> dict[str, Any]:
    refs = [*_REFS, file_ref]
    roles = draw(
        st.lists(st.sampled_from(["video", "audio", "segments.0.audio"]), unique=True, max_size=3)
    )
    return {
        "provider": draw(st.sampled_from(["runware", "pixverse", "wavespeed"])),
        "model": draw(st.sampled_from(["pixverse:lipsync@1", "sync:lipsync-2@1"])),
        "action": draw(st.sampled_from(["lipsync", "generate"])),
        "params": draw(_PARAMS),
        "options": draw(st.dictionaries(st.text(max_size=5), _JSON, max_size=3)),
        "media": {role: draw(st.sampled_from(refs)) for role in roles},
        "matrix": draw(
            st.dictionaries(st.text(max_size=4), _JSON, max_size=3)
            # The cells of one matrix of strings (their names encoded once), in either order.
            | st.fixed_dictionaries({"text": st.text(max_size=4), "lang": st.text(max_size=4)})
            | st.fixed_dictionaries({"lang": st.text(max_size=4), "text": _JSON})
        ),
        "piece": draw(st.none() | st.just(_PIECE)),
        "upstream_keys": draw(
            st.dictionaries(st.just("a[n=1]"), st.text("0123456789abcdef", min_size=4, max_size=4))
        ),
        "take": draw(st.integers(1, 3)),
    }


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_plans_job_keys_are_the_keys_of_the_jobs_documents(
    data: st.DataObject, tmp_path_factory: Any
) -> None:
    file_ref = _file_ref(tmp_path_factory.mktemp("media"))
    keys = ContentKeys()  # one per plan: jobs after the first reuse its encodings
    jobs = data.draw(st.lists(_jobs(file_ref), min_size=1, max_size=6))
    jobs += jobs[: data.draw(st.integers(0, len(jobs)))]  # the same options and media again
    for fields in jobs:
        assert keys.key(**fields) == content_key(content_doc(**fields))


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_an_idempotency_key_is_the_uuid4_of_its_parts_sha256(parts: list[str]) -> None:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    assert stable_uuid4(*parts) == str(uuid.UUID(bytes=digest[:16], version=4))
