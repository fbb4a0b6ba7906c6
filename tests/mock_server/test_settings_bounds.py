"""The mock's own settings refuse NaN, infinities and out-of-range values, each with a clear message.

Through every door a setting comes in: ``lipflow mock serve`` options, the admin API (settings and
fault rules), an ``X-Mock-Fault`` header, and Python.
"""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from mock_server import FaultRule, MockError, MockServer, Simulator


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("nan", "processing_seconds must be a number from 0, at most 3600; got nan"),
        ("inf", "3600"),
        ("1e308", "3600"),
    ],
)
def test_serve_refuses_a_processing_time_that_is_not_a_finite_bounded_number(
    value: str, says: str
) -> None:
    result = CliRunner().invoke(cli, ["mock", "serve", "--processing-seconds", value])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"processing_seconds": 1e308}, "settings: processing_seconds must be a number from 0"),
        ({"processing_seconds": -1}, "settings: processing_seconds must be a number from 0"),
        ({"processing_seconds": "5"}, "settings: processing_seconds must be a number, got '5'"),
        ({"processing_seconds": True}, "must be a number, got True"),
        ({"jitter": 1}, "settings: jitter must be a number from 0, below 1; got 1"),
        ({"jitter": None}, "settings: jitter must be a number, got None"),
        ({"speed": 2}, "settings: unknown key 'speed'"),
        ([1, 2], "settings: expected a JSON object"),
    ],
)
def test_the_admin_api_refuses_bad_settings_and_keeps_the_old_ones(
    mock: MockServer, settings: object, says: str
) -> None:
    reply = httpx.put(mock.urls.admin + "/settings", json=settings)
    assert reply.status_code == 400 and says in reply.json()["error"]
    assert httpx.get(mock.urls.admin + "/settings").json()["processing_seconds"] == 0


@pytest.mark.parametrize("raw", [b'{"jitter": NaN}', b'{"processing_seconds": Infinity}'])
def test_the_admin_api_refuses_nan_and_infinity_as_invalid_json(
    mock: MockServer, raw: bytes
) -> None:
    reply = httpx.put(mock.urls.admin + "/settings", content=raw)
    assert reply.status_code == 400
    assert "is not a JSON value" in reply.json()["error"]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"action": "latency", "seconds": 1e308}, "fault rule: seconds must be a number from 0"),
        ({"action": "latency", "seconds": "slow"}, "fault rule: seconds must be a number"),
        ({"action": "rate_limit", "nth": 1.5}, "fault rule: nth must be a whole number"),
        ({"action": "rate_limit", "count": 0}, "fault rule: count (or null for ever)"),
        ({"action": "concurrency_limit", "limit": -1}, "fault rule: limit must be a whole number"),
        ({"action": "server_error", "status": 200}, "server_error status must be a whole number"),
        ({"action": "drop", "path": ["/v1"]}, "fault rule: path must be a string"),
        ({"action": "latency", "secs": 1}, "did you mean 'seconds'?"),
    ],
)
def test_the_admin_api_refuses_fault_rules_out_of_range(
    mock: MockServer, rule: dict[str, object], says: str
) -> None:
    reply = httpx.post(mock.urls.admin + "/faults", json=rule)
    assert reply.status_code == 400 and says in reply.json()["error"]
    assert httpx.get(mock.urls.admin + "/faults").json() == {"rules": []}


def test_an_x_mock_fault_header_out_of_range_is_refused_in_the_providers_shape(
    mock: MockServer,
) -> None:
    reply = httpx.post(
        mock.urls.wavespeed + "/pixverse/lipsync",
        headers={
            "Authorization": "Bearer k",
            "X-Mock-Fault": '{"action": "latency", "seconds": 1e308}',
        },
        json={},
    )
    assert reply.status_code == 400
    assert reply.json()["message"].startswith("X-Mock-Fault: fault rule: seconds must be")


@pytest.mark.parametrize(
    "options",
    [
        {"processing_seconds": float("nan")},
        {"processing_seconds": float("inf")},
        {"jitter": float("nan")},
        {"jitter": -0.1},
    ],
)
def test_the_python_api_refuses_nan_and_out_of_range_settings(options: dict[str, float]) -> None:
    with pytest.raises(MockError, match="must be a number from 0"):
        Simulator(**options)  # type: ignore[arg-type]


def test_a_fault_rule_refuses_nan_seconds() -> None:
    with pytest.raises(MockError, match="fault rule: seconds must be a number from 0"):
        FaultRule(action="latency", seconds=float("nan"))
