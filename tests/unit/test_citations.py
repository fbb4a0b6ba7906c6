"""Every citation lipflow ships is one a user can follow: a provider's public documentation URL.

lipflow's research notes (stored copies of the provider pages and a summary of them) do not ship,
so nothing that ships may point at them; and every rule in a provider schema names the public page
(and section anchor, where the page has one) it comes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lipflow.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    ROOT / "lipflow",
    ROOT / "mock_server",
    ROOT / "schemas",
    ROOT / "recipes",
    ROOT / "README.md",
]
TEXT_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".md", ".txt", ".toml"}
# Names of the research material that never ships with lipflow: its stored pages were cited as
# "seed 000 §..." (a random "seed N" option of the mock is not one: it is never three digits).
UNSHIPPED = re.compile(r"\bseed \d{3}|\bseed\d{3}|seeds/|PROVIDERS\.md|\.\./shared")
# Where provider documentation lives: the providers' own doc sites, and the clients each provider
# publishes in its own GitHub organization (what the official clients send is documentation too).
DOC_HOSTS = (
    "https://runware.ai/docs/",
    "https://docs.platform.pixverse.ai/",
    "https://wavespeed.ai/docs",
    "https://github.com/Runware/sdk-python",
    "https://github.com/WaveSpeedAI/wavespeed-python",
    "https://github.com/PixVerseAI/PixVerse-MCP",  # PixVerse's own published client
)
URL = re.compile(r"https://[^\s\"'),;]+")


def _shipped_files() -> Iterator[Path]:
    for root in SHIPPED:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                yield path


def test_no_shipped_file_points_at_research_notes_that_do_not_ship() -> None:
    offenders = []
    for path in _shipped_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNSHIPPED.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == [], "\n".join(offenders)


def test_the_check_finds_a_research_citation() -> None:
    """The pattern above is not vacuous: the old citation styles match it."""
    for old in (
        "seed 000 §speech.voice",
        "PROVIDERS.md §5",
        "../shared",
        "seeds/README",
        "seed001",
    ):
        assert UNSHIPPED.search(old), old


def _comments(node: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$comment" and isinstance(value, str):
                yield where, value
            else:
                yield from _comments(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _comments(value, f"{where}[{i}]")


PROVIDER_SCHEMAS = sorted(p for p in (ROOT / "schemas").glob("*/*.json"))


@pytest.mark.parametrize("path", PROVIDER_SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_schema_comment_cites_a_provider_doc_url(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    comments = list(_comments(doc))
    assert comments, f"{path.name} cites nothing"
    for where, comment in comments:
        urls = URL.findall(comment)
        assert urls, f"{path.name} {where}: no https URL in {comment!r}"
        assert all(u.startswith(DOC_HOSTS) for u in urls), (
            f"{path.name} {where}: {urls} is not a provider documentation page"
        )


def test_the_host_check_refuses_a_page_elsewhere() -> None:
    assert not "https://example.com/docs#x".startswith(DOC_HOSTS)
    assert "https://runware.ai/docs/models/sync-lipsync-2#request-model".startswith(DOC_HOSTS)


def test_every_catalog_fact_cites_a_provider_doc_url() -> None:
    for path in sorted((ROOT / "lipflow" / "providers").glob("*/catalog.yaml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            cited = [limit["source"] for limit in (model.get("limits") or {}).values()]
            cited += [model[k] for k in ("source", "voices_source") if k in model]
            if model.get("price"):
                cited.append(model["price"]["url"])
            for citation in cited:
                assert str(citation).startswith(DOC_HOSTS), f"{model['id']}: {citation!r}"


def test_every_loaded_price_names_its_page_and_read_date_or_why_not() -> None:
    for entry in load_catalog().models:
        if entry.price is None:
            continue
        assert entry.price.source.startswith(DOC_HOSTS), entry.id
        if entry.price.as_of is None:
            assert entry.price.unconfirmed, f"{entry.id}: no read date and no reason"
        else:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.price.as_of), entry.id


def test_the_research_check_leaves_a_random_seed_alone() -> None:
    assert not UNSHIPPED.search("--seed N, the seed used for generation")
