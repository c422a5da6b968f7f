"""Terminal output: grouped by file, the span marked under the source, code shown as written."""

from __future__ import annotations

import io

from rich.console import Console

from reviewer.findings import Finding, Notice, NoticeKind, ScanResult, Severity, Span
from reviewer.report.text import render_text


def finding(path: str, span: Span, snippet: tuple[str, ...], message: str = "blocks the loop") -> Finding:
    return Finding(path=path, span=span, rule_id="RV201", rule_name="blocking-call-in-async",
                   severity=Severity.WARNING, message=message, snippet=snippet)


def render(result: ScanResult, **options: bool) -> str:
    buffer = io.StringIO()
    render_text(result, Console(file=buffer, color_system=None, width=80), **options)
    return buffer.getvalue()


def scan(*findings: Finding, notices: tuple[Notice, ...] = ()) -> ScanResult:
    return ScanResult(root="/p", findings=list(findings), notices=list(notices), files_scanned=3, elapsed=0.5)


def test_span_is_marked_under_the_source_with_tabs_expanded() -> None:
    out = render(scan(finding("a.py", Span(2, 6, 2, 19), ("\tx = time.sleep(1)",))))
    lines = out.splitlines()
    source = next(i for i, line in enumerate(lines) if "time.sleep" in line)
    assert lines[source + 1].index("^") == lines[source].index("time.sleep")
    assert lines[source + 1].count("^") == len("time.sleep(1)")


def test_grouped_by_file_with_location_and_summary() -> None:
    out = render(scan(finding("b.py", Span(1, 1, 1, 2), ("x",)), finding("b.py", Span(3, 1, 3, 2), ("y",)),
                      notices=(Notice("c.py", NoticeKind.SYNTAX_ERROR, "syntax error at line 1", line=1),)))
    assert out.count("\nb.py\n") + out.startswith("b.py\n") == 1
    assert "b.py:1:1: RV201 [warning] blocking-call-in-async" in out
    assert "b.py:3:1: RV201" in out
    assert "Found 2 findings in 1 file" in out
    assert "c.py:1: syntax error at line 1 [syntax-error]" in out
    assert "Scanned 3 files in 0.50s" in out


def test_source_and_messages_are_not_markup() -> None:
    out = render(scan(finding("a.py", Span(1, 1, 1, 10), ("print('[bold]x[/bold]')",), "[red]not markup[/red]")))
    assert "[bold]x[/bold]" in out and "[red]not markup[/red]" in out


def test_multi_line_span_is_cut_short() -> None:
    lines = ("call(", "    a,", "    b,", "    c,", ")")
    out = render(scan(finding("a.py", Span(1, 1, 5, 2), lines)))
    assert "… 2 more lines" in out and "    c," not in out


def test_quiet_is_one_line_per_finding_and_notice() -> None:
    out = render(scan(finding("a.py", Span(1, 1, 1, 2), ("x",)),
                      notices=(Notice("c.py", NoticeKind.TOO_LARGE, "too big"),)), quiet=True)
    assert out.splitlines() == ["a.py:1:1: RV201 blocks the loop", "c.py: not scanned: too big [too-large]"]
