"""The simulator's vocabulary: requests and replies without a web framework, routes, and jobs.

Adapters (HTTP over werkzeug, WebSocket over ``websockets``) turn their transport's messages into
:class:`MockRequest` and send back a :class:`Reply`; provider modules answer with the same types.
Keeping these plain lets the whole simulator run, and be tested, without a socket.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

if TYPE_CHECKING:
    from lipflow.providers.base import JobOutcome as WireMeaning
    from mock_server.faults import FaultContext, FaultRule
    from mock_server.journal import Record
    from mock_server.redaction import Scrubber
    from mock_server.simulator import Simulator
    from mock_server.store import MediaItem

__all__ = [
    "Call",
    "InvalidBody",
    "Job",
    "JobEnding",
    "JobState",
    "MockRequest",
    "Reply",
    "Route",
    "SimulatedApi",
    "UploadedFile",
    "WsSession",
    "json_body",
    "parse_json",
]

# What the mock parses of a JSON body. The providers' own parsers refuse documents nested without
# end, numbers no 64-bit field holds, and NaN/Infinity (not JSON); Python's would take the last two
# and fail on the first deep inside the handler, so the mock refuses them as the providers do.
MAX_JSON_DEPTH = 64
_INT_RANGE = 2**63

JobEnding = Literal["success", "moderation", "generation_failure"]  # decided at submit
JobState = Literal["processing", "succeeded", "moderated", "failed"]
# What each state means in a provider's wire terms (its ``statuses`` table).
MEANINGS: Mapping[JobState, WireMeaning] = {
    "processing": "running",
    "succeeded": "done",
    "moderated": "moderated",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadedFile:
    """A file field of a multipart form."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True, kw_only=True)
class WsSession:
    """One WebSocket connection: authenticated or not, and its session id."""

    path: str
    headers: Mapping[str, str]
    api_key_ok: bool = False
    session_uuid: str | None = None


# Not frozen: a frozen dataclass sets each of its 13 fields through object.__setattr__, 24,000
# instructions a request against 7,600; nothing changes a request once an adapter has made it.
@dataclass(slots=True, kw_only=True)
class MockRequest:
    """One request as the simulator sees it, never changed once made; header names are
    lower-case.

    ``oversize`` is the announced length of a body the adapter refused to read (over the cap);
    ``form``/``files`` hold a parsed multipart form, ``form_error`` why it could not be parsed;
    ``body_error`` says why the body could not be read at all (a malformed chunked encoding).
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    form: Mapping[str, str] | None = None
    files: Mapping[str, UploadedFile] | None = None
    form_error: str | None = None
    body_error: str | None = None
    oversize: int | None = None
    transport: Literal["http", "ws"] = "http"
    session: WsSession | None = None
    # json_body's document, parsed once however many handlers ask (a Runware request: two)
    _json: list[Any] = field(default_factory=list, init=False, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class InvalidBody:
    """Stands for a body that is not valid JSON; carries the parser's reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def json_body(request: MockRequest) -> Any:
    """The request's JSON document, or an :class:`InvalidBody` saying why there is none.

    Parsed once per request: the handlers that ask read it and never change it."""
    if not request._json:
        body = request.body
        empty = not body or body.isspace()  # not body.strip(), without copying a long body
        request._json.append(
            InvalidBody("the body is empty") if empty else parse_json(request.body)
        )
    return request._json[0]


def parse_json(raw: bytes | str) -> Any:
    """A JSON document within the mock's bounds, or an :class:`InvalidBody` saying why not.

    A body is parsed by orjson first, four to ten times faster; what it gives is kept only
    when it is the document the standard parser gives (see :func:`_fast_document`), otherwise
    the standard parser decides and words the verdict."""
    if isinstance(raw, bytes):
        document = _fast_document(raw)
        if document is not _UNDECIDED:
            return document
    return _standard_document(raw)


_UNDECIDED = object()
_FLOAT_EXACT = float(_INT_RANGE)  # orjson reads an integer past 64 bits as a float this large
# The shortest integer out of the signed 64-bit range has 19 digits (9223372036854775808): a
# text with every digit made "0" holds nineteen "0"s in a row where it has one.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_LONG_DIGITS = b"0" * 19
_SCAN = 4096  # a longer body is checked by walking its document, not by searching its text


