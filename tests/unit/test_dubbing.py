"""Joining a dub made line by line, when a piece cannot be joined."""

from __future__ import annotations

from pathlib import Path

from lipflow.run.dubbing import DubJoin, join_dub

SOURCE = Path(__file__).parents[2] / "recipes" / "media" / "interview.mp4"


def test_a_piece_that_is_not_a_video_leaves_the_dub_unjoined_with_the_reason(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "line-1.mp4"
    broken.write_bytes(b"not a video")
    dub = DubJoin(name="dub[lang=es]", video=str(SOURCE), lines=((1.0, 3.0, "dub[line=1]"),))

    joined = join_dub(dub, {"dub[line=1]": str(broken)}, tmp_path)

    assert joined.path is None and joined.error is not None
    assert "line-1.mp4" in joined.error
    assert not (tmp_path / "dub_lang-es.mp4").exists()
    assert joined.to_json()["error"] == joined.error
