"""A full or read-only disk stops the run with a clear message and exit code 6 (DiskError); the
journal keeps what was done, so a later run resumes without buying anything again.

The disk fails through the runner's public ``open_file`` seam (a full disk cannot be made
portably without privileges), over real sockets to the bundled mock.
"""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from lipflow.errors import DiskError
from lipflow.plan import plan_file
from lipflow.run.downloads import INLINE_OPEN_S
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from lipflow.run.transport import AiohttpSender
from mock_server import MockServer
from tests.runner.conftest import FAST, RECIPES, keys_for_all, urls_of


def failing(code: int) -> object:
    def open_file(path: Path) -> BinaryIO:
        raise OSError(code, __import__("os").strerror(code), str(path))

    return open_file


def run(
    mock: MockServer, out: Path, open_file: object = None, recipe: str = "quickstart.yaml"
) -> None:
    plan = plan_file(str(RECIPES / recipe), env={})
    settings = RunSettings(
        out_dir=out, base_urls=urls_of(mock), keys=keys_for_all(), retry=FAST, allow_unpriced=True
    )

    async def main() -> None:
        async with AiohttpSender() as client:
            await Runner(plan, settings, client, open_file=open_file).run()  # type: ignore[arg-type]

    asyncio.run(main())


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "No space left on device; free some space"),
        (
            errno.EROFS,
            "Read-only file system; the file system is read-only: choose a writable --out",
        ),
    ],
    ids=["full", "read-only"],
)
def test_a_disk_that_cannot_take_an_output_stops_the_run_with_exit_6_and_resumes_later(
    code: int, said: str, lipflow_mock: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    with pytest.raises(DiskError) as raised:
        run(lipflow_mock, out, failing(code))

    assert raised.value.exit_code == 6
    assert said in raised.value.format() and str(out) in raised.value.format()
    run(lipflow_mock, out)  # room again: the resume downloads what was paid for
    assert len(lipflow_mock.simulator.jobs("runware")) == 1, "nothing was bought twice"
    assert [p.suffix for p in out.iterdir() if p.suffix == ".mp4"] == [".mp4"]


def test_output_files_slow_to_create_are_opened_off_the_loop_and_every_output_is_saved(
    lipflow_mock: MockServer, tmp_path: Path
) -> None:
    """An output file is opened on the loop while creating one is quick; once creating them has
    been slow (a file system's journal behind another process's fsync), on a worker thread, so
    the loop serves the other jobs meanwhile."""
    on_the_loop: list[bool] = []

    def slow_open(path: Path) -> BinaryIO:
        on_the_loop.append(threading.current_thread() is threading.main_thread())
        time.sleep(INLINE_OPEN_S * 10)
        return open(path, "wb")

    out = tmp_path / "out"
    run(lipflow_mock, out, slow_open, recipe="teaser.yaml")

    assert on_the_loop == [True, False], "the first on the loop, the next one after it was slow"
    assert len([p for p in out.iterdir() if p.suffix == ".mp4"]) == 2


def test_a_provider_job_id_the_full_journal_could_not_keep_is_said_in_the_error(
    lipflow_mock: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills between the submit and the commit of its job id: the job is bought, and
    the error is the one place left to say where it is."""
    import sqlite3

    from lipflow.run.journal import Journal

    def full(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Journal, "record_submitted", full)
    with pytest.raises(DiskError) as raised:
        run(lipflow_mock, tmp_path / "out")

    (job,) = lipflow_mock.simulator.jobs("runware")
    said = raised.value.format()
    assert raised.value.exit_code == 6 and "database or disk is full" in said
    assert f"hello at runware (provider job {job.id})" in said
