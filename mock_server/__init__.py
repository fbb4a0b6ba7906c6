"""lipflow's mock server: Runware, PixVerse Platform and WaveSpeed offline, faithful enough
that the providers' official SDKs run against it unchanged.

Use it to test pipelines and clients without network, keys or bills::

    from mock_server import MockServer

    with MockServer(processing_seconds=0) as mock:
        mock.urls.pixverse                       # http://127.0.0.1:PORT/openapi/v2
        mock.add_fault("lose_reply", provider="pixverse", op="submit")
        ...
        mock.simulator.jobs()                    # every provider job created

From a shell: ``lipflow mock serve --port 0 --print-urls json`` (or ``python -m mock_server``).
In pytest: the ``lipflow_mock`` fixture (registered by lipflow's ``pytest11`` entry point).

The layers: :mod:`~mock_server.simulator` (no web framework: routing, faults, journal, jobs,
media) with one module per provider API, then thin adapters :mod:`~mock_server.http_server`
(pytest-httpserver / werkzeug) and :mod:`~mock_server.ws_server` (websockets, for Runware).
"""

from __future__ import annotations

from mock_server.clock import Clock, ManualClock, SystemClock
from mock_server.faults import ACTIONS, OPERATIONS, FaultRule
from mock_server.server import MockServer, MockUrls, serve
from mock_server.simulator import DEFAULT_MAX_BODY_BYTES, Simulator

__all__ = [
    "ACTIONS",
    "DEFAULT_MAX_BODY_BYTES",
    "OPERATIONS",
    "Clock",
    "FaultRule",
    "ManualClock",
    "MockServer",
    "MockUrls",
    "Simulator",
    "SystemClock",
    "serve",
]
