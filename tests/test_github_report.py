"""GitHub workflow commands: one line each, escaped so the runner reads back exactly what we meant."""

from __future__ import annotations

import re

from reviewer.findings import Finding, Notice, NoticeKind, ScanResult, Severity, Span
from reviewer.report.github import render_github

COMMAND = re.compile(r"::(?P<name>[a-z]+) (?P<properties>[^:]*)::(?P<message>.*)")


def unescape(text: str, property_value: bool) -> str:
    """What the Actions runner does on its side: %XX escapes back to characters, "%25" last."""
    escapes = [("%0D", "\r"), ("%0A", "\n")]
    if property_value:
        escapes += [("%3A", ":"), ("%2C", ",")]
    for escaped, character in [*escapes, ("%25", "%")]:
        text = text.replace(escaped, character)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.fullmatch(line)
    assert match, line
    properties = {}
    for pair in match["properties"].split(","):
        key, value = pair.split("=", 1)
        properties[key] = unescape(value, property_value=True)
    return match["name"], properties, unescape(match["message"], property_value=False)


def make_finding(path: str = "app/views.py", message: str = "Query in a loop.", **overrides: object) -> Finding:
    values: dict[str, object] = {
        "path": path,
        "span": Span(4, 9, 4, 21),
        "rule_id": "RV002",
        "rule_name": "n-plus-one-query",
        "severity": Severity.WARNING,
        "message": message,
        **overrides,
    }
    return Finding(**values)  # type: ignore[arg-type]


def scan_of(findings: list[Finding], notices: list[Notice] | None = None) -> ScanResult:
    return ScanResult(root="/srv", findings=findings, notices=notices or [], files_scanned=1, elapsed=0.0)


def test_finding_command() -> None:
    assert render_github(scan_of([make_finding()])) == (
        "::warning file=app/views.py,line=4,col=9,endLine=4,endColumn=21,"
        "title=RV002 n-plus-one-query::Query in a loop.\n"
    )


def test_severity_picks_the_command() -> None:
    findings = [make_finding(severity=severity) for severity in (Severity.ERROR, Severity.WARNING, Severity.NOTE)]
    names = [parse(line)[0] for line in render_github(scan_of(findings)).splitlines()]
    assert names == ["error", "warning", "notice"]


def test_multi_line_span_leaves_out_columns() -> None:
    line = render_github(scan_of([make_finding(span=Span(4, 9, 6, 2))])).rstrip("\n")
    _, properties, _ = parse(line)
    assert properties == {"file": "app/views.py", "line": "4", "endLine": "6", "title": "RV002 n-plus-one-query"}


def test_escaping_keeps_each_command_on_one_line_and_round_trips() -> None:
    path = "app/odd, name:100%\n.py"
    message = "Loop at 50%: fetches `a, b`\r\nper row::done"
    text = render_github(scan_of([make_finding(path=path, message=message)]))
    assert text.count("\n") == 1
    assert "file=app/odd%2C name%3A100%25%0A.py," in text
    assert text.endswith("::Loop at 50%25: fetches `a, b`%0D%0Aper row::done\n")
    name, properties, parsed_message = parse(text.rstrip("\n"))
    assert (name, properties["file"], parsed_message) == ("warning", path, message)


def test_escaped_looking_text_is_not_unescaped_by_the_runner() -> None:
    message = "literal %0A and %25 stay as typed"
    line = render_github(scan_of([make_finding(message=message, path="a%2Cb.py")])).rstrip("\n")
    _, properties, parsed_message = parse(line)
    assert parsed_message == message
    assert properties["file"] == "a%2Cb.py"


def test_title_is_escaped_too() -> None:
    line = render_github(scan_of([make_finding(rule_name="weird,name:x")])).rstrip("\n")
    assert "title=RV002 weird%2Cname%3Ax::" in line


def test_notices_become_warnings() -> None:
    notices = [
        Notice("legacy/py2.py", NoticeKind.SYNTAX_ERROR, "invalid syntax", line=3),
        Notice("data, raw.py", NoticeKind.DECODE_ERROR, "not UTF-8:\nbyte 0xff"),
    ]
    lines = render_github(scan_of([make_finding()], notices)).splitlines()
    assert len(lines) == 3
    assert lines[1] == (
        "::warning file=legacy/py2.py,line=3,title=reviewer could not scan this file::syntax-error: invalid syntax"
    )
    name, properties, message = parse(lines[2])
    assert name == "warning"
    assert properties == {"file": "data, raw.py", "title": "reviewer could not scan this file"}
    assert message == "decode-error: not UTF-8:\nbyte 0xff"


def test_nothing_to_report() -> None:
    assert render_github(scan_of([])) == ""
