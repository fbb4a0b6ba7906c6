"""A request body as the simulator sees it: raw bytes, or a parsed form (werkzeug's parser)."""

from __future__ import annotations

import io
from typing import Any

from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from mock_server.core import MockRequest, UploadedFile

__all__ = ["with_body"]

_FORMS = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def with_body(common: dict[str, Any], body: bytes, content_type: str | None) -> MockRequest:
    """A :class:`MockRequest` of ``common`` fields and ``body``, its form parsed if it is one."""
    if content_type is None or "form" not in content_type.lower():  # JSON, most of all
        return MockRequest(**common, body=body)
    mimetype, params = parse_options_header(content_type or "")
    mimetype = mimetype.lower()
    if mimetype not in _FORMS:
        return MockRequest(**common, body=body)
    parser = FormDataParser(silent=False)
    try:
        _, form, files = parser.parse(io.BytesIO(body), mimetype, len(body), params)
    except (ValueError, OSError) as exc:
        return MockRequest(**common, body=body, form_error=f"the form is malformed ({exc})")
    uploads = {}
    for name, storage in files.items():
        try:
            uploads[name] = UploadedFile(
                filename=storage.filename,
                content_type=storage.mimetype or None,
                data=storage.read(),
            )
        finally:
            storage.close()  # werkzeug spools parts to temporary files: close them now
    return MockRequest(**common, body=body, form={k: form[k] for k in form}, files=uploads)
