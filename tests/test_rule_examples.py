"""Every rule's YAML examples run through the real engine with every rule enabled: each line marked
``# expect: RVnnn`` is reported with that rule, and nothing else is reported."""

from __future__ import annotations

import re

import pytest

from reviewer.analysis import analyze_text
from reviewer.catalog import load_catalog
from reviewer.config import Settings, build_plan
from reviewer.index import ProjectIndex

CATALOG = load_catalog()
EXPECT = re.compile(r"#\s*expect:\s*(?P<ids>RV\d{3}(?:\s*,\s*RV\d{3})*)")


def expected_findings(code: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(code.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            expected |= {(number, rule_id.strip()) for rule_id in match.group("ids").split(",")}
    return expected


def reported_findings(code: str, rule_id: str) -> set[tuple[int, str]]:
    plan = build_plan(Settings(select=["ALL"]), CATALOG)
    result = analyze_text(code, f"snippets/{rule_id.lower()}.py", f"snippets.{rule_id.lower()}", False, plan)
    assert not result.notices, result.notices
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    return {(finding.span.line, finding.rule_id) for finding in findings}


@pytest.mark.parametrize("rule_id", list(CATALOG))
def test_bad_example_reports_exactly_the_marked_lines(rule_id: str) -> None:
    code = CATALOG[rule_id].examples_bad
    expected = expected_findings(code)
    assert any(found == rule_id for _, found in expected)
    assert reported_findings(code, rule_id) == expected


@pytest.mark.parametrize("rule_id", list(CATALOG))
def test_good_example_reports_nothing(rule_id: str) -> None:
    assert reported_findings(CATALOG[rule_id].examples_good, rule_id) == set()


def test_marker_parsing() -> None:
    assert expected_findings("a = 1\nb()  # expect: RV201, RV301\n") == {(2, "RV201"), (2, "RV301")}
