"""The mock's request journal keeps no key: not in headers, JSON, query parameters or form text."""

from __future__ import annotations

import json

import httpx

from mock_server import MockServer

SECRET = "sk-mock-journal-canary-93f1"


def test_keys_in_query_parameters_and_form_text_are_redacted(lipflow_mock: MockServer) -> None:
    url = lipflow_mock.urls.runware
    httpx.post(f"{url}?api_key={SECRET}&apiKey={SECRET}", content=f"apiKey={SECRET}&x=1")
    httpx.post(url, headers={"Authorization": f"Bearer {SECRET}"}, json=[{"apiKey": SECRET}])

    kept = json.dumps([r.to_json() for r in lipflow_mock.simulator.journal.records()])

    assert len(lipflow_mock.simulator.journal.records()) == 2
    assert SECRET not in kept
    assert "apiKey=***" in kept
