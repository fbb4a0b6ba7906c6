"""lipflow's mock server: every registered provider's API offline (Runware, PixVerse Platform
and WaveSpeed built in), faithful enough that the providers' official SDKs run against it unchanged.

Use it to test pipelines and clients without network, keys or bills::

    from mock_server import MockServer

    with MockServer(processing_seconds=0) as mock:
        mock.urls.pixverse                       # http://127.0.0.1:PORT/openapi/v2
        mock.add_fault("lose_reply", provider="pixverse", op="submit")
        ...
        mock.simulator.jobs()                    # every provider job created

From a shell: ``lipflow mock serve --port 0 --print-urls json`` (or ``python -m mock_server``).
In pytest: the ``lipflow_mock`` fixture (registered by lipflow's ``pytest11`` entry point).

The layers: :mod:`~mock_server.core` and :mod:`~mock_server.simulator` (no web framework:
routing, faults, journal, jobs, media), each provider's simulated twin in its own package
(``lipflow/providers/<name>/sim.py``), then thin adapters in :mod:`mock_server.adapters`:
HTTP (pytest-httpserver), WebSocket (websockets) and an in-process httpx transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lipflow._lazy import lazy_exports

# Names load on first use (PEP 562): the pytest plugin imports this package in every pytest
# session of an environment with lipflow installed, and should cost nothing until used.
_EXPORTS = {
    "ACTIONS": "mock_server.faults",
    "DEFAULT_MAX_BODY_BYTES": "mock_server.simulator",
    "OPERATIONS": "mock_server.faults",
    "Clock": "mock_server.clock",
    "FaultRule": "mock_server.faults",
    "ManualClock": "mock_server.clock",
    "MockError": "mock_server.errors",
    "MockServer": "mock_server.server",
    "MockUrls": "mock_server.server",
    "Simulator": "mock_server.simulator",
    "SystemClock": "mock_server.clock",
    "serve": "mock_server.server",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # explicit re-exports, for type checkers
    from mock_server.clock import Clock as Clock
    from mock_server.clock import ManualClock as ManualClock
    from mock_server.clock import SystemClock as SystemClock
    from mock_server.errors import MockError as MockError
    from mock_server.faults import ACTIONS as ACTIONS
    from mock_server.faults import OPERATIONS as OPERATIONS
    from mock_server.faults import FaultRule as FaultRule
    from mock_server.server import MockServer as MockServer
    from mock_server.server import MockUrls as MockUrls
    from mock_server.server import serve as serve
    from mock_server.simulator import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
    from mock_server.simulator import Simulator as Simulator


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
