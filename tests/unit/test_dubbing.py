"""Joining a dub made line by line, when a piece cannot be joined."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipflow.errors import AssemblyFailed
from lipflow.run.dubbing import DubJoin, join_dub

SOURCE = Path(__file__).parents[2] / "recipes" / "media" / "interview.mp4"


def test_a_piece_that_is_not_a_video_fails_the_join_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "line-1.mp4"
    broken.write_bytes(b"not a video")
    dub = DubJoin(name="dub[lang=es]", video=str(SOURCE), lines=((1.0, 3.0, "dub[line=1]"),))

    with pytest.raises(AssemblyFailed) as failed:
        join_dub(dub, {"dub[line=1]": str(broken)}, tmp_path / "dub_lang-es.mp4")

    assert failed.value.path == str(broken)
    assert not (tmp_path / "dub_lang-es.mp4").exists()
    assert len(list((tmp_path / "dub_lang-es.pieces").glob("between-000-*.mp4"))) == 1
