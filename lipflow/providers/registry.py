"""The only list of providers: every other list (CLI choices, the recipe schema's provider enums,
the mock's routes and URLs, fault rules, the ``--mock`` keys, test fixtures) is derived from it.

Providers come from four places, in this order:

1. the built-ins (runware, pixverse, wavespeed);
2. the ``lipflow.providers`` entry point group of installed distributions, each naming a
   :class:`~lipflow.providers.base.Provider`;
3. modules named by the ``LIPFLOW_PROVIDERS`` environment variable (``module`` or
   ``module:attribute``, comma-separated). The variable is read where lipflow reads its
   environment, the CLI (:mod:`lipflow.cli.environment`), which passes it to :func:`load`;
   a library user calls :func:`load` or :func:`register` the same way;
4. :func:`register`, for tests.

An unknown name is a usage error listing the known ones. Each change bumps :func:`generation`,
so caches keyed on the providers (compiled schemas, the joined catalog) know to rebuild.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from lipflow.errors import UsageError
from lipflow.problems import unknown_name
from lipflow.providers.base import Provider

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "base_urls",
    "generation",
    "get",
    "load",
    "names",
    "providers",
    "register",
    "unregister",
]

BUILTINS = (
    "lipflow.providers.runware",
    "lipflow.providers.pixverse",
    "lipflow.providers.wavespeed",
)
ENTRY_POINT_GROUP = "lipflow.providers"
ENV_VAR = "LIPFLOW_PROVIDERS"

_providers: dict[str, Provider] = {}
_loaded = False
_generation = 0


def _ensure() -> dict[str, Provider]:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTINS:
            register(_provider_at(module))
        for point in _entry_points():
            register(_checked(point.load(), f"entry point {point.name!r}"))
    return _providers


def _entry_points() -> Iterable[Any]:
    """The group's entry points; importlib.metadata only when some distribution may declare one.

    Importing importlib.metadata (email, csv, socket...) and building every distribution's entry
    points was 30-45 ms of a 0.3 s ``lipflow validate``, on machines where no distribution
    declares the group. :func:`_may_declare_group` rules that out by reading the metadata files
    importlib.metadata would read; when it cannot (a zip on ``sys.path``, a finder of its own) or
    finds the group's name, importlib.metadata answers as before.
    """
    if not _may_declare_group():
        return ()
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def _may_declare_group() -> bool:
    """False only when no ``entry_points.txt`` on ``sys.path`` mentions the group.

    The same files importlib.metadata's path finder reads: ``*.dist-info`` and ``*.egg-info``
    directories in each ``sys.path`` directory, and ``EGG-INFO`` in a path entry that is an egg.
    """
    if any(
        hasattr(finder, "find_distributions") and finder is not _PATH_FINDER
        for finder in sys.meta_path
    ):
        return True
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except NotADirectoryError:
            return True  # a zip file: importlib.metadata reads inside it
        except OSError:
            continue  # absent or unreadable: importlib.metadata finds nothing there either
        infos = [c for c in children if c.lower().endswith((".dist-info", ".egg-info"))]
        if os.path.basename(root).lower().endswith(".egg") and any(
            c.lower() == "egg-info" for c in children
        ):
            infos.append("EGG-INFO")
        for info in infos:
            try:
                with open(os.path.join(root, info, "entry_points.txt"), "rb") as fh:
                    if ENTRY_POINT_GROUP.encode() in fh.read():
                        return True
            except OSError:
                continue
    return False


_PATH_FINDER = importlib.machinery.PathFinder


def _checked(value: object, where: str) -> Provider:
    if not isinstance(value, Provider):
        raise UsageError(f"{where} is not a lipflow Provider but {type(value).__name__}")
    return value


def _provider_at(spec: str) -> Provider:
    module, _, attribute = spec.strip().partition(":")
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"{ENV_VAR}: cannot import provider module {module!r}: {exc}") from exc
    value = getattr(loaded, attribute or "PROVIDER", None)
    return _checked(value, f"{spec!r}")


def load(specs: Iterable[str]) -> None:
    """Register the providers named by ``module`` or ``module:attribute`` specs."""
    for spec in specs:
        if spec.strip():
            register(_provider_at(spec))


def register(provider: Provider) -> None:
    """Add (or replace) a provider by its name."""
    global _generation
    _ensure()
    _providers[provider.name] = provider
    _generation += 1


def unregister(name: str) -> None:
    """Remove a provider added by :func:`register` (tests clean up with it)."""
    global _generation
    _ensure().pop(name, None)
    _generation += 1


def get(name: str) -> Provider:
    """The provider called ``name``; an unknown name lists the known ones."""
    found = _ensure().get(name)
    if found is None:
        raise unknown_name("provider", name, sorted(_providers))
    return found


def names() -> tuple[str, ...]:
    """Every provider's name, built-ins first, in registration order."""
    return tuple(_ensure())


def providers() -> tuple[Provider, ...]:
    return tuple(_ensure().values())


def base_urls(overrides: Mapping[str, str]) -> dict[str, str]:
    """Each provider's base URL: ``overrides[wire.url_env]`` when set, else the real endpoint.

    ``overrides`` is a mapping of variables the caller read (the CLI passes its environment).
    """
    urls = {}
    for provider in providers():
        wire = provider.wire
        override = overrides.get(wire.url_env)
        urls[provider.name] = (
            _base_url(wire.url_env, override, wire.key_env) if override else wire.base_url
        ).rstrip("/")
    return urls


def _base_url(var: str, value: str, key_var: str) -> str:
    """``value`` of ``var`` if it is a base URL lipflow can send to; else a UsageError that
    names the variable and never repeats the value (it may hold a password)."""
    example = "e.g. http://127.0.0.1:8080/v1"
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018  (raises on a port out of range or not a number)
    except ValueError:
        raise UsageError(
            f"{var} is not a URL (a port is a number up to 65535; an IPv6 host is in brackets); "
            f"write scheme, host and path, {example}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{var} must be an http:// or https:// URL with a host, {example}")
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"{var} holds credentials (user:password@): a base URL is printed in plans and kept "
            f"in the run journal, so it carries none; lipflow sends the key from {key_var}"
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"{var} has a query or a fragment (?... or #...): a base URL is a scheme, a host, "
            f"a port and a path, {example}"
        )
    return value.strip()


def generation() -> int:
    """A number that changes whenever the set of providers does."""
    _ensure()
    return _generation
