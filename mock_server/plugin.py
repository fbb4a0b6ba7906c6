"""pytest plugin: a running mock server for every test that asks for ``lipflow_mock``.

Registered through lipflow's ``pytest11`` entry point, so installing lipflow is enough. One
server (pytest-httpserver's ``HTTPServer`` underneath, on free ports) lives for the session; each
test gets it reset to how it started, and after the test any error the mock hit while handling a
request fails that test (deferred assertions, as pytest-httpserver's ``check_assertions``).

    def test_my_client(lipflow_mock):
        client = MyClient(base_url=lipflow_mock.urls.pixverse, api_key="any")
        ...
        assert len(lipflow_mock.simulator.jobs("pixverse")) == 1
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixture: the plugin loads in every pytest session
    from mock_server.server import MockServer


@pytest.fixture(scope="session")
def lipflow_mock_server() -> Iterator[MockServer]:
    """The session's mock server, started once; prefer ``lipflow_mock``, which resets it."""
    from mock_server.server import MockServer

    with MockServer() as server:
        yield server


@pytest.fixture
def lipflow_mock(lipflow_mock_server: MockServer) -> Iterator[MockServer]:
    """The mock server, reset: no jobs, media, journal or faults; zero processing time."""
    lipflow_mock_server.reset()
    yield lipflow_mock_server
    lipflow_mock_server.check()
