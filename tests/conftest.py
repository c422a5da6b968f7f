"""Shared helpers for the engine, source and suppression tests: stand-in checks and scan plans.

The stand-in checks are :class:`~reviewer.checks.base.Check` subclasses defined outside ``reviewer.checks``, so
they stay out of the real rule registry (which other tests compare with the catalog); they are handed to the
engine by patching ``reviewer.analysis.check_classes``.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
import pytest

import reviewer.analysis
from reviewer.analysis import analyze_text
from reviewer.catalog import RuleSpec, load_catalog
from reviewer.checks.base import Check
from reviewer.findings import FileResult, Severity
from reviewer.index import ProjectIndex
from reviewer.plan import UNUSED_SUPPRESSION_RULE, ScanPlan


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_source_tree(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The command lines the tests run cache their results in a temporary folder, not next to the fixtures."""
    os.environ["REVIEWER_CACHE_DIR"] = str(tmp_path_factory.mktemp("reviewer-cache"))


def make_spec(
    rule_id: str,
    name: str,
    *,
    enabled_by_default: bool = True,
    category: str = "testing",
    severity: Severity = Severity.WARNING,
    options: dict[str, Any] | None = None,
) -> RuleSpec:
    """A minimal rule spec that is independent of the catalog's YAML."""
    from reviewer.catalog import RuleOption

    return RuleSpec(
        id=rule_id,
        name=name,
        category=category,
        severity=severity,
        precision="high",
        summary=f"Test rule {name}.",
        docs={key: "text" for key in ("what-it-does", "why-is-this-bad", "example", "use-instead")},
        references=(("ref", "https://example.com"),),
        examples_bad="",
        examples_good="",
        enabled_by_default=enabled_by_default,
        options={k: RuleOption(k, "an option", v) for k, v in (options or {}).items()},
    )


class StandInCheck(Check):
    """A check with a name of its own, for plans built without the catalog."""

    rule_name: ClassVar[str] = ""


class FlagTarget(StandInCheck):
    """Reports every use of the name ``target``."""

    rule_id = "RV901"
    rule_name = "flag-target"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "target":
            self.report(node, "found target")


class FlagCalls(StandInCheck):
    """Reports every call; only runs on files mentioning ``requests``."""

    rule_id = "RV902"
    rule_name = "flag-calls"
    triggers = ("requests",)

    def visit_Call(self, node: cst.Call) -> None:
        self.report(node, "a call")


class Explodes(StandInCheck):
    """Raises on the first name ``boom``."""

    rule_id = "RV903"
    rule_name = "explodes"

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "boom":
            raise ValueError("kaboom")


STAND_INS: tuple[type[StandInCheck], ...] = (FlagTarget, FlagCalls, Explodes)


def build_plan(
    checks: tuple[type[StandInCheck], ...] = (FlagTarget,),
    *,
    with_unused_suppressions: bool = False,
    max_file_size: int = 1024 * 1024,
    per_file_ignores: list[tuple[str, tuple[str, ...]]] | None = None,
) -> ScanPlan:
    """A plan running the given stand-in checks (and RV001 from the real catalog when asked)."""
    catalog = load_catalog()
    specs = {cls.rule_id: make_spec(cls.rule_id, cls.rule_name) for cls in checks}
    if with_unused_suppressions:
        specs[UNUSED_SUPPRESSION_RULE] = catalog[UNUSED_SUPPRESSION_RULE]
    return ScanPlan(
        specs=specs,
        options={rule_id: {} for rule_id in specs},
        severities={rule_id: spec.severity for rule_id, spec in specs.items()},
        per_file_ignores=per_file_ignores or [],
        max_file_size=max_file_size,
        all_rule_ids=frozenset(catalog) | {cls.rule_id for cls in STAND_INS},
    )


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ScanPlan]:
    """Install the stand-in checks in the engine; returns :func:`build_plan`."""
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {cls.rule_id: cls for cls in STAND_INS})
    return build_plan


def rule_plan(rule_id: str, rule_table: dict[str, Any] | None = None) -> ScanPlan:
    """A plan running one real rule from the catalog, configured as ``[tool.reviewer.rules.<rule_id>]`` would be
    (through the configuration validator)."""
    from reviewer.config import per_file_ignores, rule_options, rule_severity, settings_from_table

    catalog = load_catalog()
    spec = catalog[rule_id]
    settings = settings_from_table({"rules": {rule_id: rule_table or {}}}, catalog, "pyproject.toml")
    return ScanPlan(
        specs={rule_id: spec},
        options={rule_id: rule_options(spec, settings)},
        severities={rule_id: rule_severity(spec, settings)},
        per_file_ignores=per_file_ignores(settings, catalog),
        all_rule_ids=frozenset(catalog),
    )


# Sample code marks each line a rule must report with this comment.
REPORTED = re.compile(r"#\s*reported\b")


def marked_lines(source: str) -> list[int]:
    """The lines of ``source`` (dedented) marked ``# reported``."""
    return [number for number, line in enumerate(textwrap.dedent(source).splitlines(), 1) if REPORTED.search(line)]


def analyze_source(source: str, plan: ScanPlan) -> FileResult:
    """One module, ``app.py``, analyzed on its own; it must not produce notices."""
    result = analyze_text(textwrap.dedent(source), "app.py", "app", False, plan)
    assert not result.notices, result.notices
    return result


def reported(source: str, plan: ScanPlan) -> list[tuple[int, str]]:
    """(line, message) of every finding, with candidates resolved against this one file's facts."""
    result = analyze_source(source, plan)
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    return sorted((finding.span.line, finding.message) for finding in findings)


def assert_marked(source: str, plan: ScanPlan) -> None:
    """Exactly the lines of ``source`` marked ``# reported`` are reported."""
    assert [line for line, _ in reported(source, plan)] == marked_lines(source)


def only_message(source: str, plan: ScanPlan) -> str:
    """The message of the one finding ``source`` must give."""
    findings = reported(source, plan)
    assert len(findings) == 1, findings
    return findings[0][1]


def fixture_lines(root: Path, marker: str) -> list[tuple[str, int]]:
    """(path, line) of every line under ``root`` whose text matches ``marker`` (a regular expression): the lines a
    fixture project marks as reported."""
    pattern = re.compile(marker)
    return sorted(
        (path.relative_to(root).as_posix(), number)
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    )
