"""Problem reporters, picked by name: text for people, JSON for programs, GitHub annotations.

``text`` is for people, ``json`` for programs, ``github`` for workflow annotations
(``::error file=...,line=...,col=...::message``) so problems show on the pull request's lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from lipflow.problems import Problem, unknown_name

__all__ = ["PROBLEM_REPORTERS", "report_problems"]


def _text(problems: Sequence[Problem], files: Sequence[str]) -> str:
    lines = []
    for p in problems:
        lines.append(p.format())
        if p.source:
            lines.append(f"  see {p.source}")  # the provider's page the rule comes from
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    checked = ", ".join(files)
    if errors:
        lines.append(f"{checked}: {errors} error(s), {warnings} warning(s)")
    else:
        lines.append(f"{checked}: valid" + (f" ({warnings} warning(s))" if warnings else ""))
    return "\n".join(lines)


def _json(problems: Sequence[Problem], files: Sequence[str]) -> str:
    return json.dumps(
        {
            "files": list(files),
            "valid": not any(p.is_error for p in problems),
            "errors": sum(p.is_error for p in problems),
            "warnings": sum(not p.is_error for p in problems),
            "problems": [p.to_json() for p in problems],
        },
        indent=2,
    )


def _github_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(problems: Sequence[Problem], files: Sequence[str]) -> str:
    lines = []
    for p in problems:
        props = []
        if p.location:
            props.append(f"file={_github_escape(p.location.file, prop=True)}")
            if p.location.line is not None:
                props.append(f"line={p.location.line}")
            if p.location.column is not None:
                props.append(f"col={p.location.column}")
        title = f"lipflow {p.code}"
        props.append(f"title={_github_escape(title, prop=True)}")
        body = p.format().split(": ", 1)[-1] if p.location else p.format()
        lines.append(f"::{p.severity.value} {','.join(props)}::{_github_escape(body)}")
    return "\n".join(lines)


PROBLEM_REPORTERS: dict[str, Callable[[Sequence[Problem], Sequence[str]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
}


def report_problems(fmt: str, problems: Sequence[Problem], files: Sequence[str]) -> str:
    try:
        reporter = PROBLEM_REPORTERS[fmt]
    except KeyError:
        raise unknown_name("format", fmt, PROBLEM_REPORTERS) from None
    return reporter(problems, files)
