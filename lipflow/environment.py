"""The environment, read in one place: provider modules, keys and base URLs from variables.

The command line hands ``os.environ`` to these functions; nothing else in lipflow reads it, so
a library user passes whatever mapping they like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lipflow.errors import UsageError

__all__ = ["base_urls", "keys_from_env", "load_providers"]


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

    return {
        p.name: (env.get(p.wire.url_env) or p.wire.base_url).rstrip("/")
        for p in registry.providers()
    }


def keys_from_env(providers: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """Each provider's key from its variable; a missing one is a UsageError naming the variable."""
    from lipflow.providers import registry

    keys: dict[str, str] = {}
    missing = []
    for name in sorted(set(providers)):
        var = registry.get(name).wire.key_env
        value = env.get(var, "").strip()
        if value:
            keys[name] = value
        else:
            missing.append(var)
    if missing:
        raise UsageError(
            f"set {', '.join(missing)} to run this plan (nothing was sent); "
            "or try it offline with --mock"
        )
    return keys
