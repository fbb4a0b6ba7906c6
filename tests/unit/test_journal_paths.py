"""The journal keeps file paths relative to its out directory, and reads an older journal's
(relative to the directory its run started in) by where the files are now."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from lipflow.run.journal import JOURNAL_NAME, Journal

VIDEO = b"joined video bytes"
PIECE = b"a piece's output"


def test_an_older_journal_moved_elsewhere_finds_its_outputs_and_joined_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "out" / "pieces").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a")
    Journal.create_run(Path("out") / JOURNAL_NAME, {"target": "t"}).close()
    Path("out/pieces/dub_piece-1.mp4").write_bytes(PIECE)
    Path("out/dub.mp4").write_bytes(VIDEO)
    with sqlite3.connect(Path("out") / JOURNAL_NAME) as db:  # as an older lipflow wrote it
        db.execute("DELETE FROM meta WHERE key = 'paths'")
        db.execute(
            "INSERT INTO jobs (id, provider, model, state, updated_at) "
            "VALUES ('dub', 'runware', 'm', 'done', 0)"
        )
        db.execute(
            "INSERT INTO outputs (job_id, idx, url, path, size_bytes, sha256) "
            "VALUES ('dub', 0, 'https://gone', 'out/pieces/dub_piece-1.mp4', ?, ?)",
            (len(PIECE), hashlib.sha256(PIECE).hexdigest()),
        )
        db.execute(
            "INSERT INTO assemblies (grp, state, path, size_bytes, detail, at) "
            "VALUES ('dub', 'done', 'out/dub.mp4', ?, ?, 0)",
            (len(VIDEO), json.dumps({"path": "out/dub.mp4", "frames": 3})),
        )
    (tmp_path / "c").mkdir()
    shutil.move(tmp_path / "a" / "out", tmp_path / "c" / "moved")
    monkeypatch.chdir(tmp_path)

    with Journal.open_run(Path("c/moved") / JOURNAL_NAME) as journal:
        (output,) = journal.jobs()["dub"].outputs
        joined = journal.assemblies()["dub"]

    assert output.path == os.path.join("c", "moved", "pieces", "dub_piece-1.mp4")
    assert output.intact()
    assert joined.path == os.path.join("c", "moved", "dub.mp4") and joined.intact()
    assert joined.detail == {"path": joined.path, "frames": 3}
    with sqlite3.connect(tmp_path / "c" / "moved" / JOURNAL_NAME) as db:
        assert db.execute("SELECT path FROM outputs").fetchall() == [
            (os.path.join("pieces", "dub_piece-1.mp4"),)
        ]
        assert db.execute("SELECT path FROM assemblies").fetchall() == [("dub.mp4",)]


def test_a_path_outside_the_out_directory_is_kept_absolute(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with Journal.create_run(out / JOURNAL_NAME, {"target": "t"}) as journal:
        journal.record_assembly("g", "failed", path=str(tmp_path / "elsewhere.mp4"))
        journal.record_assembly("h", "failed", path=str(out / "x" / "h.mp4"))
        assert journal.assemblies()["g"].path == str(tmp_path / "elsewhere.mp4")
        assert journal.assemblies()["h"].path == str(out / "x" / "h.mp4")
    with sqlite3.connect(out / JOURNAL_NAME) as db:
        assert dict(db.execute("SELECT grp, path FROM assemblies").fetchall()) == {
            "g": str(tmp_path / "elsewhere.mp4"),
            "h": os.path.join("x", "h.mp4"),
        }
