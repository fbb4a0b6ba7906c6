"""A provider's client driven against its simulated twin in-process, over the httpx transport.

Used by the contract tests, parametrized over the registry: a provider gets them by being
registered. The job driven is the first job of the provider's example recipe that needs no
other job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from lipflow.jobs import Job, resolve
from lipflow.plan import plan_file
from lipflow.providers import registry
from lipflow.providers._http import classify_status, classify_transport
from lipflow.providers.base import Finished, Flow, Provider, Submitted
from mock_server import Simulator
from mock_server.adapters.transport import MockTransport, transport_urls
from tests.fourth_provider import PROVIDER as FOURTH

T = TypeVar("T")
KEY = "contract-test-key"


def walk(node: object, at: str = "#") -> Iterator[tuple[str, Any]]:
    """Every JSON object inside a schema document, with its JSON pointer."""
    if isinstance(node, dict):
        yield at, node
        for key, value in node.items():
            yield from walk(value, f"{at}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{at}/{i}")


def provider_names() -> list[str]:
    """Every registered provider, and the fourth one the tests bring from outside lipflow."""
    return list(dict.fromkeys([*registry.names(), FOURTH.name]))


@contextmanager
def registered(name: str) -> Iterator[Provider]:
    """The provider ``name``, registered for the duration (the fourth one is not by default)."""
    if name == FOURTH.name and name not in registry.names():
        registry.register(FOURTH)
        try:
            yield FOURTH
        finally:
            registry.unregister(FOURTH.name)
    else:
        yield registry.get(name)


class Harness:
    """One provider, one simulator, one client: each operation as one call."""

    def __init__(self, provider: Provider, **options: Any) -> None:
        self.provider = provider
        self.sim = Simulator(**options)
        self.http = httpx.Client(transport=MockTransport(self.sim), timeout=5)
        self.base = transport_urls(self.sim)[provider.name]
        plan = plan_file(str(provider.example_recipe), env={})
        assert plan.ok, [p.format() for p in plan.problems if p.is_error]
        self.job: Job = next(
            pj.job for pj in plan.jobs if pj.job.provider == provider.name and not pj.job.needs
        )

    def close(self) -> None:
        self.http.close()

    def drive(self, flow: Flow[T]) -> T:
        """Send each request the flow yields; transport errors become lipflow's classes."""
        request = next(flow)
        while True:
            try:
                response = self.http.send(request)
            except httpx.HTTPError as exc:
                raise classify_transport(exc, self.provider.name) from exc
            try:
                request = flow.send(response)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    def upload(self) -> dict[str, Any]:
        """Upload what the job needs uploaded; the submit's media values."""
        client, lookup = self.provider.client, {}
        for role, ref in self.job.media.items():
            if client.needs_upload(ref):
                data = Path(str(ref.value)).read_bytes() if ref.origin == "file" else None
                flow = client.upload_flow(
                    self.job, role, ref, data=data, url=None, base_url=self.base, key=KEY
                )
                for name, value in self.drive(flow).items():
                    lookup[f"uploads.{role}.{name}"] = value
        values: dict[str, Any] = resolve(client.deferred_values(self.job), lookup)
        return values

    def uploads_needed(self) -> bool:
        return any(self.provider.client.needs_upload(r) for r in self.job.media.values())

    def submit(self, values: Mapping[str, Any], *, key: str = KEY) -> Submitted:
        flow = self.provider.client.submit_flow(
            self.job, values, attempt=1, base_url=self.base, key=key
        )
        return self.drive(flow)

    def poll(self, provider_job_id: str) -> Finished:
        flow = self.provider.client.poll_flow(
            self.job, provider_job_id, base_url=self.base, key=KEY
        )
        return self.drive(flow)

    def download(self, url: str) -> bytes:
        """GET an output as the runner does; a failed status is classified the same way."""
        try:
            response = self.http.get(url)
        except httpx.HTTPError as exc:
            raise classify_transport(exc, self.provider.name) from exc
        bad = classify_status(response, self.provider.name, f"download HTTP {response.status_code}")
        if bad is not None:
            raise bad
        return response.content

    def list(self, path: str) -> httpx.Response:
        url = self.base + path.removeprefix(self.provider.wire.api_prefix)
        try:
            return self.http.get(url, headers=self.provider.client.request_headers(KEY))
        except httpx.HTTPError as exc:
            raise classify_transport(exc, self.provider.name) from exc

    def finished(self) -> Finished:
        """Upload, submit and poll until done (the twin finishes jobs at once)."""
        submitted = self.submit(self.upload())
        return self.poll(submitted.provider_job_id)
