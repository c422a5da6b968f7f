"""The real command line, run as a subprocess the way users and CI run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sarif_validation import validate

FIXTURES = Path(__file__).parent / "fixtures"
ASYNC_APP = FIXTURES / "async_app"


def reviewer(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def json_report() -> dict:
    result = reviewer("scan", str(ASYNC_APP), "-f", "json", "--no-progress")
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def test_text_output_shows_findings_with_source_and_summary() -> None:
    result = reviewer("scan", str(ASYNC_APP))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "RV201 [warning] blocking-call-in-async" in out
    assert "^" in out and "│" in out  # the flagged source with its span marked
    assert "Found " in out and "Scanned " in out
    assert "\x1b[" not in out  # plain when not a terminal


def test_findings_are_sorted_and_relative(json_report: dict) -> None:
    findings = json_report["findings"]
    assert findings, "the fixture has real findings"
    keys = [(f["path"], f["range"]["start"]["line"], f["range"]["start"]["column"], f["rule"]) for f in findings]
    assert keys == sorted(keys)
    assert all(not f["path"].startswith("/") for f in findings)
    assert {f["rule"] for f in findings} == {"RV201"}


def test_sarif_output_is_schema_valid_and_complete(tmp_path: Path) -> None:
    result = reviewer("scan", str(ASYNC_APP), "-f", "sarif", "-o", str(tmp_path / "out.sarif"), "--category", "be")
    assert result.returncode == 1
    log = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    validate(log)
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == "be/"
    assert run["results"], "findings reach SARIF"
    for sarif_result in run["results"]:
        rule = run["tool"]["driver"]["rules"][sarif_result["ruleIndex"]]
        assert rule["id"] == sarif_result["ruleId"]
        assert sarif_result["partialFingerprints"]["primaryLocationLineHash"]
        assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"


def test_text_and_sarif_in_one_run(tmp_path: Path) -> None:
    sarif = tmp_path / "nested" / "out.sarif"
    result = reviewer("scan", str(ASYNC_APP), "--sarif-output", str(sarif))
    assert "RV201" in result.stdout
    validate(json.loads(sarif.read_text(encoding="utf-8")))


def test_github_annotations(json_report: dict) -> None:
    result = reviewer("scan", str(ASYNC_APP), "-f", "github")
    lines = result.stdout.splitlines()
    assert len(lines) == len(json_report["findings"])
    assert all(line.startswith("::warning file=") for line in lines)


def test_output_does_not_depend_on_jobs() -> None:
    outputs = {reviewer("scan", str(ASYNC_APP), "-f", "sarif", "-j", jobs).stdout for jobs in ("1", "2")}
    assert len(outputs) == 1


def test_select_and_ignore(json_report: dict) -> None:
    assert reviewer("scan", str(ASYNC_APP), "--ignore", "RV201").returncode == 0
    assert reviewer("scan", str(ASYNC_APP), "--select", "async").returncode == 1
    assert reviewer("scan", str(ASYNC_APP), "--select", "RV2", "--exit-zero").returncode == 0
    quiet = reviewer("scan", str(ASYNC_APP), "-q").stdout.splitlines()
    assert len(quiet) == len(json_report["findings"])


def test_config_file_is_found_and_applied(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n", encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[tool.reviewer]\nper-file-ignores = { "legacy/**" = ["RV201"] }\n\n'
        '[tool.reviewer.rules.RV201]\nseverity = "error"\n',
        encoding="utf-8",
    )
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text((project / "app.py").read_text(), encoding="utf-8")
    report = json.loads(reviewer("scan", "-f", "json", cwd=project).stdout)
    assert [(f["path"], f["severity"]) for f in report["findings"]] == [("app.py", "error")]


@pytest.mark.parametrize(
    ("args", "config", "mentions"),
    [
        (["--format", "yaml"], None, "--format"),
        (["--bogus"], None, "--bogus"),
        (["--select", "RV999"], None, "RV999"),
        (["--jobs", "0"], None, "--jobs"),
        (["--max-file-size", "huge"], None, "--max-file-size"),
        ([], "[tool.reviewer]\nselct = ['RV201']\n", "selct"),
        ([], "[tool.reviewer]\nselect = 'RV201'\n", "select"),
        ([], "[tool.reviewer.rules.RV201]\nextra = 1\n", "extra"),
        ([], "[tool.reviewer.rules.RV777]\nseverity = 'error'\n", "RV777"),
        ([], "[tool.reviewer\n", "invalid TOML"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: list[str], config: str | None,
                                               mentions: str) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    line = one_error_line(reviewer("scan", str(tmp_path), *args, cwd=tmp_path))
    assert mentions in line


def test_missing_path_and_missing_config() -> None:
    assert "does not exist" in one_error_line(reviewer("scan", "no/such/dir"))
    assert "does not exist" in one_error_line(reviewer("scan", str(ASYNC_APP), "--config", "nope.toml"))


def test_unscannable_files_are_listed_and_strict_fails(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "py2.py").write_text('print "hello"\n', encoding="utf-8")
    relaxed = reviewer("scan", str(tmp_path))
    assert relaxed.returncode == 0
    assert "py2.py" in relaxed.stdout and "syntax error" in relaxed.stdout
    assert reviewer("scan", str(tmp_path), "--strict").returncode == 1
    report = json.loads(reviewer("scan", str(tmp_path), "-f", "json").stdout)
    assert [n["path"] for n in report["notices"]] == ["py2.py"]
    annotations = reviewer("scan", str(tmp_path), "-f", "github").stdout
    assert "py2.py" in annotations


def test_rules_and_explain() -> None:
    listing = reviewer("rules")
    assert listing.returncode == 0
    assert "RV201" in listing.stdout and "blocking-call-in-async" in listing.stdout
    explained = reviewer("explain", "RV201")
    assert explained.returncode == 0
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
        assert section in explained.stdout
    assert reviewer("explain", "blocking-call-in-async").stdout == explained.stdout
    assert "RV999" in one_error_line(reviewer("explain", "RV999"))


def test_version() -> None:
    result = reviewer("--version")
    assert result.returncode == 0 and result.stdout.startswith("reviewer ")


# -- the cache -------------------------------------------------------------------------------------------------------


def test_warm_scan_reuses_results_and_reports_the_same(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("api", "shop"):
        (project / name).mkdir()
        for path in (ASYNC_APP / name).glob("*.py"):
            (project / name / path.name).write_text(path.read_text())
    cache = tmp_path / "cache"
    args = ("scan", str(project), "--no-progress", "--cache-dir", str(cache))
    cold = reviewer(*args, "-f", "json")
    warm = reviewer(*args, "-f", "json")
    assert cold.returncode == warm.returncode == 1
    assert cold.stdout == warm.stdout
    assert "unchanged since the last run" in reviewer(*args).stdout

    # One file changed: it is analyzed again, the others come from the cache.
    changed = next((project / "api").glob("*.py"))
    changed.write_text(changed.read_text() + "\n\nasync def extra():\n    import time\n    time.sleep(1)\n")
    text = reviewer(*args).stdout
    files = len(list(project.rglob("*.py")))
    assert f"{files - 1} unchanged since the last run" in text
    assert json.loads(reviewer(*args, "-f", "json").stdout)["summary"]["findings"] == \
        json.loads(cold.stdout)["summary"]["findings"] + 1

    # Corrupt entries are rebuilt; --no-cache neither reads nor writes.
    for entry in cache.rglob("*.json"):
        entry.write_text("{not json")
    assert reviewer(*args, "-f", "json").stdout == reviewer(*args, "-f", "json", "--no-cache").stdout
    assert "unchanged since the last run" not in reviewer(*args, "--no-cache").stdout
