"""A provider's base URL from its LIPFLOW_*_URL variable is checked before anything is planned or
sent: an http(s) URL with a host, no credentials (a base URL is printed in plans and kept in the
run journal, so a password in it would leak), no query or fragment. A bad one is a usage error
(exit 2) that names the variable and never repeats the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lipflow.cli import cli
from lipflow.errors import UsageError
from lipflow.providers import registry

QUICKSTART = str(Path(__file__).parents[2] / "recipes" / "quickstart.yaml")
SECRET = "pa55-w0rd-xyz"

BAD = [
    ("file:///etc/passwd", "must be an http:// or https:// URL with a host"),
    ("ftp://example.com/v1", "must be an http:// or https:// URL with a host"),
    ("http://", "must be an http:// or https:// URL with a host"),
    ("api.runware.ai/v1", "must be an http:// or https:// URL with a host"),
    (f"http://user:{SECRET}@127.0.0.1:8080/v1", "holds credentials (user:password@)"),
    (f"http://{SECRET}@127.0.0.1:8080/v1", "holds credentials (user:password@)"),
    ("http://[::1/v1", "is not a URL"),
    ("http://127.0.0.1:99999/v1", "is not a URL (a port is a number up to 65535"),
    (f"https://api.runware.ai/v1?token={SECRET}", "has a query or a fragment"),
    ("https://api.runware.ai/v1#top", "has a query or a fragment"),
]
IDS = ["file", "ftp", "no-host", "no-scheme", "password", "user", "ipv6", "port", "query", "frag"]


@pytest.mark.parametrize(("url", "says"), BAD, ids=IDS)
@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_bad_base_url_is_a_usage_error_that_never_repeats_it(
    url: str, says: str, command: str, tmp_path: Path
) -> None:
    env = {"LIPFLOW_RUNWARE_URL": url, "RUNWARE_API_KEY": "k"}
    args = [command, QUICKSTART] + (
        ["--out", str(tmp_path / "out"), "--yes"] if command == "run" else []
    )

    result = CliRunner().invoke(cli, args, env=env)

    assert result.exit_code == 2, result.output
    assert f"LIPFLOW_RUNWARE_URL {says}" in result.stderr
    assert SECRET not in result.output + result.stderr
    words = result.stderr.replace(says, "").replace("e.g. http://127.0.0.1:8080/v1", "")
    assert url not in words, "the value is not repeated"
    assert not (tmp_path / "out").exists(), "nothing was run"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/v1", "https://proxy.example.com/runware/v1/", "http://[::1]:9/v1"],
)
def test_a_good_base_url_is_used_as_written_without_a_trailing_slash(url: str) -> None:
    urls = registry.base_urls({"LIPFLOW_RUNWARE_URL": url})
    assert urls["runware"] == url.rstrip("/")


def test_the_python_api_checks_base_urls_the_same_way() -> None:
    with pytest.raises(UsageError, match="holds credentials") as refused:
        registry.base_urls({"LIPFLOW_RUNWARE_URL": f"http://u:{SECRET}@h/v1"})
    assert SECRET not in str(refused.value)
