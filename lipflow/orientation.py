"""How a player shows a video: the display matrix a phone writes (a portrait video is stored
landscape, the matrix turning it upright), read whole.

Providers lip-sync the stored pixels, so lipflow sends them the picture as a player shows it,
turned upright. A quarter turn is honoured; a matrix that mirrors the picture (a flip, alone or
with a turn) or turns it by another angle is refused with a clear message rather than sent
turned the wrong way (FFmpeg's rotation angle reads a mirror as a half turn).

An MP4/MOV's matrix is read from its track header (:func:`lipflow.probe.read_display_matrix`),
without FFmpeg; any other file's from the first frame PyAV decodes.
"""

from __future__ import annotations

import math
import os
import struct
from typing import Any

from lipflow._memo import BoundedMemo
from lipflow.errors import InputError, UnreadableFile

__all__ = ["frame_turn", "turn_of_matrix", "video_turn"]

_UNIT = 0x10000  # 1.0 in the matrix's 16.16 fixed point
# (a, b, c, d) as signs -> degrees a player turns the stored picture clockwise
_QUARTER_TURNS = {(1, 0, 0, 1): 0, (0, 1, -1, 0): 90, (-1, 0, 0, -1): 180, (0, -1, 1, 0): 270}
_TURNS: BoundedMemo[tuple[str, int, int], int] = BoundedMemo(4096)


def _sign(value: float) -> int:
    return 0 if abs(value) < _UNIT / 1000 else (1 if value > 0 else -1)


def turn_of_matrix(a: float, b: float, c: float, d: float, *, path: str) -> int:
    """The clockwise quarter turn (0, 90, 180, 270) of a display matrix's (a, b, c, d), a point
    (x, y) shown at (a*x + c*y, b*x + d*y); InputError for a mirror or another angle."""
    turn = _QUARTER_TURNS.get((_sign(a), _sign(b), _sign(c), _sign(d)))
    if turn is not None:
        return turn
    if a * d - b * c < 0:
        raise InputError(
            "the video's display matrix mirrors the picture (a front camera's flip), which "
            "lipflow does not apply: export it as shown (a video editor's export, or FFmpeg "
            "6.1 or later: ffmpeg -i IN OUT) and run again",
            path=path,
        )
    angle = math.degrees(math.atan2(b, a)) % 360
    raise InputError(
        f"the video is shown turned {angle:.0f} degrees; lipflow sends providers a picture "
        "turned by quarter turns only: export it upright and run again",
        path=path,
    )


def frame_turn(container: Any, stream: Any, *, path: str) -> int:
    """The turn of a video open in PyAV, from its first frame's display matrix (else an older
    file's ``rotate`` tag); leaves ``container`` to be seeked again."""
    for frame in container.decode(stream):
        for data in frame.side_data:
            if getattr(data.type, "name", "") == "DISPLAYMATRIX":
                a, b, _, c, d, *_ = struct.unpack("=9i", bytes(data))
                return turn_of_matrix(a, b, c, d, path=path)
        break
    try:
        return round(float(stream.metadata.get("rotate", 0)) / 90) % 4 * 90
    except ValueError:
        return 0


def video_turn(path: str) -> int:
    """How far a player turns the local video ``path`` clockwise, read once per path, size and
    modification time; InputError for a display matrix lipflow cannot honour or a file that
    cannot be read."""
    try:
        status = os.stat(path)
    except OSError as exc:
        raise UnreadableFile.of_media(exc, path=path) from exc
    memo = (path, status.st_size, status.st_mtime_ns)
    found = _TURNS.get(memo)
    if found is None:
        found = _TURNS.put(memo, _read_turn(path, status.st_size))
    return found


def _read_turn(path: str, size: int) -> int:
    from lipflow.probe import read_display_matrix

    matrix = read_display_matrix(path, size)
    if matrix is not None:
        return turn_of_matrix(*matrix, path=path)
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                return 0
            return frame_turn(container, container.streams.video[0], path=path)
    except av.FFmpegError:
        return 0  # a picture FFmpeg cannot decode: whoever reads it next says so, not its turn
