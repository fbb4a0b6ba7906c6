"""Package attributes that import their module on first use (PEP 562).

``lipflow`` and ``mock_server`` both export names this way, so importing the package (for
``lipflow --version``, or as a pytest plugin in every test session) costs nothing until used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_exports", "lazy_module"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``exports`` map name -> module."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return list(getattr(sys.modules[package], "__all__", sorted(exports)))

    return __getattr__, __dir__


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, executed on its first attribute access (``importlib.util.LazyLoader``).

    For a library only some commands use: the provider clients build ``httpx`` requests when a
    run sends them, and ``lipflow validate`` (which plans, so loads the clients) never does;
    httpx with its optional CLI pulls in rich, about a third of validate's start-up.
    """
    found = sys.modules.get(name)
    if found is not None:
        return found
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return importlib.import_module(name)  # raises the usual ImportError
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
