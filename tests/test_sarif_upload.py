"""SARIF shaped for GitHub code scanning uploads: one run per category, within GitHub's limits, stable
repository-relative URIs, and suppressed findings left out unless asked for."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from sarif_validation import validate

from reviewer.catalog import load_catalog
from reviewer.findings import Finding, Related, ScanResult, Severity, Span
from reviewer.report.repository import rebase, repository_root
from reviewer.report.sarif import CAPPED_DESCRIPTOR, MAX_LOCATIONS_PER_RESULT, MAX_RESULTS, render_sarif

FIXTURES = Path(__file__).parent / "fixtures"
ASYNC_APP = FIXTURES / "async_app"
RULES = list(load_catalog().values())
SEVERITIES = (Severity.NOTE, Severity.WARNING, Severity.ERROR)


def reviewer(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=120)


def finding(number: int, severity: Severity, message: str = "a blocking call", related: int = 0) -> Finding:
    line = number % 5000 + 1
    return Finding(
        path=f"pkg/module_{number // 5000}.py",
        span=Span(line, 5, line, 20),
        rule_id="RV201",
        rule_name="blocking-call-in-async",
        severity=severity,
        message=message,
        snippet=(f"    time.sleep({number})",),
        line_hash=f"{number:x}:1",
        related=tuple(Related("pkg/other.py", Span(n + 1, 1, n + 1, 2), "here") for n in range(related)),
    )


def scan_result(findings: list[Finding], suppressed: list[Finding] | None = None) -> ScanResult:
    return ScanResult(root="/repo", findings=sorted(findings, key=lambda f: f.sort_key), notices=[],
                      files_scanned=1, elapsed=0.0, suppressed_findings=suppressed or [])


def sarif(result: ScanResult, **limits: int) -> dict:
    return json.loads(render_sarif(result, RULES, tool_version="0.1.0", category="be", **limits))


def capped_notifications(run: dict) -> list[dict]:
    notifications = run["invocations"][0].get("toolExecutionNotifications", [])
    return [n for n in notifications if n.get("descriptor", {}).get("id") == CAPPED_DESCRIPTOR]


def uris(run: dict) -> set[str]:
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}


# -- limits -----------------------------------------------------------------------------------------------------------


@pytest.mark.slow  # about 10 seconds: rendering 25,000 results
def test_results_are_capped_at_githubs_limit_keeping_the_most_severe() -> None:
    findings = [finding(n, SEVERITIES[n % 3]) for n in range(MAX_RESULTS + 10)]
    log = sarif(scan_result(findings))
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    assert len(run["results"]) == MAX_RESULTS
    levels = [r["level"] for r in run["results"]]
    # Exactly 10 notes went, and nothing else.
    assert levels.count("error") == sum(1 for f in findings if f.severity is Severity.ERROR)
    assert levels.count("warning") == sum(1 for f in findings if f.severity is Severity.WARNING)
    assert levels.count("note") == sum(1 for f in findings if f.severity is Severity.NOTE) - 10
    [notice] = capped_notifications(run)
    assert notice["level"] == "warning"
    assert notice["message"]["text"].startswith(f"10 of {MAX_RESULTS + 10:,} results left out")


def test_small_scans_are_not_capped() -> None:
    run = sarif(scan_result([finding(n, Severity.NOTE) for n in range(3)]))["runs"][0]
    assert len(run["results"]) == 3
    assert not capped_notifications(run)


def test_capped_results_keep_path_order_and_validate() -> None:
    findings = [finding(n, SEVERITIES[n % 3]) for n in range(12)]
    log = sarif(scan_result(findings), max_results=5)
    validate(log)
    run = log["runs"][0]
    # The 4 errors and the first warning, in path and line order.
    assert [r["level"] for r in run["results"]] == ["warning"] + ["error"] * 4
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]]
    assert lines == sorted(lines)
    assert capped_notifications(run)


def test_gzipped_size_stays_under_the_limit() -> None:
    noise = random.Random(7)

    def message() -> str:  # incompressible, so the gzipped size grows with every result
        return "".join(noise.choices(string.ascii_letters + string.digits, k=400))

    findings = [finding(n, SEVERITIES[n % 3], message()) for n in range(600)]
    limit = 150_000
    uncapped = render_sarif(scan_result(findings), RULES, tool_version="0.1.0")
    assert len(gzip.compress(uncapped.encode())) > limit, "the synthetic scan must exceed the test limit"
    text = render_sarif(scan_result(findings), RULES, tool_version="0.1.0", max_gzipped_bytes=limit)
    assert len(gzip.compress(text.encode(), compresslevel=6)) <= limit
    run = json.loads(text)["runs"][0]
    assert 0 < len(run["results"]) < len(findings)
    levels = [r["level"] for r in run["results"]]
    # What was kept is a prefix of the priority order: every error, then warnings, and no note.
    assert levels.count("error") == sum(1 for f in findings if f.severity is Severity.ERROR)
    assert 0 < levels.count("warning") < sum(1 for f in findings if f.severity is Severity.WARNING)
    assert "note" not in levels
    assert capped_notifications(run)


def test_locations_per_result_stay_within_githubs_limit() -> None:
    run = sarif(scan_result([finding(1, Severity.WARNING, related=MAX_LOCATIONS_PER_RESULT + 50)]))["runs"][0]
    [result] = run["results"]
    assert len(result["locations"]) + len(result["relatedLocations"]) == MAX_LOCATIONS_PER_RESULT


def test_rule_tags_stay_within_githubs_display_limit() -> None:
    run = sarif(scan_result([]))["runs"][0]
    assert all(len(rule["properties"]["tags"]) <= 10 for rule in run["tool"]["driver"]["rules"])


# -- suppressions -----------------------------------------------------------------------------------------------------


def test_suppressed_findings_come_last_when_capped_and_carry_suppressions() -> None:
    result = scan_result([finding(1, Severity.NOTE)], suppressed=[finding(2, Severity.ERROR)])
    run = sarif(result)["runs"][0]
    assert [r.get("suppressions") for r in run["results"]] == [None, [{"kind": "inSource"}]]
    capped = sarif(result, max_results=1)["runs"][0]
    assert [r["level"] for r in capped["results"]] == ["note"]


@pytest.fixture
def suppressing_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ASYNC_APP, project)
    main = project / "api" / "main.py"
    main.write_text(main.read_text().replace("time.sleep(2**attempt)", "time.sleep(2**attempt)  # reviewer: ignore[RV201]"))
    return project


def test_suppressed_findings_are_left_out_by_default(suppressing_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    assert reviewer("scan", str(suppressing_project), "-f", "sarif", "-o", str(out)).returncode == 1
    run = json.loads(out.read_text())["runs"][0]
    lines = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]}
    assert ("api/main.py", 36) not in lines
    assert not any("suppressions" in r for r in run["results"])


def test_include_suppressed_keeps_them_marked(suppressing_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    plain = tmp_path / "plain.sarif"
    reviewer("scan", str(suppressing_project), "-f", "sarif", "-o", str(plain))
    done = reviewer("scan", str(suppressing_project), "--include-suppressed", "-f", "sarif", "-o", str(out))
    assert done.returncode == 1, done.stderr
    log = json.loads(out.read_text())
    validate(log)
    results = log["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"] == [{"kind": "inSource"}]
    assert suppressed[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 36
    assert suppressed[0]["partialFingerprints"]["primaryLocationLineHash"]
    unsuppressed = [r for r in results if "suppressions" not in r]
    assert unsuppressed == json.loads(plain.read_text())["runs"][0]["results"]


def test_suppressed_findings_do_not_fail_the_run(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\nasync def f():\n    time.sleep(1)  # reviewer: ignore\n")
    out = tmp_path / "out.sarif"
    done = reviewer("scan", str(tmp_path), "--include-suppressed", "-f", "sarif", "-o", str(out))
    assert done.returncode == 0, done.stderr
    [result] = json.loads(out.read_text())["runs"][0]["results"]
    assert result["suppressions"][0]["kind"] == "inSource"


def test_engine_keeps_suppressed_candidates_only_when_confirmed(tmp_path: Path) -> None:
    # RV101 on a model from another module is a candidate confirmed by the join: suppressed ones go through it too.
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "django_shop", project)
    views = project / "shop" / "views.py"
    lines = views.read_text().splitlines()
    lines[11] += "  # reviewer: ignore[RV101]"
    views.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.sarif"
    reviewer("scan", str(project), "--include-suppressed", "-f", "sarif", "-o", str(out))
    results = json.loads(out.read_text())["runs"][0]["results"]
    [suppressed] = [r for r in results if "suppressions" in r]
    assert suppressed["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert "billing.services.current_price" in suppressed["message"]["text"], "resolved by the join"


# -- repository-relative, stable URIs ---------------------------------------------------------------------------------


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ASYNC_APP, repo / "services" / "payments")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def sarif_run(*args: str, cwd: Path | None = None) -> dict:
    done = reviewer("scan", *args, "-f", "sarif", cwd=cwd)
    assert done.returncode == 1, done.stderr
    log = json.loads(done.stdout)
    validate(log)
    [run] = log["runs"]
    return run


def test_uris_are_relative_to_the_repository_root_whatever_is_scanned(repository: Path) -> None:
    whole = sarif_run(str(repository))
    sub = sarif_run("api", cwd=repository / "services" / "payments")
    expected = {"services/payments/api/main.py", "services/payments/api/services.py"}
    assert uris(sub) == expected
    assert expected < uris(whole)
    for run in (whole, sub):
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repository.resolve().as_uri() + "/"
    same = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["partialFingerprints"]["primaryLocationLineHash"], r["fingerprints"]["reviewer/v1"])
            for r in sub["results"]}
    assert same <= {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                     r["partialFingerprints"]["primaryLocationLineHash"], r["fingerprints"]["reviewer/v1"])
                    for r in whole["results"]}, "the same alert whatever folder was scanned"


def test_symlinks_are_resolved(repository: Path, tmp_path: Path) -> None:
    (repository / "current").symlink_to(repository / "services" / "payments", target_is_directory=True)
    outside = tmp_path / "checkout-link"
    outside.symlink_to(repository, target_is_directory=True)
    via_link = sarif_run(str(repository / "current" / "api"))
    via_outside_link = sarif_run(str(outside / "services" / "payments" / "api"))
    assert uris(via_link) == uris(via_outside_link) == {"services/payments/api/main.py",
                                                        "services/payments/api/services.py"}


def test_a_file_reached_twice_is_reported_once(repository: Path) -> None:
    (repository / "current").symlink_to(repository / "services" / "payments", target_is_directory=True)
    run = sarif_run(str(repository / "services" / "payments" / "api"), str(repository / "current" / "api"))
    keys = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"], r["message"]["text"])
            for r in run["results"]]
    assert len(keys) == len(set(keys))
    assert uris(run) == {"services/payments/api/main.py", "services/payments/api/services.py"}


def test_outside_a_repository_uris_stay_relative_to_the_scan_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ASYNC_APP, project)
    run = sarif_run(str(project / "api"))
    assert uris(run) == {"main.py", "services.py"}


def test_github_annotations_use_repository_paths(repository: Path) -> None:
    done = reviewer("scan", "api", "-f", "github", cwd=repository / "services" / "payments")
    assert done.returncode == 1
    files = {line.split("file=", 1)[1].split(",", 1)[0] for line in done.stdout.splitlines()}
    assert files == {"services/payments/api/main.py", "services/payments/api/services.py"}


def test_text_and_json_keep_scan_root_paths(repository: Path) -> None:
    done = reviewer("scan", "api", "-f", "json", cwd=repository / "services" / "payments")
    assert {f["path"] for f in json.loads(done.stdout)["findings"]} == {"main.py", "services.py"}


def test_rebase_moves_related_locations_and_notices() -> None:
    result = ScanResult(root="/nowhere/repo/sub", findings=[finding(1, Severity.WARNING, related=1)], notices=[],
                        files_scanned=1, elapsed=0.0)
    moved = rebase(result, Path("/nowhere/repo"))
    assert moved.root == "/nowhere/repo"
    assert moved.findings[0].path == "sub/pkg/module_0.py"
    assert moved.findings[0].related[0].path == "sub/pkg/other.py"
    assert moved.findings[0].fingerprint != result.findings[0].fingerprint  # the path is part of it


def test_repository_root_is_the_nearest_git_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / ".git").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    assert repository_root(str(tmp_path / "a" / "b" / "c")) == (tmp_path / "a").resolve()
    (tmp_path / "a" / "b" / ".git").write_text("gitdir: ../.git/worktrees/b\n")  # a worktree or submodule
    assert repository_root(str(tmp_path / "a" / "b" / "c")) == (tmp_path / "a" / "b").resolve()


def test_category_sets_the_one_runs_automation_id(tmp_path: Path) -> None:
    run = sarif_run(str(ASYNC_APP), "--category", "backend/python")
    assert run["automationDetails"]["id"] == "backend/python/"


def test_engine_keeps_suppressed_findings_only_when_asked(stand_ins) -> None:
    from reviewer.analysis import analyze_text

    plan = stand_ins()
    text = "target = 1  # reviewer: ignore[RV901]\ntarget = 2\n"
    dropped = analyze_text(text, "app.py", "app", False, plan)
    assert dropped.suppressed == 1 and dropped.suppressed_findings == []
    plan.keep_suppressed = True
    kept = analyze_text(text, "app.py", "app", False, plan)
    assert kept.suppressed == 1
    assert [f.span.line for f in kept.suppressed_findings] == [1]
    assert [f.span.line for f in kept.findings] == [2]
