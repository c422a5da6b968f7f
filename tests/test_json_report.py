"""The JSON report keeps the documented shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reviewer.findings import Finding, Notice, NoticeKind, ScanResult, Severity, Span
from reviewer.report.json_report import render_json


@pytest.fixture
def scan() -> ScanResult:
    return ScanResult(
        root="/srv/shop",
        findings=[
            Finding(
                path="app/settings.py",
                span=Span(12, 5, 12, 31),
                rule_id="RV001",
                rule_name="hardcoded-secret",
                severity=Severity.ERROR,
                message="Hard-coded secret in `API_KEY`.",
                snippet=("API_KEY = 'sk-123'",),
            ),
            Finding(
                path="app/views.py",
                span=Span(40, 9, 42, 10),
                rule_id="RV002",
                rule_name="n-plus-one-query",
                severity=Severity.WARNING,
                message="Query in a loop:\n`order.customer` is fetched per order.",
            ),
            Finding(
                path="app/ünï views.py",
                span=Span(3, 1, 3, 4),
                rule_id="RV001",
                rule_name="hardcoded-secret",
                severity=Severity.ERROR,
                message="Another secret.",
            ),
        ],
        notices=[
            Notice("legacy/py2.py", NoticeKind.SYNTAX_ERROR, "invalid syntax", line=3),
            Notice("app/views.py", NoticeKind.CHECK_ERROR, "check crashed", rule_id="RV002"),
        ],
        files_scanned=12,
        elapsed=0.41789,
        suppressed=2,
    )


def render(scan: ScanResult) -> dict[str, Any]:
    return json.loads(render_json(scan, tool_version="0.1.0"))


def test_top_level_shape(scan: ScanResult) -> None:
    document = render(scan)
    assert list(document) == ["version", "tool", "root", "findings", "notices", "summary"]
    assert document["version"] == 1
    assert document["tool"] == {"name": "reviewer", "version": "0.1.0"}
    assert document["root"] == "/srv/shop"


def test_findings(scan: ScanResult) -> None:
    findings = render(scan)["findings"]
    assert findings[0] == {
        "rule": "RV001",
        "name": "hardcoded-secret",
        "severity": "error",
        "path": "app/settings.py",
        "range": {"start": {"line": 12, "column": 5}, "end": {"line": 12, "column": 31}},
        "message": "Hard-coded secret in `API_KEY`.",
        "fingerprint": scan.findings[0].fingerprint,
        "related": [],
        "fix": None,
    }
    assert findings[1]["range"] == {"start": {"line": 40, "column": 9}, "end": {"line": 42, "column": 10}}
    assert findings[1]["message"] == "Query in a loop:\n`order.customer` is fetched per order."
    assert [finding["path"] for finding in findings] == ["app/settings.py", "app/views.py", "app/ünï views.py"]


def test_notices_always_have_every_key(scan: ScanResult) -> None:
    assert render(scan)["notices"] == [
        {"path": "legacy/py2.py", "kind": "syntax-error", "message": "invalid syntax", "line": 3, "rule": None},
        {"path": "app/views.py", "kind": "check-error", "message": "check crashed", "line": None, "rule": "RV002"},
    ]


def test_summary(scan: ScanResult) -> None:
    summary = render(scan)["summary"]
    assert "elapsed_seconds" not in summary  # two runs over the same code give the same bytes
    assert summary == {
        "files_scanned": 12,
        # A failed check does not make a file skipped: only the syntax error counts.
        "files_skipped": 1,
        "findings": 3,
        "suppressed": 2,
        "by_rule": {"RV001": 2, "RV002": 1},
    }


def test_empty_scan() -> None:
    document = render(ScanResult(root="/srv/shop", findings=[], notices=[], files_scanned=0, elapsed=0.0))
    assert document["findings"] == [] and document["notices"] == []
    assert document["summary"]["by_rule"] == {}
    assert document["summary"]["findings"] == 0


def test_text_is_deterministic_and_readable(scan: ScanResult) -> None:
    text = render_json(scan, tool_version="0.1.0")
    assert text == render_json(scan, tool_version="0.1.0")
    assert "ünï views.py" in text  # not \u-escaped
    assert text.endswith("}\n")


def test_control_characters_are_escaped() -> None:
    finding = Finding("a.py", Span(1, 1, 1, 2), "RV001", "hardcoded-secret", Severity.ERROR, "bell\x07 esc\x1b")
    text = render_json(ScanResult("/srv", [finding], [], 1, 0.0), tool_version="0.1.0")
    assert "bell\\u0007 esc\\u001b" in text
    assert json.loads(text)["findings"][0]["message"] == "bell\x07 esc\x1b"
