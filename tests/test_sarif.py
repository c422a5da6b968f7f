"""SARIF output: valid against the official 2.1.0 schema and shaped the way GitHub code scanning reads it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from sarif_validation import URI_REFERENCE, validate

from reviewer.catalog import RuleSpec, parse_rule
from reviewer.findings import Finding, Notice, NoticeKind, ScanResult, Severity, Span
from reviewer.report.sarif import render_sarif

ROOT = "/home/dev/shop project"
ODD_PATHS = ["app/my views.py", "src/ünïcode/#weird%name.py"]


def write_rule(folder: Path, rule_id: str, name: str, **overrides: Any) -> RuleSpec:
    data = {
        "id": rule_id,
        "name": name,
        "category": "correctness",
        "severity": "warning",
        "precision": "high",
        "summary": f"Summary of {name}.",
        "docs": {
            "what-it-does": f"Flags {name}.",
            "why-is-this-bad": "It breaks things.",
            "example": "bad()",
            "use-instead": "good()",
            "references": [{"title": "Docs", "url": "https://example.com/docs"}],
        },
        "examples": {"bad": "bad()\n", "good": "good()\n"},
        **overrides,
    }
    path = folder / f"{rule_id}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return parse_rule(path)


@pytest.fixture
def rules(tmp_path: Path) -> list[RuleSpec]:
    return [
        write_rule(
            tmp_path,
            "RV001",
            "hardcoded-secret",
            category="security",
            severity="error",
            cwe=[798, 259],
            **{"security-severity": 7.5},
            tags=["secrets", "security"],
        ),
        write_rule(tmp_path, "RV002", "n-plus-one-query", category="performance"),
        write_rule(tmp_path, "RV003", "mutable-default", severity="note"),
    ]


def finding(rule: RuleSpec, path: str, line: int, message: str, **overrides: Any) -> Finding:
    values: dict[str, Any] = {
        "path": path,
        "span": Span(line, 5, line, 17),
        "rule_id": rule.id,
        "rule_name": rule.name,
        "severity": rule.severity,
        "message": message,
        "snippet": ("    token = 'abc'",),
        "line_hash": f"{line:x}abcdef:1",
        **overrides,
    }
    return Finding(**values)


@pytest.fixture
def scan(rules: list[RuleSpec]) -> ScanResult:
    secret, query, default = rules
    return ScanResult(
        root=ROOT,
        findings=[
            finding(default, ODD_PATHS[0], 3, "Mutable default argument `items=[]`."),
            finding(query, ODD_PATHS[0], 10, "Query inside a loop.", severity=Severity.WARNING, line_hash=""),
            finding(secret, ODD_PATHS[1], 7, "Secret \x1b[31mleaked\x1b[0m\x00 here\nand\there\r."),
        ],
        notices=[
            Notice("broken.py", NoticeKind.SYNTAX_ERROR, "invalid syntax", line=4),
            Notice("app/my views.py", NoticeKind.CHECK_ERROR, "check crashed: KeyError", rule_id="RV002"),
            Notice("latin1.py", NoticeKind.DECODE_ERROR, "not UTF-8"),
        ],
        files_scanned=5,
        elapsed=1.234,
    )


def render(scan: ScanResult, rules: list[RuleSpec], **options: Any) -> dict[str, Any]:
    return json.loads(render_sarif(scan, rules, tool_version="1.2.3", **options))


def all_keys_and_values(node: Any, path: str = "$") -> list[tuple[str, Any]]:
    pairs = []
    if isinstance(node, dict):
        for key, value in node.items():
            pairs.append((f"{path}.{key}", value))
            pairs += all_keys_and_values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            pairs += all_keys_and_values(value, f"{path}[{index}]")
    return pairs


def test_validates_against_the_official_schema(scan: ScanResult, rules: list[RuleSpec]) -> None:
    validate(render(scan, rules))


def test_empty_scan_validates_and_still_lists_results(rules: list[RuleSpec]) -> None:
    log = render(ScanResult(root=ROOT, findings=[], notices=[], files_scanned=0, elapsed=0.0), rules)
    validate(log)
    # An explicit empty list tells code scanning that earlier alerts are fixed.
    assert log["runs"][0]["results"] == []


def test_schema_validation_catches_problems(scan: ScanResult, rules: list[RuleSpec]) -> None:
    log = render(scan, rules)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(AssertionError, match="level"):
        validate(log)
    log = render(scan, rules)
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a b.py"
    with pytest.raises(AssertionError, match="uri"):
        validate(log)


def test_log_header(scan: ScanResult, rules: list[RuleSpec]) -> None:
    log = render(scan, rules)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_no_null_values_or_leaked_placeholders(scan: ScanResult, rules: list[RuleSpec]) -> None:
    pairs = all_keys_and_values(render(scan, rules))
    assert [key for key, value in pairs if value is None] == []
    leaked = {"rank", "kind", "language", "newlineSequences", "contents", "index", "enabled", "byteOffset"}
    assert [key for key, _ in pairs if key.rsplit(".", 1)[-1] in leaked] == []


def test_driver_describes_every_rule_in_order(scan: ScanResult, rules: list[RuleSpec]) -> None:
    driver = render(scan, rules)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "reviewer"
    assert driver["version"] == driver["semanticVersion"] == "1.2.3"
    assert driver["informationUri"] == "https://github.com/reviewer-dev/reviewer"
    assert [rule["id"] for rule in driver["rules"]] == ["RV001", "RV002", "RV003"]
    secret = driver["rules"][0]
    assert secret["name"] == "hardcoded-secret"
    assert secret["shortDescription"] == {"text": "Summary of hardcoded-secret."}
    assert secret["fullDescription"] == {"text": "Flags hardcoded-secret."}
    assert secret["help"] == {"text": rules[0].text, "markdown": rules[0].markdown}
    assert secret["helpUri"] == "https://github.com/reviewer-dev/reviewer/blob/main/rules/RV001.yaml"
    assert secret["defaultConfiguration"] == {"level": "error"}


def test_default_level_warning_is_written(scan: ScanResult, rules: list[RuleSpec]) -> None:
    run = render(scan, rules)["runs"][0]
    assert run["tool"]["driver"]["rules"][1]["defaultConfiguration"] == {"level": "warning"}
    assert [result["level"] for result in run["results"]] == ["note", "warning", "error"]


def test_rule_properties(scan: ScanResult, rules: list[RuleSpec]) -> None:
    descriptors = render(scan, rules)["runs"][0]["tool"]["driver"]["rules"]
    secret, query, default = (descriptor["properties"] for descriptor in descriptors)
    assert secret == {
        # "security" is both the category and a tag: listed once, as the schema wants distinct tags.
        "tags": ["security", "external/cwe/cwe-798", "external/cwe/cwe-259", "secrets"],
        "precision": "high",
        "problem.severity": "error",
        "security-severity": "7.5",
    }
    assert query == {"tags": ["performance"], "precision": "high", "problem.severity": "warning"}
    assert default["problem.severity"] == "recommendation"
    assert "security-severity" not in default


def test_results(scan: ScanResult, rules: list[RuleSpec]) -> None:
    results = render(scan, rules)["runs"][0]["results"]
    rule_references = [(result["ruleId"], result["ruleIndex"]) for result in results]
    assert rule_references == [("RV003", 2), ("RV002", 1), ("RV001", 0)]
    secret = results[2]
    assert secret["message"] == {"text": "Secret \x1b[31mleaked\x1b[0m\x00 here\nand\there\r."}
    location = secret["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert location["region"] == {"startLine": 7, "startColumn": 5, "endLine": 7, "endColumn": 17}
    assert secret["partialFingerprints"] == {"primaryLocationLineHash": "7abcdef:1"}
    assert secret["fingerprints"] == {"reviewer/v1": scan.findings[2].fingerprint}
    assert "partialFingerprints" not in results[1]


def test_control_characters_are_escaped(scan: ScanResult, rules: list[RuleSpec]) -> None:
    text = render_sarif(scan, rules, tool_version="1.2.3")
    assert "\\u001b[31mleaked" in text and "\\u0000" in text
    assert not any(ord(char) < 0x20 and char != "\n" for char in text)


def test_uris_are_percent_encoded_and_round_trip(scan: ScanResult, rules: list[RuleSpec]) -> None:
    run = render(scan, rules)["runs"][0]
    uris = [result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in run["results"]]
    assert uris == ["app/my%20views.py", "app/my%20views.py", "src/%C3%BCn%C3%AFcode/%23weird%25name.py"]
    assert [unquote(uri) for uri in uris] == [ODD_PATHS[0], ODD_PATHS[0], ODD_PATHS[1]]
    assert all(URI_REFERENCE.fullmatch(uri) and "#" not in uri for uri in uris)
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///home/dev/shop%20project/"}}


def test_root_directory_uri_gets_a_single_trailing_slash(rules: list[RuleSpec]) -> None:
    log = render(ScanResult(root="/", findings=[], notices=[], files_scanned=0, elapsed=0.0), rules)
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///"


@pytest.mark.parametrize(
    ("category", "expected"),
    [(None, "reviewer/"), ("backend", "backend/"), ("monorepo/api", "monorepo/api/"), ("backend/", "backend/")],
)
def test_automation_details_id(
    scan: ScanResult, rules: list[RuleSpec], category: str | None, expected: str
) -> None:
    assert render(scan, rules, category=category)["runs"][0]["automationDetails"] == {"id": expected}


def test_notifications(scan: ScanResult, rules: list[RuleSpec]) -> None:
    invocation = render(scan, rules)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    syntax, check, decode = invocation["toolExecutionNotifications"]
    assert syntax == {
        "descriptor": {"id": "syntax-error"},
        "level": "warning",
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "broken.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 4},
                }
            }
        ],
        "message": {"text": "broken.py: invalid syntax"},
    }
    assert check["level"] == "error"
    assert check["associatedRule"] == {"id": "RV002"}
    assert check["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/my%20views.py"
    assert decode["descriptor"] == {"id": "decode-error"}
    assert "region" not in decode["locations"][0]["physicalLocation"]
    assert "associatedRule" not in decode


def test_internal_error_marks_execution_unsuccessful(scan: ScanResult, rules: list[RuleSpec]) -> None:
    scan.notices.append(Notice("app/models.py", NoticeKind.INTERNAL_ERROR, "worker died"))
    log = render(scan, rules)
    validate(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][-1]["level"] == "error"


def test_output_is_deterministic(scan: ScanResult, rules: list[RuleSpec]) -> None:
    first = render_sarif(scan, rules, tool_version="1.2.3")
    assert first == render_sarif(scan, rules, tool_version="1.2.3")
    assert first.endswith("}\n")


def test_finding_for_an_unknown_rule_is_refused(scan: ScanResult, rules: list[RuleSpec]) -> None:
    with pytest.raises(ValueError, match="RV001"):
        render_sarif(scan, rules[1:], tool_version="1.2.3")


def test_related_locations(rules: list[RuleSpec]) -> None:
    from reviewer.findings import Related

    base = finding(rules[0], "app/views.py", 12, "`order.customer` runs a query per row")
    related = Related("app/views.py", Span(8, 14, 8, 40), "add .select_related(\"customer\") here")
    result = ScanResult(root=ROOT, findings=[replace(base, related=(related,))], notices=[], files_scanned=1,
                        elapsed=0.1)
    log = render(result, rules)
    validate(log)
    (location,) = log["runs"][0]["results"][0]["relatedLocations"]
    assert location["id"] == 1
    assert location["message"]["text"] == related.message
    assert location["physicalLocation"]["region"]["startLine"] == 8