def _fast_document(raw: bytes) -> Any:
    """orjson's document of ``raw`` if the standard parser (below) gives the same one, else
    ``_UNDECIDED``. Both take only UTF-8 JSON text without a BOM, lone surrogates, NaN or
    Infinity, and read strings, integers and floats alike; orjson differs in taking integers
    of up to 64 bits unsigned (and longer ones as floats), so a document with an integer out
    of the signed 64-bit range, or a float that large (which could have been such an integer),
    is left to the standard parser, as is one nested deeper than the bound.

    A short text with too few brackets to nest that deep and no run of 19 digits holds no such
    integer and no float orjson made of one: its document is kept without a walk."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _UNDECIDED
    if (
        len(raw) <= _SCAN
        and not _may_nest_deeper(raw)
        and raw.translate(_DIGITS_AS_ZERO).find(_LONG_DIGITS) < 0  # not `in`: see _may_differ
    ):
        return document
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is dict:
            node = node.values()
        elif kind is int:
            if not -_INT_RANGE <= node < _INT_RANGE:
                return _UNDECIDED
            continue
        elif kind is float:
            if not -_FLOAT_EXACT < node < _FLOAT_EXACT:  # also refuses NaN
                return _UNDECIDED
            continue
        elif kind is not list:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return _UNDECIDED
        stack.extend((child, depth + 1) for child in node)
    return document


def _standard_document(raw: bytes | str) -> Any:
    """:func:`parse_json` by the standard library's parser, with the mock's bounds as hooks."""
    try:
        # json.loads, with one decoder for every body (json.loads builds one per call)
        text = (
            raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        )
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
    except UnicodeDecodeError:
        return InvalidBody("the body is not UTF-8 text")
    except json.JSONDecodeError as exc:
        return InvalidBody(f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return InvalidBody(f"the document is nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as exc:  # raised by the hooks below
        return InvalidBody(str(exc))
    if _may_nest_deeper(raw) and _depth(document) > MAX_JSON_DEPTH:
        return InvalidBody(f"the document is nested deeper than {MAX_JSON_DEPTH} levels")
    return document


def _may_nest_deeper(raw: bytes | str) -> bool:
    """False when ``raw`` is short and has too few brackets to nest deeper than the bound: a
    count costs less than walking the document, but only while the text is short."""
    if len(raw) > 4096:
        return True
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    return raw.count("[") + raw.count("{") > MAX_JSON_DEPTH


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bounded_int(text: str) -> int:
    # Length first: int() of thousands of digits is slow, and past 4,300 refused by Python.
    if len(text.lstrip("-")) > 19 or not -_INT_RANGE <= (value := int(text)) < _INT_RANGE:
        shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"
        raise ValueError(f"the number {shown} is out of the 64-bit integer range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"
        raise ValueError(f"the number {shown} is out of the floating-point range")
    return value


_DECODER = json.JSONDecoder(
    parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float
)


def _depth(document: Any) -> int:
    """How deep containers nest in ``document``, counted without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return deepest


# One encoder for every reply: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# What orjson gives the standard encoder's types to (which then decides, as it would alone).
_FAST_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# Where orjson's text may differ from the standard encoder's: null, which is also what orjson
# writes for NaN and Infinity (the standard encoder: NaN, Infinity), a float below 1e-4 written
# in decimal (0.00001, not 1e-05), or one with a one-digit negative exponent (3e-8, not 3e-08:
# a number ends where the text ends or at ``,``, ``]`` or ``}``). Text in a string that looks
# like one of these only sends the document to the standard encoder.
_SHORT_EXPONENT = re.compile(r"e-[0-9](?:[,\]}]|\Z)")  # a literal first: a fast search


def _may_differ(text: str) -> bool:
    """Whether orjson's ``text`` may not be the standard encoder's (see above). Searched as
    str: ``bytes in bytes`` first tries its operand as an int (2,400 instructions a search,
    against 400)."""
    return (
        "null" in text
        or "0.0000" in text
        or ("e-" in text and _SHORT_EXPONENT.search(text) is not None)  # a search is a call more
    )


