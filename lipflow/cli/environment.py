"""The environment, read in one place: this module is the only one in lipflow that reads
``os.environ``. The rest takes what it needs as arguments (a library user passes any mapping).

Variables: ``LIPFLOW_PROVIDERS`` (more provider modules), each provider's key variable and
``LIPFLOW_*_URL`` (from its wire spec), and ``LIPFLOW_DEBUG``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from lipflow.errors import UsageError

__all__ = ["base_urls", "debug", "environ", "keys_from_env", "keys_set", "load_providers"]


def environ() -> Mapping[str, str]:
    """The process environment."""
    return os.environ


def debug() -> bool:
    """``LIPFLOW_DEBUG``: show a traceback for internal errors."""
    return bool(os.environ.get("LIPFLOW_DEBUG"))


def load_providers(env: Mapping[str, str]) -> None:
    """Register the providers named in ``LIPFLOW_PROVIDERS`` (``module`` or ``module:attr``,
    comma-separated), beside the built-ins and the installed entry points."""
    from lipflow.providers import registry

    named = env.get(registry.ENV_VAR, "")
    if named.strip():
        registry.load(named.split(","))


def base_urls(env: Mapping[str, str]) -> dict[str, str]:
    """Each provider's base URL: its LIPFLOW_*_URL variable when set, else the real endpoint."""
    from lipflow.providers import registry

    return registry.base_urls(env)


def keys_set(env: Mapping[str, str]) -> dict[str, str]:
    """Every registered provider's key that its variable holds: what output must never show."""
    from lipflow.providers import registry

    keys = {}
    for name in registry.names():
        value = env.get(registry.get(name).wire.key_env, "").strip()
        if value:
            keys[name] = value
    return keys


def keys_from_env(providers: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """Each provider's key from its variable; a missing one is a UsageError naming the variable."""
    from lipflow.providers import registry

    held = keys_set(env)
    keys = {name: held[name] for name in sorted(set(providers)) if name in held}
    missing = [registry.get(name).wire.key_env for name in sorted(set(providers) - set(keys))]
    if missing:
        raise UsageError(
            f"set {', '.join(missing)} to run this plan (nothing was sent); "
            "or try it offline with --mock"
        )
    return keys
