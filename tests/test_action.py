"""The composite GitHub Action (action.yml): its structure, and its scan step's script run verbatim with bash."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sarif_validation import validate

REPOSITORY = Path(__file__).parent.parent
ACTION_FILE = REPOSITORY / "action.yml"
ASYNC_APP = Path(__file__).parent / "fixtures" / "async_app"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REVIEWER = Path(sys.executable).parent / "reviewer"


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))


def step(action: dict, step_id: str) -> dict:
    [found] = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    return found


def expressions(value: object) -> list[str]:
    if isinstance(value, dict):
        return [e for item in value.values() for e in expressions(item)]
    if isinstance(value, list):
        return [e for item in value for e in expressions(item)]
    return EXPRESSION.findall(value) if isinstance(value, str) else []


def test_metadata(action: dict) -> None:
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec and not spec.get("required"), f"{name}: every input is optional"
    assert set(action["inputs"]) >= {"paths", "config", "baseline", "diff", "category", "fail-on-findings"}
    assert set(action["outputs"]) == {"sarif-file", "findings"}


def test_permissions_are_documented() -> None:
    text = ACTION_FILE.read_text(encoding="utf-8")
    for permission in ("security-events: write", "contents: read", "actions: read"):
        assert permission in text


def test_every_expression_names_something_that_exists(action: dict) -> None:
    step_ids = {s.get("id") for s in action["runs"]["steps"]}
    found = expressions(action)
    assert found
    for expression in found:
        for name in re.findall(r"\binputs\.([\w-]+)", expression):
            assert name in action["inputs"], expression
        for name in re.findall(r"\bsteps\.([\w-]+)\.", expression):
            assert name in step_ids, expression


def test_scripts_never_interpolate_expressions(action: dict) -> None:
    # An input spliced into a script could run as a command; inputs reach scripts through env only.
    for each in action["runs"]["steps"]:
        if "run" in each:
            assert "${{" not in each["run"], each["name"]
            assert each["shell"] == "bash", each["name"]


def test_upload_step(action: dict) -> None:
    [upload] = [s for s in action["runs"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert upload["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}"
    assert "inputs.upload" in upload["if"]
    steps = action["runs"]["steps"]
    fail = steps[-1]
    assert steps.index(upload) < steps.index(fail), "the job fails only after the upload"
    assert "inputs.fail-on-findings" in fail["if"] and "steps.scan.outputs.findings" in fail["if"]


def test_install_step_installs_the_actions_own_checkout(action: dict) -> None:
    install = step(action, "install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install' in install["run"] and '"$ACTION_PATH"' in install["run"]


# -- running the scan step --------------------------------------------------------------------------------------------


def evaluate(value: str, inputs: dict[str, str], install: dict[str, str]) -> str:
    """The few expressions the scan step uses, as the runner evaluates them."""

    def one(match: re.Match) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression.startswith("steps.install.outputs."):
            return install[expression.removeprefix("steps.install.outputs.")]
        raise AssertionError(f"unexpected expression {expression}")

    return EXPRESSION.sub(one, value)


def run_scan_step(
    action: dict, workspace: Path, tmp_path: Path, reviewer: Path = REVIEWER, **inputs: str
) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    scan = step(action, "scan")
    values = {name: str(spec["default"]) for name, spec in action["inputs"].items()}
    values |= {name.replace("_", "-"): value for name, value in inputs.items()}
    install = {"reviewer": str(reviewer), "python": sys.executable}
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_OUTPUT": str(output_file),
        **{key: evaluate(str(value), values, install) for key, value in scan["env"].items()},
    }
    done = subprocess.run(["bash", "-c", scan["run"]], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=120)
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
    return done, outputs


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository whose service lives in a sub-folder."""
    repo = tmp_path / "workspace"
    shutil.copytree(ASYNC_APP, repo / "service")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_scan_step_writes_valid_sarif_and_outputs(action: dict, workspace: Path, tmp_path: Path) -> None:
    done, outputs = run_scan_step(action, workspace, tmp_path, paths="service/api service/shop", category="backend")
    assert done.returncode == 0, done.stderr  # findings do not stop the upload
    assert "RV201" in done.stdout, "the text report goes to the log"
    sarif_file = Path(outputs["sarif-file"])
    assert sarif_file == tmp_path / "runner_temp" / "reviewer.sarif"
    log = json.loads(sarif_file.read_text(encoding="utf-8"))
    validate(log)
    [run] = log["runs"]
    assert run["automationDetails"]["id"] == "backend/"
    assert int(outputs["findings"]) == len(run["results"]) > 0
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris and all(uri.startswith(("service/api/", "service/shop/")) for uri in uris), uris


