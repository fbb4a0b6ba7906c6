"""Request and reply bodies checked against JSON Schemas built from the provider docs.

Three parts: :mod:`~lipflow.schemas.loading` (documents, ``$ref`` registry, compiled validators),
:mod:`~lipflow.schemas.messages` (jsonschema errors as readable problems) and
:mod:`~lipflow.schemas.checking` (which schema checks which body, asked of the provider objects).
Names load on first use, so importing a submodule does not import the provider registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lipflow._lazy import lazy_exports

_EXPORTS = {
    "PathChecks": "lipflow.schemas.checking",
    "check_request": "lipflow.schemas.checking",
    "check_response": "lipflow.schemas.checking",
    "endpoints": "lipflow.schemas.checking",
    "find_endpoint": "lipflow.schemas.checking",
    "nearest_size": "lipflow.schemas.messages",
    "validate": "lipflow.schemas.messages",
    "validator_for": "lipflow.schemas.loading",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from lipflow.schemas.checking import PathChecks as PathChecks
    from lipflow.schemas.checking import check_request as check_request
    from lipflow.schemas.checking import check_response as check_response
    from lipflow.schemas.checking import endpoints as endpoints
    from lipflow.schemas.checking import find_endpoint as find_endpoint
    from lipflow.schemas.loading import validator_for as validator_for
    from lipflow.schemas.messages import nearest_size as nearest_size
    from lipflow.schemas.messages import validate as validate

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