def _json_text(document: Any) -> str:
    """``_ENCODER.encode(document)``, by orjson (ten times faster) when its text is surely the
    same: orjson writes strings, integers, lists and objects alike, refuses what it cannot
    write as the standard encoder would (non-string keys, integers past 64 bits, lone
    surrogates, subclasses: those are left to the standard encoder), and differs only on the
    floats and nulls :func:`_may_differ` finds. Two types the standard encoder refuses
    (``uuid.UUID``, ``enum.Enum``) orjson writes: no handler puts either in a reply."""
    try:
        raw = orjson.dumps(document, option=_FAST_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return _ENCODER.encode(document)
    text = raw.decode()
    if _may_differ(text):
        return _ENCODER.encode(document)
    return text


@dataclass(slots=True, kw_only=True)
class Reply:
    """What to send back: a JSON document or raw bytes, or nothing at all (``drop``).

    ``delay`` is how long the adapter waits before answering (latency faults, WaveSpeed sync
    mode); ``malformed`` sends a truncated body in place of the document.
    """

    status: int = 200
    document: Any = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    malformed: bool = False
    # The document as JSON text, encoded once for the journal and the adapter: the document is
    # final once the simulator has handled the request.
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def json_text(self) -> str:
        """The document as the reply's JSON text (TypeError/ValueError if it is not JSON)."""
        if self._text is None:
            self._text = _json_text(self.document)
        return self._text

    def payload(self) -> bytes:
        if self.body is not None and self.document is None:
            return self.body
        text = self.json_text().encode()
        if self.malformed:
            # Cut mid-document: what a proxy that died half-way through a reply sends.
            return text[: max(1, len(text) // 2)]
        return text


@dataclass(slots=True, kw_only=True)
class Call:
    """A routed request being handled: the request, its path parameters and fault context."""

    sim: Simulator
    request: MockRequest
    params: dict[str, str]
    ctx: FaultContext
    record: Record
    one_off: tuple[FaultRule, ...] = ()
    scrubber: Scrubber | None = None  # what the journal learnt of this request's credentials
    # The body is a JSON document (json_body's), the journal's and the handlers' alike.
    body_as_parsed: bool = False


Handler = Callable[[Call], Reply]
Classifier = Callable[[MockRequest, dict[str, str]], tuple[str | None, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class Route:
    """``method`` + path template (``{name}`` matches one segment) -> handler.

    ``op`` is the fault-rule operation of every request on this route; ``classify`` decides it
    from the body instead (one batch of tasks can be a submit or a poll) and names the jobs
    involved; otherwise the path parameter ``job_param`` names the job (a poll's job id).
    """

    method: str
    template: str
    provider: str | None
    op: str | None
    handler: Handler
    classify: Classifier | None = None
    job_param: str | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    # A template without parameters matches its own text only (and, as ``$`` does, that text
    # and a newline): compared, not searched.
    _fixed: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        object.__setattr__(self, "_fixed", "{" not in self.template)

    def match(self, path: str) -> dict[str, str] | None:
        if self._fixed:
            return {} if path == self.template or path == self.template + "\n" else None
        found = self.pattern.match(path)
        return found.groupdict() if found else None

    def describe(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(slots=True, kw_only=True)
class Job:
    """A provider job: when it finishes, how it ends, its outputs and its would-be charge."""

    provider: str
    id: str
    model: str
    created_at: float
    created_wall: float
    ready_at: float
    outcome: JobEnding
    duration_s: float
    duration_basis: str
    outputs: list[MediaItem]
    cost_usd: float | None
    credits: int | None
    cost_basis: str
    # What the job keeps of the request that made it (:attr:`request`), or what works it out
    # (``kept_later``) when first read: most jobs' requests never are.
    kept_request: Any
    stuck: bool = False  # PixVerse: a reused Ai-Trace-Id leaves the job generating for ever
    extra: dict[str, Any] = field(default_factory=dict)
    kept_later: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def request(self) -> Any:
        """The request that made the job, as the journal keeps a request (credentials out)."""
        later = self.kept_later
        if later is not None:  # a reader in between works out the same value again
            self.kept_request = later()
            self.kept_later = None
        return self.kept_request

    def state(self, now: float) -> JobState:
        if self.stuck or now < self.ready_at:
            return "processing"
        return {"success": "succeeded", "moderation": "moderated"}.get(  # type: ignore[return-value]
            self.outcome, "failed"
        )

    def meaning(self, now: float) -> WireMeaning:
        """The job's state as a wire status means it: ``wire.status_for(job.meaning(now))``."""
        return MEANINGS[self.state(now)]

    def to_json(self, now: float, base_url: str) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "id": self.id,
            "model": self.model,
            "state": self.state(now),
            "outcome": self.outcome,
            "created_at": self.created_wall,
            "ready_in_s": max(0.0, round(self.ready_at - now, 3)),
            "duration_s": self.duration_s,
            "duration_basis": self.duration_basis,
            "outputs": [base_url + item.path for item in self.outputs],
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "credits": self.credits,
            "cost_basis": self.cost_basis,
            "stuck": self.stuck,
            "request": self.request,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedApi:
    """A provider's simulated twin (:class:`lipflow.providers.base.SimulatedProvider`): its
    routes, its WebSocket route if any, and how it words an injected HTTP-level failure."""

    routes: tuple[Route, ...]
    fault_reply: Callable[[Call, int, str], Reply]
    ws_route: Route | None = None
