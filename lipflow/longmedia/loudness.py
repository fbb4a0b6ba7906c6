"""How loud the driving audio is over time: the measurement cuts are placed by.

The audio is decoded with PyAV (FFmpeg's decoders: WAV, MP3, AAC in MP4...) to mono float32 at a
low rate, and its energy is taken over short windows as RMS in dBFS. Speech has gaps between
syllables far shorter than a pause between phrases, so a window of 20 ms resolves both.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lipflow.errors import InputError, UnreadableFile
from lipflow.longmedia.keyframes import picture_origin

if TYPE_CHECKING:  # numpy is imported where it is used: planning a short job never needs it
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "ANALYSIS_RATE",
    "WINDOW_SECONDS",
    "Loudness",
    "decode_mono",
    "loudness_before_sound_counted_from_first_frame",
    "loudness_of",
    "measure",
]

# 8 kHz keeps the whole band where speech energy is (below 4 kHz) and decodes a 10-minute file in
# a fraction of a second; the cut times need 20 ms resolution, not audio fidelity.
ANALYSIS_RATE = 8000
WINDOW_SECONDS = 0.02
_FLOOR_DB = -120.0  # digital silence: log10(0) is not a number


@dataclass(frozen=True, slots=True)
class Loudness:
    """RMS energy of consecutive windows of ``window_s`` seconds, in dBFS, from time 0."""

    db: npt.NDArray[np.float32]
    window_s: float
    duration_s: float

    def time_of(self, index: int) -> float:
        """The start time of window ``index``."""
        return index * self.window_s

    def window(self, start: float, end: float) -> npt.NDArray[np.float32]:
        """The windows that lie in ``[start, end)``."""
        lo = max(0, round(start / self.window_s))
        hi = min(len(self.db), round(end / self.window_s))
        return self.db[lo:hi]

    def level_at(self, t: float) -> float:
        """The loudness of the window holding time ``t``."""
        if not len(self.db):
            return _FLOOR_DB
        i = min(len(self.db) - 1, max(0, int(t / self.window_s)))
        return float(self.db[i])


def decode_mono(
    source: str | os.PathLike[str] | bytes, *, rate: int = ANALYSIS_RATE
) -> npt.NDArray[np.float32]:
    """Every sample of the first audio stream of ``source`` (a path, or a file's bytes), mixed to
    mono float32 at ``rate``; empty if it has no audio stream. In a file with video, sample 0 is
    at its first frame, as cuts count: sound before it (a stream-copy cut, an AAC encoder's
    priming samples, tens of ms) is dropped, a late start is padded with silence."""
    return _from_first_frame(*_decode(source, rate))


def _from_first_frame(
    samples: npt.NDArray[np.float32], lead: int | None
) -> npt.NDArray[np.float32]:
    """``samples`` counted from the first sample made to count from the first video frame,
    ``lead`` samples after it (None: no video to count from)."""
    import numpy as np

    if not lead:
        return samples
    if lead > 0:
        return samples[lead:]
    return np.concatenate([np.zeros(-lead, dtype=np.float32), samples])


def _decode(
    source: str | os.PathLike[str] | bytes, rate: int
) -> tuple[npt.NDArray[np.float32], int | None]:
    """The samples of :func:`decode_mono` counted from the first one, and how many samples the
    first video frame comes after it (negative: before it; None in a file without video)."""
    import av
    import numpy as np

    name = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
    chunks: list[npt.NDArray[np.float32]] = []
    lead = None
    try:
        with av.open(io.BytesIO(source) if isinstance(source, bytes) else name) as container:
            if not container.streams.audio:
                return np.zeros(0, dtype=np.float32), None
            origin = picture_origin(container)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(container.streams.audio[0]):
                if origin is not None and frame.time is not None:
                    lead = round((origin - float(frame.time)) * rate)  # the first sample's
                    origin = None
                chunks.extend(_mono(out) for out in resampler.resample(frame))
            chunks.extend(_mono(out) for out in resampler.resample(None))
    except av.FFmpegError as exc:
        raise InputError(f"cannot decode the audio ({exc.strerror or exc})", path=name) from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32), lead
    return np.concatenate(chunks), lead


def _mono(frame: Any) -> npt.NDArray[np.float32]:
    import numpy as np

    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def measure(samples: npt.NDArray[np.float32], *, rate: int = ANALYSIS_RATE) -> Loudness:
    """Short-window RMS energy of mono ``samples`` in dBFS (full scale = 1.0)."""
    import numpy as np

    size = max(1, round(WINDOW_SECONDS * rate))
    count = len(samples) // size
    tail = samples[: count * size].astype(np.float64).reshape(count, size)
    rms = np.sqrt(np.mean(tail * tail, axis=1)) if count else np.zeros(0)
    with np.errstate(divide="ignore"):
        db = np.maximum(20 * np.log10(rms), _FLOOR_DB).astype(np.float32)
    return Loudness(db=db, window_s=size / rate, duration_s=len(samples) / rate)


@lru_cache(maxsize=16)
def _measured(path: str, mtime_ns: int, size: int) -> tuple[Loudness, Loudness | None]:
    samples, lead = _decode(path, ANALYSIS_RATE)
    return measure(_from_first_frame(samples, lead)), measure(samples) if lead else None


def loudness_of(path: str | os.PathLike[str]) -> Loudness:
    """The loudness of a file's audio, measured once per file version (path, mtime, size)."""
    return _measured(*_version(path))[0]


def loudness_before_sound_counted_from_first_frame(
    path: str | os.PathLike[str],
) -> Loudness | None:
    """The loudness of a file's audio as a lipflow measured it that counted a video's own sound
    from its first sample, not its first frame (its pauses found tens of ms late, so its cuts
    were elsewhere); None when the sound starts at the first frame, or the file has no video,
    and it was measured as now."""
    return _measured(*_version(path))[1]


def _version(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as exc:
        raise UnreadableFile.of_media(exc, path=name) from exc
    return name, st.st_mtime_ns, st.st_size
