"""Problems and did-you-mean: suggestions help only where a near miss means something."""

from __future__ import annotations

import pytest

from lipflow.problems import Location, Problem, Severity, did_you_mean, format_path


@pytest.mark.parametrize(
    ("value", "choices", "expected"),
    [
        ("crane_u", ["crane_up", "zoom_in"], "crane_up"),
        ("sofia", ["Sophia", "Ava"], "Sophia"),
        ("AUTO", ["auto"], "auto"),
        ("motionmode", ["motionMode", "style"], "motionMode"),
        ("15", ["1", "5", "Auto"], None),
        ("xyz", ["Emily", "James"], None),
    ],
    ids=["prefix", "typo", "case", "case-of-key", "numeric-ids", "nothing-near"],
)
def test_did_you_mean(value: str, choices: list[str], expected: str | None) -> None:
    assert did_you_mean(value, choices) == expected


def test_a_problem_formats_as_file_line_column_severity_path_and_hint() -> None:
    problem = Problem(
        message="'Sofia' is not one of the allowed voices",
        path=("steps", "dub", "lipsync", "tts", "voice"),
        location=Location("r.yaml", 13, 16),
        suggestion="Sophia",
        context=(("job", "dub[voice=Sofia]"),),
    )
    assert problem.format() == (
        "r.yaml:13:16: error [job dub[voice=Sofia]] at $.steps.dub.lipsync.tts.voice: "
        "'Sofia' is not one of the allowed voices; did you mean 'Sophia'?"
    )
    assert problem.field_name == "voice" and problem.is_error
    assert not Problem(message="m", severity=Severity.WARNING).is_error


def test_paths_read_like_json_paths() -> None:
    assert format_path(("a", 0, "b-c", "d")) == "$.a[0]['b-c'].d"
