"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request's diff.

A command is one line, ``::<level> key=value,key=value::<message>``, so values are escaped the way @actions/core
escapes them (and the runner unescapes them): ``%``, CR and LF in the message; additionally ``:`` and ``,`` in
property values, where they would end the value.
"""

from __future__ import annotations

from reviewer.findings import Finding, Notice, ScanResult, Severity

COMMAND_FOR_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
NOTICE_TITLE = "reviewer could not scan this file"
# "%" goes first, so the escapes added after it are not escaped again.
DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
PROPERTY_ESCAPES = (*DATA_ESCAPES, (":", "%3A"), (",", "%2C"))


def render_github(result: ScanResult) -> str:
    """One workflow command line per finding, then one warning per notice."""
    lines = [_finding_command(finding) for finding in result.findings]
    lines += [_notice_command(notice) for notice in result.notices]
    return "".join(line + "\n" for line in lines)


def _finding_command(finding: Finding) -> str:
    span = finding.span
    properties: dict[str, object] = {"file": finding.path, "line": span.line}
    # The runner drops columns (and logs a warning) unless the annotation starts and ends on the same line.
    if span.end_line == span.line:
        properties |= {"col": span.column, "endLine": span.end_line, "endColumn": span.end_column}
    else:
        properties["endLine"] = span.end_line
    properties["title"] = f"{finding.rule_id} {finding.rule_name}"
    return _command(COMMAND_FOR_SEVERITY[finding.severity], properties, finding.message)


def _notice_command(notice: Notice) -> str:
    properties: dict[str, object] = {"file": notice.path}
    if notice.line:
        properties["line"] = notice.line
    properties["title"] = NOTICE_TITLE
    return _command("warning", properties, f"{notice.kind.value}: {notice.message}")


def _command(name: str, properties: dict[str, object], message: str) -> str:
    rendered = ",".join(f"{key}={_escape(str(value), PROPERTY_ESCAPES)}" for key, value in properties.items())
    return f"::{name} {rendered}::{_escape(message, DATA_ESCAPES)}"


def _escape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for character, replacement in escapes:
        text = text.replace(character, replacement)
    return text
