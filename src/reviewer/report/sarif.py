"""SARIF 2.1.0 output, shaped for GitHub code scanning.

The log is built from ``sarif_om`` objects and serialized here rather than with a generic attrs-to-dict helper,
because sarif-om's defaults need care:

- a field left at its attrs default is dropped (``rank=-1.0``, ``kind="fail"``, ``ruleIndex=-1``, ``index=-1``,
  ``language="en-US"``... are placeholders, not facts about the run);
- except ``level``: its default ``"warning"`` is also a real level, and a result that says nothing about its level
  would be read as whatever the consumer assumes, so it is always written out;
- ``properties`` are plain dicts, since sarif-om's ``PropertyBag`` only models ``tags``.

Paths in findings are relative to the scan root and written as URI references against ``%SRCROOT%``, which
``originalUriBaseIds`` maps to the root's ``file:`` URI.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as om

from reviewer.catalog import RuleSpec
from reviewer.findings import Finding, Fix, Notice, NoticeKind, ScanResult, Severity, Span

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "reviewer"
INFORMATION_URI = "https://github.com/reviewer-dev/reviewer"
RULE_HELP_URI = INFORMATION_URI + "/blob/main/rules/{rule_id}.yaml"
SOURCE_ROOT = "%SRCROOT%"
# A content fingerprint of our own, next to GitHub's line hash; the "/v1" names its algorithm version.
FINGERPRINT_KEY = "reviewer/v1"
LINE_HASH_KEY = "primaryLocationLineHash"
# GitHub shows rules without a security-severity by this property: error, warning or recommendation.
PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "recommendation"}
ERROR_NOTICE_KINDS = frozenset({NoticeKind.CHECK_ERROR, NoticeKind.INTERNAL_ERROR})
ALWAYS_WRITTEN_FIELDS = frozenset({"level"})
# GitHub code scanning rejects a run with more results, a result with more locations, or a file larger than this
# once gzipped (https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads).
MAX_RESULTS = 25_000
MAX_LOCATIONS_PER_RESULT = 1_000
MAX_GZIPPED_BYTES = 10 * 1000 * 1000
# When results must go, the least severe go first.
SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
CAPPED_DESCRIPTOR = "results-capped"
# sarif-om declares required fields first and the rest alphabetically; these read better at the top of an object.
LEADING_KEYS = ("$schema", "version", "id", "ruleId", "ruleIndex", "level", "message")


def render_sarif(
    result: ScanResult,
    rules: list[RuleSpec],
    *,
    tool_version: str,
    category: str | None = None,
    max_results: int = MAX_RESULTS,
    max_gzipped_bytes: int = MAX_GZIPPED_BYTES,
) -> str:
    """The scan as SARIF 2.1.0 JSON text: one run whose driver describes every rule in ``rules``, in order.

    ``category`` becomes ``automationDetails.id`` (GitHub keeps one set of alerts per category); without it the
    category is ``reviewer``. Findings the scan kept although an inline comment silences them
    (``result.suppressed_findings``) are written with an ``inSource`` suppression.

    The log stays within GitHub's upload limits: at most ``max_results`` results and ``max_gzipped_bytes`` once
    gzipped. Past them, suppressed results go first, then notes, then warnings; errors are kept longest, and a
    notification says how many were left out. Raises ValueError when a finding's rule is not among ``rules``.
    """
    known = {spec.id for spec in rules}
    for finding in (*result.findings, *result.suppressed_findings):
        if finding.rule_id not in known:
            raise ValueError(f"finding for {finding.rule_id} at {finding.path} but the rule was not passed to SARIF")
    entries = [(finding, False) for finding in result.findings]
    entries += [(finding, True) for finding in result.suppressed_findings]
    # sorted() is stable: within a rank, results keep their path and line order.
    ranked = sorted(range(len(entries)), key=lambda i: (entries[i][1], SEVERITY_RANK[entries[i][0].severity]))
    limit = min(max_results, len(entries))
    while True:
        kept = [entries[i] for i in sorted(ranked[:limit])]
        text = _log_text(result, rules, tool_version, category, kept, omitted=len(entries) - limit)
        # Node's zlib default level, which the upload action uses.
        size = len(gzip.compress(text.encode("utf-8"), compresslevel=6))
        if size <= max_gzipped_bytes or limit == 0:
            return text
        # Results are roughly the same size: shrink in proportion, with a margin, and always by at least one.
        limit = min(limit - 1, int(limit * max_gzipped_bytes / size * 0.95))


def _log_text(
    result: ScanResult,
    rules: list[RuleSpec],
    tool_version: str,
    category: str | None,
    entries: list[tuple[Finding, bool]],
    omitted: int,
) -> str:
    rule_indexes = {spec.id: index for index, spec in enumerate(rules)}
    results = [_result(finding, rule_indexes, suppressed) for finding, suppressed in entries]
    notifications = [_notification(notice) for notice in result.notices]
    if omitted:
        notifications.append(_capped_notification(omitted, len(entries) + omitted))
    run = om.Run(
        tool=om.Tool(
            driver=om.ToolComponent(
                name=TOOL_NAME,
                version=tool_version,
                semantic_version=tool_version,
                information_uri=INFORMATION_URI,
                rules=[_rule_descriptor(spec) for spec in rules],
            )
        ),
        automation_details=om.RunAutomationDetails(id=_automation_id(category)),
        original_uri_base_ids={SOURCE_ROOT: om.ArtifactLocation(uri=_directory_uri(result.root))},
        # Columns come from Python strings, so they count code points, not UTF-16 units.
        column_kind="unicodeCodePoints",
        invocations=[_invocation(result.notices, notifications)],
        results=results,
    )
    log = om.SarifLog(version=SARIF_VERSION, schema_uri=SCHEMA_URI, runs=[run])
    return json.dumps(_to_json(log), indent=2, ensure_ascii=False) + "\n"


def _rule_descriptor(spec: RuleSpec) -> om.ReportingDescriptor:
    properties: dict[str, Any] = {
        "tags": _tags(spec),
        "precision": spec.precision,
        "problem.severity": PROBLEM_SEVERITY[spec.severity],
    }
    if spec.security_severity is not None:
        properties["security-severity"] = f"{spec.security_severity:.1f}"
    return om.ReportingDescriptor(
        id=spec.id,
        name=spec.name,
        short_description=om.MultiformatMessageString(text=spec.summary),
        full_description=om.MultiformatMessageString(text=spec.docs["what-it-does"].strip()),
        help=om.MultiformatMessageString(text=spec.text, markdown=spec.markdown),
        help_uri=RULE_HELP_URI.format(rule_id=spec.id),
        default_configuration=om.ReportingConfiguration(level=spec.severity.value),
        properties=properties,
    )


def _tags(spec: RuleSpec) -> list[str]:
    """Category first, then security markers GitHub recognizes, then the rule's own tags; no duplicates (the
    schema requires the tags to be distinct)."""
    tags = [spec.category]
    if spec.is_security:
        tags.append("security")
    tags += [f"external/cwe/cwe-{number}" for number in spec.cwe]
    tags += spec.tags
    return list(dict.fromkeys(tags))


def _automation_id(category: str | None) -> str:
    # GitHub reads the category as everything before the last "/", so the id must end with one.
    prefix = category or TOOL_NAME
    return prefix if prefix.endswith("/") else prefix + "/"


def _directory_uri(root: str) -> str:
    uri = Path(root).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _artifact_location(path: str) -> om.ArtifactLocation:
    # Keep "/" as the separator; everything a URI reference cannot hold literally (spaces, "#", "%", "?",
    # non-ASCII) is percent-encoded as UTF-8.
    return om.ArtifactLocation(uri=quote(path, safe="/"), uri_base_id=SOURCE_ROOT)


def _result(finding: Finding, rule_indexes: dict[str, int], suppressed: bool = False) -> om.Result:
    # One primary location; the related ones are cut to what GitHub accepts for a whole result.
    related = finding.related[: MAX_LOCATIONS_PER_RESULT - 1]
    return om.Result(
        rule_id=finding.rule_id,
        rule_index=rule_indexes[finding.rule_id],
        level=finding.severity.value,
        message=om.Message(text=finding.message),
        locations=[_location(finding.path, finding.span)],
        related_locations=[
            _location(related.path, related.span, message=related.message, location_id=number)
            for number, related in enumerate(related, start=1)
        ] or None,
        partial_fingerprints={LINE_HASH_KEY: finding.line_hash} if finding.line_hash else None,
        fingerprints={FINGERPRINT_KEY: finding.fingerprint},
        suppressions=[om.Suppression(kind="inSource")] if suppressed else None,
        fixes=[_fix(finding.path, finding.fix)] if finding.fix is not None else None,
    )


def _fix(path: str, fix: Fix) -> om.Fix:
    """A finding's fix for editors (the VS Code SARIF Viewer offers it as a quick fix): every deleted region is
    relative to the file as scanned, and an empty region inserts."""
    return om.Fix(
        description=om.Message(text=fix.description),
        artifact_changes=[
            om.ArtifactChange(
                artifact_location=_artifact_location(path),
                replacements=[
                    om.Replacement(
                        deleted_region=om.Region(
                            start_line=edit.line,
                            start_column=edit.column,
                            end_line=edit.end_line,
                            end_column=edit.end_column,
                        ),
                        inserted_content=om.ArtifactContent(text=edit.text),
                    )
                    for edit in fix.edits
                ],
            )
        ],
    )


def _location(path: str, span: Span, *, message: str | None = None, location_id: int | None = None) -> om.Location:
    region = om.Region(
        start_line=span.line, start_column=span.column, end_line=span.end_line, end_column=span.end_column
    )
    return om.Location(
        id=location_id,
        physical_location=om.PhysicalLocation(artifact_location=_artifact_location(path), region=region),
        message=om.Message(text=message) if message is not None else None,
    )


def _invocation(notices: list[Notice], notifications: list[om.Notification]) -> om.Invocation:
    return om.Invocation(
        execution_successful=not any(notice.kind is NoticeKind.INTERNAL_ERROR for notice in notices),
        tool_execution_notifications=notifications,
    )


def _capped_notification(omitted: int, total: int) -> om.Notification:
    return om.Notification(
        level="warning",
        message=om.Message(
            text=f"{omitted:,} of {total:,} results left out to stay within GitHub code scanning's upload limits "
            f"({MAX_RESULTS:,} results per run, {MAX_GZIPPED_BYTES // 1000**2} MB gzipped); the most severe were "
            "kept. Narrow the scan (--select, --ignore, excludes) to see the rest."
        ),
        descriptor=om.ReportingDescriptorReference(id=CAPPED_DESCRIPTOR),
    )


def _notification(notice: Notice) -> om.Notification:
    region = om.Region(start_line=notice.line) if notice.line else None
    return om.Notification(
        level="error" if notice.kind in ERROR_NOTICE_KINDS else "warning",
        message=om.Message(text=f"{notice.path}: {notice.message}"),
        descriptor=om.ReportingDescriptorReference(id=notice.kind.value),
        locations=[
            om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=_artifact_location(notice.path), region=region
                )
            )
        ],
        associated_rule=om.ReportingDescriptorReference(id=notice.rule_id) if notice.rule_id else None,
    )


def _to_json(value: Any) -> Any:
    """sarif-om objects to JSON-ready data, keyed by their schema property names, without unset fields."""
    if attr.has(type(value)):
        data = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if item is None or (field.name not in ALWAYS_WRITTEN_FIELDS and _is_default(field, item)):
                continue
            data[field.metadata["schema_property_name"]] = _to_json(item)
        leading = {key: data.pop(key) for key in LEADING_KEYS if key in data}
        return leading | data
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return value


def _is_default(field: attr.Attribute, value: Any) -> bool:
    default = field.default
    if default is attr.NOTHING:
        return False
    if isinstance(default, attr.Factory):
        default = default.factory()
    # Compare types too: True == 1 and -1 == -1.0 in Python, but not in the log.
    return type(value) is type(default) and value == default
