"""What every provider must bring, checked the same way for each registered one (the built-ins
and the fourth, which lives in tests/fourth_provider and is named nowhere in lipflow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lipflow.catalog import CAPABILITIES
from lipflow.cli import cli
from lipflow.providers import registry
from lipflow.providers.base import Provider
from lipflow.schemas import validator_for
from tests.contract.harness import provider_names, registered, walk

REPO = Path(__file__).parents[2]


@pytest.fixture(params=provider_names())
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    with registered(request.param) as found:
        yield found


def _files(provider: Provider) -> dict[str, dict[str, Any]]:
    return {
        p.relative_to(provider.schemas_dir).as_posix(): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(provider.schemas_dir.rglob("*.json"))
    }


def test_the_catalog_slice_is_well_formed(provider: Provider) -> None:
    models = yaml.safe_load(provider.catalog_file.read_text(encoding="utf-8"))["models"]
    assert models, "a provider offers at least one model"
    for model in models:
        assert model["provider"] == provider.name
        assert model["id"].startswith(f"{provider.name}/")
        assert set(model["capabilities"]) <= set(CAPABILITIES), model["id"]
        if model.get("price"):
            price = model["price"]
            assert str(price["url"]).startswith("https://"), f"{model['id']}: price cites no page"
            # The date the price was read there, or why it could not be confirmed.
            assert price.get("read_on") or price.get("unconfirmed"), model["id"]
        for role, limits in (model.get("limits") or {}).items():
            assert limits.get("source"), f"{model['id']} limits.{role} cite no source"


def test_every_schema_loads_and_is_referenced(provider: Provider) -> None:
    files = _files(provider)
    named = {f for e in provider.wire.endpoints for f in e.schema_files()}
    reached = set(named)
    for file in named:
        for _, node in walk(files[file]):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                reached.add(ref.split("#", 1)[0].rsplit("/", 1)[-1])
    assert set(files) == reached, "schema files no endpoint uses, or endpoints naming no file"
    for file, doc in files.items():
        validator_for(f"{provider.name}/{file}").check_schema(doc)


def test_every_rule_cites_its_source(provider: Provider) -> None:
    rules = {"enum", "oneOf", "anyOf", "not", "dependentRequired", "minimum", "maxLength"}
    for file, doc in _files(provider).items():
        assert doc.get("$comment"), f"{file} cites no source"
        for where, node in walk(doc):
            if any(part in where for part in ("/if", "/then", "/else", "/anyOf/", "/oneOf/")):
                continue  # conditions and alternatives: their enclosing rule cites the source
            if rules & set(node):
                assert "$comment" in node, f"{file} {where} has a rule without a $comment"


def test_the_wire_description_is_complete(provider: Provider) -> None:
    wire = provider.wire
    assert wire.base_url.startswith("https://") and wire.base_url.endswith(wire.api_prefix)
    assert wire.doc.startswith("https://") and wire.auth.doc.startswith("https://")
    assert wire.idempotency.doc.startswith("https://")
    ops = {e.op for e in wire.endpoints}
    assert {"submit", "poll"} <= ops
    for endpoint in wire.endpoints:
        assert endpoint.doc.startswith("https://"), endpoint.name
        assert endpoint.request or endpoint.models, f"{endpoint.name} has no request schema"
        assert endpoint.response, f"{endpoint.name} has no response schema"
        assert set(endpoint.params) == set(endpoint.match(endpoint.path) or {}), endpoint.name
    assert {"running", "done", "failed"} <= set(wire.statuses.values())
    assert "capacity" in wire.errors.values() or 429 in wire.errors or wire.errors == {}


def test_the_simulated_twin_serves_every_endpoint(provider: Provider) -> None:
    routes = provider.simulated().routes
    for endpoint in provider.wire.endpoints:
        path = endpoint.path.format(**dict.fromkeys(endpoint.params, "1"))
        assert any(r.method == endpoint.method and r.match(path) is not None for r in routes), (
            f"no route serves {endpoint.method} {endpoint.path}"
        )


def test_the_example_recipe_validates_plans_and_runs_against_the_mock(
    provider: Provider, tmp_path: Path
) -> None:
    recipe = str(provider.example_recipe)
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", recipe])
    assert validated.exit_code == 0, validated.output
    planned = runner.invoke(cli, ["plan", recipe, "--format", "json"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    assert {job["provider"] for job in plan["jobs"]} >= {provider.name}
    ran = runner.invoke(
        cli,
        ["run", recipe, "--mock", "--out", str(tmp_path), "--format", "json", "--allow-unpriced"],
    )
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["ok"] and all(
        Path(o["path"]).stat().st_size for j in report["jobs"] for o in j["outputs"]
    )


def test_the_fourth_provider_works_from_outside_in_a_real_process(tmp_path: Path) -> None:
    """Named only by LIPFLOW_PROVIDERS: validate, plan and run --mock, in a subprocess."""
    env = {
        **os.environ,
        "LIPFLOW_PROVIDERS": "tests.fourth_provider",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    recipe = str(REPO / "tests" / "fourth_provider" / "recipe.yaml")

    def lipflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lipflow", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert lipflow("validate", recipe).returncode == 0
    planned = lipflow("plan", recipe, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["jobs"][0]["provider"] == "lipcraft"
    ran = lipflow("run", recipe, "--mock", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    (job,) = json.loads(ran.stdout)["jobs"]
    assert job["state"] == "done" and job["provider"] == "lipcraft"
    assert "lipcraft" not in registry.names(), "the test process itself never registered it"
