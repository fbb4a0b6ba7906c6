"""Every provider's client against its simulated twin, in-process: every operation and every
fault kind, and how the client classifies each. Parametrized over the registry, so a provider
gets this contract by being registered (see tests/fourth_provider)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lipflow.errors import (
    JobFailed,
    ProviderAmbiguous,
    ProviderCapacity,
    ProviderError,
    ProviderRejected,
)
from lipflow.media import probe_bytes
from lipflow.schemas import check_response
from tests.contract.harness import Harness, provider_names, registered


@pytest.fixture(params=provider_names())
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with registered(request.param) as provider:
        h = Harness(provider, seed=7)
        yield h
        h.close()
    assert h.sim.internal_errors == [], "the twin hit a bug"


# ---------------------------------------------------------------------------------- operations


def test_upload_submit_poll_and_download_make_real_media(harness: Harness) -> None:
    finished = harness.finished()
    assert finished.done and finished.outputs
    media = harness.download(finished.outputs[0])
    assert probe_bytes(media).kind == "video"
    (job,) = harness.sim.jobs(harness.provider.name)
    assert job.state(harness.sim.clock.now()) == "succeeded"


def test_a_job_still_running_is_polled_again(harness: Harness) -> None:
    harness.sim.processing_seconds = 60
    submitted = harness.submit(harness.upload())
    assert not harness.poll(submitted.provider_job_id).done
    harness.sim.processing_seconds = 0
    assert not harness.poll(submitted.provider_job_id).done, "the job keeps its ready time"


def test_every_list_endpoint_answers_in_its_documented_shape(harness: Harness) -> None:
    for endpoint in harness.provider.wire.endpoints:
        if endpoint.op != "list":
            continue
        reply = harness.list(endpoint.path)
        assert reply.status_code == 200
        problems = check_response(
            harness.provider.name, reply.json(), endpoint=endpoint.path, method=endpoint.method
        )
        assert not [p for p in problems if p.is_error]


def test_a_wrong_key_is_rejected(harness: Harness) -> None:
    values = harness.upload()
    harness.sim.api_key = "the-right-key"
    with pytest.raises(ProviderRejected):
        harness.submit(values, key="a-wrong-key")
    assert harness.sim.jobs(harness.provider.name) == []


def test_resending_a_lost_submit_does_what_the_wire_declares(harness: Harness) -> None:
    values = harness.upload()
    harness.sim.add_fault("lose_reply", provider=harness.provider.name, op="submit", count=1)
    with pytest.raises(ProviderAmbiguous):
        harness.submit(values)
    assert len(harness.sim.jobs(harness.provider.name)) == 1, "the job exists; its ack was lost"
    again = harness.submit(values)
    if harness.provider.wire.idempotency.deduplicated:
        assert again.existed and len(harness.sim.jobs(harness.provider.name)) == 1
    else:
        assert not again.existed and len(harness.sim.jobs(harness.provider.name)) == 2


# ---------------------------------------------------------------------------------- faults

REQUEST_FAULTS: dict[str, type[ProviderError] | None] = {
    "latency": None,
    "rate_limit": ProviderCapacity,
    "server_error": ProviderAmbiguous,
    "malformed_json": ProviderAmbiguous,
    "drop": ProviderAmbiguous,
    "lose_reply": ProviderAmbiguous,
}


def _op(harness: Harness, op: str) -> object:
    """Run ``op`` (upload, submit or poll) with everything before it done."""
    if op == "upload":
        return harness.upload()
    values = harness.upload()
    if op == "submit":
        return harness.submit(values)
    submitted = harness.submit(values)
    return harness.poll(submitted.provider_job_id)


@pytest.mark.parametrize("fault", list(REQUEST_FAULTS))
@pytest.mark.parametrize("op", ["upload", "submit", "poll"])
def test_request_faults_are_classified(harness: Harness, op: str, fault: str) -> None:
    assert harness.uploads_needed(), "an example job must upload a file, so uploads are tested"
    harness.sim.add_fault(fault, provider=harness.provider.name, op=op, count=1, seconds=0.01)
    expected = REQUEST_FAULTS[fault]
    if expected is None:
        _op(harness, op)
    else:
        with pytest.raises(expected):
            _op(harness, op)
    record = harness.sim.journal.records(provider=harness.provider.name, op=op)[0]
    assert fault in record.faults


@pytest.mark.parametrize("fault", ["latency", "rate_limit", "server_error", "drop", "lose_reply"])
def test_download_faults_are_classified(harness: Harness, fault: str) -> None:
    finished = harness.finished()
    harness.sim.add_fault(fault, op="download", count=1, seconds=0.01)
    expected = REQUEST_FAULTS[fault]
    if expected is None:
        assert harness.download(finished.outputs[0])
    else:
        with pytest.raises(expected):
            harness.download(finished.outputs[0])
        assert harness.download(finished.outputs[0]), "the next try gets the file"


@pytest.mark.parametrize(
    ("fault", "reason"), [("moderation", "moderation"), ("generation_failure", "generation")]
)
def test_a_failed_job_is_reported_by_the_poll(harness: Harness, fault: str, reason: str) -> None:
    harness.sim.add_fault(fault, provider=harness.provider.name, op="submit", count=1)
    with pytest.raises(JobFailed) as failed:
        harness.finished()
    assert failed.value.reason == reason


def test_a_concurrency_limit_refuses_the_submit_as_capacity(harness: Harness) -> None:
    values = harness.upload()
    harness.sim.add_fault("concurrency_limit", provider=harness.provider.name, limit=0)
    with pytest.raises(ProviderCapacity):
        harness.submit(values)
    assert harness.sim.jobs(harness.provider.name) == []
