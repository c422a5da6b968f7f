"""JSON output: a small, stable shape for scripts and dashboards.

The document (``version`` is bumped only when a field changes meaning or is removed; new fields may be added)::

    {
      "version": 1,
      "tool": {"name": "reviewer", "version": "0.1.0"},
      "root": "/abs/path/of/the/scan/root",
      "findings": [
        {
          "rule": "RV001",                  // rule id
          "name": "hardcoded-secret",       // rule name
          "severity": "error",              // "error" | "warning" | "note"
          "path": "app/settings.py",        // relative to root, "/"-separated
          "range": {
            "start": {"line": 12, "column": 5},
            "end": {"line": 12, "column": 31}
          },
          "message": "...",
          "fingerprint": "9f2c...",         // 32 hex digits; stable when lines move
          "related": [                      // other places that explain the finding (may be empty)
            {"path": "app/views.py", "range": {...}, "message": "the queryset to fix"}
          ],
          "fix": {                          // null when the rule has no safe, mechanical fix here
            "description": "Replace with `await asyncio.sleep()`",
            "edits": [                      // relative to the scanned file; an empty range inserts
              {"range": {"start": {"line": 12, "column": 5}, "end": {"line": 12, "column": 5}}, "text": "await "}
            ]
          }
        }
      ],
      "notices": [
        {
          "path": "legacy/py2.py",
          "kind": "syntax-error",           // unreadable | not-a-file | too-large | decode-error | syntax-error |
                                            // symlink-loop | check-error | internal-error
          "message": "...",
          "line": 3,                        // or null
          "rule": null                      // the failing rule's id for check-error, else null
        }
      ],
      "summary": {
        "files_scanned": 120,
        "files_skipped": 1,                 // files no rule ran on
        "findings": 1,
        "suppressed": 0,                    // findings silenced by inline comments
        "by_rule": {"RV001": 1}             // finding count per rule id, sorted by id
      }
    }

Lines and columns are 1-based; the end column is one past the last character. Findings and notices keep the
scan's (deterministic) order and nothing depends on timing, so two runs over the same code give the same bytes
(whatever ``--jobs`` and the cache); the text report is where the scan's duration is shown.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from reviewer.findings import Finding, Notice, ScanResult, Span

FORMAT_VERSION = 1
TOOL_NAME = "reviewer"


def render_json(result: ScanResult, *, tool_version: str) -> str:
    """The scan as JSON text in the shape documented in this module's docstring."""
    by_rule = Counter(finding.rule_id for finding in result.findings)
    document = {
        "version": FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "root": result.root,
        "findings": [_finding(finding) for finding in result.findings],
        "notices": [_notice(notice) for notice in result.notices],
        "summary": {
            "files_scanned": result.files_scanned,
            "files_skipped": result.files_skipped,
            "findings": len(result.findings),
            "suppressed": result.suppressed,
            "by_rule": dict(sorted(by_rule.items())),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _range(span: Span) -> dict[str, Any]:
    return {
        "start": {"line": span.line, "column": span.column},
        "end": {"line": span.end_line, "column": span.end_column},
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule_id,
        "name": finding.rule_name,
        "severity": finding.severity.value,
        "path": finding.path,
        "range": _range(finding.span),
        "message": finding.message,
        "fingerprint": finding.fingerprint,
        "related": [
            {"path": related.path, "range": _range(related.span), "message": related.message}
            for related in finding.related
        ],
        "fix": None if finding.fix is None else {
            "description": finding.fix.description,
            "edits": [
                {"range": _range(Span(edit.line, edit.column, edit.end_line, edit.end_column)), "text": edit.text}
                for edit in finding.fix.edits
            ],
        },
    }


def _notice(notice: Notice) -> dict[str, Any]:
    return {
        "path": notice.path,
        "kind": notice.kind.value,
        "message": notice.message,
        "line": notice.line,
        "rule": notice.rule_id,
    }