def test_scan_step_with_config_args_and_sarif_file(action: dict, workspace: Path, tmp_path: Path) -> None:
    (workspace / "reviewer.toml").write_text('ignore = ["RV201"]\n')
    done, outputs = run_scan_step(action, workspace, tmp_path, config="reviewer.toml", args="--select ALL",
                                  sarif_file="out/reviewer.sarif")
    assert done.returncode == 0, done.stderr
    assert outputs["sarif-file"] == "out/reviewer.sarif"
    run = json.loads((workspace / "out" / "reviewer.sarif").read_text())["runs"][0]
    assert run["automationDetails"]["id"] == "reviewer/"
    assert not any(r["ruleId"] == "RV201" for r in run["results"])
    assert outputs["findings"] == str(len(run["results"]))


def test_scan_step_counts_no_suppressed_findings(action: dict, workspace: Path, tmp_path: Path) -> None:
    (workspace / "app.py").write_text("import time\n\nasync def f():\n    time.sleep(1)  # reviewer: ignore\n")
    done, outputs = run_scan_step(action, workspace, tmp_path, paths="app.py", args="--include-suppressed")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(Path(outputs["sarif-file"]).read_text())["runs"][0]["results"]) == 1
    assert outputs["findings"] == "0"


def test_a_configuration_error_fails_the_step(action: dict, workspace: Path, tmp_path: Path) -> None:
    done, outputs = run_scan_step(action, workspace, tmp_path, config="missing.toml")
    assert done.returncode == 2
    assert "error: config file missing.toml does not exist" in done.stderr
    assert "findings" not in outputs


def test_command_line_passes_every_input(action: dict, workspace: Path, tmp_path: Path) -> None:
    # A stand-in for reviewer that records its arguments: checks the command line the step builds, including the
    # baseline and diff flags.
    fake = tmp_path / "fake-reviewer"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'printf "%s\\n" "$@" > "$ARGS_FILE"\n'
        'while [ "$1" != --sarif-output ]; do shift; done\n'
        "echo '{\"runs\": [{\"results\": []}]}' > \"$2\"\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    args_file = tmp_path / "args"
    os.environ["ARGS_FILE"] = str(args_file)
    try:
        done, outputs = run_scan_step(
            action, workspace, tmp_path, reviewer=fake, paths="src lib", config="ci/reviewer.toml",
            baseline=".reviewer-baseline.json", diff="origin/main", category="pr", args="--select ALL -j 2",
        )
    finally:
        del os.environ["ARGS_FILE"]
    assert done.returncode == 0, done.stderr
    sarif = str(tmp_path / "runner_temp" / "reviewer.sarif")
    assert args_file.read_text().splitlines() == [
        "scan", "--sarif-output", sarif, "--category", "pr", "--no-progress", "--exit-zero",
        "--config", "ci/reviewer.toml", "--baseline", ".reviewer-baseline.json", "--diff", "origin/main",
        "--select", "ALL", "-j", "2", "src", "lib",
    ]
    assert outputs == {"sarif-file": sarif, "findings": "0"}


def test_fail_step_fails(action: dict) -> None:
    fail = action["runs"]["steps"][-1]
    done = subprocess.run(["bash", "-c", fail["run"]], env={**os.environ, "FINDINGS": "3"}, capture_output=True,
                          text=True)
    assert done.returncode == 1
    assert done.stdout.strip() == "::error title=reviewer::reviewer reported 3 finding(s)"
