"""Human-readable output with rich: findings grouped by file, the flagged source with the span marked, a summary.

Source text and messages are added as ``rich.text.Text`` (never as markup), so code containing ``[bold]`` or
escape sequences is shown as it is. Colour follows rich's detection: none when not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from rich.console import Console
from rich.text import Text

from reviewer.findings import Finding, ScanResult, Severity

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
TAB_WIDTH = 4
SHOWN_LINES = 3


def _display(line: str) -> str:
    return line.expandtabs(TAB_WIDTH)


def _snippet(finding: Finding) -> Text:
    """The flagged line(s) with a gutter of line numbers and carets under the span; a span over several lines is
    marked on its first line and shown up to ``SHOWN_LINES`` lines."""
    span = finding.span
    lines = finding.snippet[:SHOWN_LINES]
    gutter = len(str(span.line + max(len(lines) - 1, 0)))
    out = Text()
    out.append(" " * gutter + " │\n", style="dim")
    for offset, line in enumerate(lines):
        out.append(f"{span.line + offset:>{gutter}} │ ", style="dim")
        out.append(_display(line) + "\n")
        if offset == 0:
            end = span.end_column - 1 if span.end_line == span.line else len(line.rstrip())
            start_at = len(_display(line[: span.column - 1]))
            width = max(1, len(_display(line[:end])) - start_at)
            out.append(" " * gutter + " │ ", style="dim")
            out.append(" " * start_at + "^" * width + "\n", style=SEVERITY_STYLE[finding.severity])
    hidden = span.end_line - span.line + 1 - len(lines)
    if hidden > 0:
        out.append(" " * gutter + " │ ", style="dim")
        out.append(f"… {hidden} more line{'s' if hidden != 1 else ''}\n", style="dim")
    return out


def _finding(finding: Finding, show_source: bool) -> Text:
    span = finding.span
    out = Text()
    out.append(f"{finding.path}:{span.line}:{span.column}", style="bold")
    out.append(": ")
    out.append(finding.rule_id, style="bold " + SEVERITY_STYLE[finding.severity])
    out.append(f" [{finding.severity.value}] ", style=SEVERITY_STYLE[finding.severity])
    out.append(finding.rule_name, style="dim")
    out.append("\n  ")
    out.append(finding.message)
    out.append("\n")
    if show_source and finding.snippet:
        out.append_text(_snippet(finding))
    for related in finding.related:
        out.append(f"  note: {related.path}:{related.span.line}:{related.span.column}: ", style="dim")
        out.append(related.message + "\n")
    return out


def render_text(result: ScanResult, console: Console, *, show_source: bool = True, quiet: bool = False) -> None:
    """Print findings grouped by file, then notices and a summary (``quiet``: findings only, one line each)."""
    if quiet:
        for finding in result.findings:
            console.print(
                Text(f"{finding.path}:{finding.span.line}:{finding.span.column}: {finding.rule_id} {finding.message}"),
                soft_wrap=True,
            )
        for notice in result.notices:
            where = f"{notice.path}:{notice.line}" if notice.line else notice.path
            console.print(Text(f"{where}: not scanned: {notice.message} [{notice.kind.value}]"), soft_wrap=True)
        return
    for path, group in groupby(result.findings, key=lambda f: f.path):
        console.print(Text(path, style="bold underline"), soft_wrap=True)
        for finding in group:
            console.print(_finding(finding, show_source), soft_wrap=True)
    _summary(result, console)


def _summary(result: ScanResult, console: Console) -> None:
    by_rule = Counter((f.rule_id, f.rule_name) for f in result.findings)
    files = len({f.path for f in result.findings})
    out = Text()
    if result.findings:
        noun = "finding" if len(result.findings) == 1 else "findings"
        out.append(f"Found {len(result.findings)} {noun} in {files} file{'s' if files != 1 else ''}:\n", style="bold")
        for (rule_id, name), count in sorted(by_rule.items()):
            out.append(f"  {count:>5}  {rule_id} {name}\n")
    else:
        out.append("No findings.\n", style="bold green")
    if result.notices:
        skipped = result.files_skipped
        out.append(f"{skipped} file{'s' if skipped != 1 else ''} not fully scanned:\n", style="bold yellow")
        for notice in result.notices:
            where = f"{notice.path}:{notice.line}" if notice.line else notice.path
            out.append(f"  {where}: ", style="yellow")
            out.append(f"{notice.message} [{notice.kind.value}]\n")
    extra = f", {result.suppressed} suppressed inline" if result.suppressed else ""
    extra += f", {result.files_cached} unchanged since the last run" if result.files_cached else ""
    out.append(f"Scanned {result.files_scanned} file{'s' if result.files_scanned != 1 else ''} "
               f"in {result.elapsed:.2f}s{extra}.", style="dim")
    console.print(out, soft_wrap=True)
