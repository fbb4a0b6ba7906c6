"""A full or read-only disk stops the run with a clear message and exit code 6 (DiskError); the
journal keeps what was done, so a later run resumes without buying anything again.

The disk fails through the runner's public ``open_file`` seam (a full disk cannot be made
portably without privileges), over real sockets to the bundled mock.
"""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path
from typing import BinaryIO

import pytest

from lipflow.errors import DiskError
from lipflow.plan import plan_file
from lipflow.run.runner import Runner
from lipflow.run.settings import RunSettings
from lipflow.run.transport import AiohttpSender
from mock_server import MockServer
from tests.runner.conftest import FAST, RECIPES, keys_for_all, urls_of


def failing(code: int) -> object:
    def open_file(path: Path) -> BinaryIO:
        raise OSError(code, __import__("os").strerror(code), str(path))

    return open_file


def run(mock: MockServer, out: Path, open_file: object = None) -> None:
    plan = plan_file(str(RECIPES / "quickstart.yaml"), env={})
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
