"""The pre-commit hook: its definition, and its entry run the way pre-commit runs it (from the repository's top
folder, with the staged files appended)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HOOKS_FILE = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"
DJANGO_SHOP = Path(__file__).parent / "fixtures" / "django_shop"
# shop/views.py:12 calls billing.services.line_total, whose query is only known from billing/services.py.
CROSS_FILE_LINE = 12


@pytest.fixture(scope="module")
def hook() -> dict:
    [only] = yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))
    return only


def run_hook(hook: dict, repo: Path, *files: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "reviewer"
    command = [sys.executable, "-m", "reviewer", *entry[1:], *extra, *files]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
                          timeout=120)


def reviewer(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewer", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(DJANGO_SHOP, repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_hook_definition(hook: dict) -> None:
    assert hook["id"] == "reviewer"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook.get("pass_filenames", True) is True
    # One invocation indexes the whole project; parallel batches would each index it again.
    assert hook["require_serial"] is True
    assert shlex.split(hook["entry"])[:4] == ["reviewer", "scan", "--project-root", "."]


def test_hook_reports_cross_file_findings_in_the_staged_file_only(hook: dict, repo: Path) -> None:
    done = run_hook(hook, repo, "shop/views.py")
    assert done.returncode == 1, done.stderr
    locations = [line.split(": RV")[0] for line in done.stdout.splitlines() if ": RV" in line]
    assert locations and all(location.startswith("shop/views.py:") for location in locations), done.stdout
    assert f"shop/views.py:{CROSS_FILE_LINE}:" in done.stdout
    assert "billing/" not in done.stdout.split("Found ")[0]


def test_the_file_alone_would_miss_the_cross_file_finding(repo: Path) -> None:
    # Why the hook indexes the project: on its own, the staged file does not say line_total() runs a query.
    alone = reviewer("scan", "shop/views.py", "-f", "json", cwd=repo)
    assert CROSS_FILE_LINE not in {f["range"]["start"]["line"] for f in json.loads(alone.stdout)["findings"]}


def test_hook_reports_what_a_full_scan_reports_for_those_files(hook: dict, repo: Path) -> None:
    staged = ("shop/views.py", "billing/services.py")
    hooked = json.loads(run_hook(hook, repo, *staged, extra=("-f", "json")).stdout)["findings"]
    full = json.loads(reviewer("scan", ".", "-f", "json", cwd=repo).stdout)["findings"]
    assert hooked == [f for f in full if f["path"] in staged]
    assert hooked


def test_clean_staged_files_pass(hook: dict, repo: Path) -> None:
    done = run_hook(hook, repo, "shop/models.py", "billing/models.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_excluded_staged_files_are_not_reported(hook: dict, repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.reviewer]\nextend-exclude = ["billing/management/"]\n')
    done = run_hook(hook, repo, "billing/management/commands/send_invoices.py")
    assert reviewer("scan", "billing/management/commands/send_invoices.py", cwd=repo).returncode == 1, \
        "given alone, an excluded file is scanned"
    assert done.returncode == 0, done.stdout


def test_a_folder_limits_the_report_to_it(hook: dict, repo: Path) -> None:
    findings = json.loads(run_hook(hook, repo, "billing", extra=("-f", "json")).stdout)["findings"]
    assert findings and all(f["path"].startswith("billing/") for f in findings)


def test_files_outside_the_project_are_a_usage_error(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.py"
    other.write_text("x = 1\n")
    done = reviewer("scan", "--project-root", ".", str(other), cwd=repo)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and "is not inside --project-root" in line


def test_project_root_must_be_a_folder(repo: Path) -> None:
    done = reviewer("scan", "--project-root", "shop/views.py", "shop/views.py", cwd=repo)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --project-root") and "is not a folder" in done.stderr
