"""Malformed configuration and baseline files through the command line: one ``error:`` line on standard error
naming what is wrong, exit code 2, nothing on standard output, never a traceback. Then random configuration tables
through the validator: the only exception it may raise is a ConfigError.

Every case runs through the CLI's entry point in-process (fast); the cases marked ``subprocess`` (one per way of
failing, and those that need a fresh interpreter's recursion limit) also run as a real ``python -m reviewer``,
concurrently, since each is a fresh interpreter that mostly imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.catalog import load_catalog
from reviewer.cli import main
from reviewer.config import TOP_LEVEL_KEYS, ConfigError, build_plan, check_options, settings_from_table

REVIEWER_TABLE = "[tool.reviewer]\n"
BASELINE_HEAD = '"format": "reviewer-baseline", "tool": {"name": "reviewer", "version": "0.1.0"}'


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes]  # written into an empty project folder next to app.py
    args: tuple[str, ...] = ()  # after `reviewer scan .`
    says: tuple[str, ...] = ()  # what the error line must mention
    subprocess: bool = False  # also run as a real command line
    in_process: bool = True  # False: the failure depends on the interpreter's recursion limit, which tests change


def pyproject(body: str) -> dict[str, str | bytes]:
    return {"pyproject.toml": REVIEWER_TABLE + body}


def baseline(content: str | bytes) -> dict[str, str | bytes]:
    return {"broken.json": content}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CASES: dict[str, Case] = {
    # pyproject.toml
    "broken-toml": Case({"pyproject.toml": "[tool.reviewer\nselect = []\n"}, says=("invalid TOML", "line 1"), subprocess=True),
    "table-declared-twice": Case(pyproject('select = ["ALL"]\n[tool.reviewer]\n'), says=("invalid TOML",)),
    "not-utf8-toml": Case(
        {"pyproject.toml": b"[tool.reviewer]\nselect = ['\xff']\n"}, says=("pyproject.toml",), subprocess=True,
    ),
    "reviewer-not-a-table": Case({"pyproject.toml": "[tool]\nreviewer = 5\n"}, says=("[tool.reviewer] must be a table",)),
    "unknown-key": Case(pyproject("selekt = []\n"), says=("'selekt'", "allowed keys"), subprocess=True),
    "select-a-string": Case(pyproject('select = "RV201"\n'), says=("select", "list of strings")),
    "select-numbers": Case(pyproject("select = [1, 2]\n"), says=("select", "list of strings")),
    "unknown-selector": Case(pyproject('ignore = ["RV9"]\n'), says=("'RV9'",)),
    "size-negative": Case(pyproject("max-file-size = -5\n"), says=("max-file-size",)),
    "size-words": Case(pyproject('max-file-size = "lots"\n'), says=("max-file-size",)),
    "size-infinite": Case(pyproject("max-file-size = inf\n"), says=("max-file-size",)),
    "gitignore-a-string": Case(pyproject('respect-gitignore = "yes"\n'), says=("respect-gitignore", "true or false")),
    "per-file-ignores-a-list": Case(pyproject('per-file-ignores = ["tests/**"]\n'), says=("per-file-ignores",)),
    "exclude-a-date": Case(pyproject("exclude = 2024-01-01\n"), says=("exclude",), subprocess=True),
    "rules-a-number": Case(pyproject("rules = 5\n"), says=("rules",)),
    "unknown-rule": Case(pyproject('[tool.reviewer.rules.RV999]\nseverity = "error"\n'), says=("'RV999'",)),
    "bad-severity": Case(pyproject('[tool.reviewer.rules.RV201]\nseverity = "fatal"\n'), says=("severity", "'fatal'"), subprocess=True),
    "unknown-option": Case(pyproject("[tool.reviewer.rules.RV201]\nblocking = []\n"), says=("'blocking'",)),
    "option-wrong-type": Case(pyproject("[tool.reviewer.rules.RV301]\ntest-paths = 3\n"), says=("test-paths",), subprocess=True),
    "option-wrong-items": Case(pyproject("[tool.reviewer.rules.RV201]\nextend-offload-wrappers = [[1]]\n"),
                               says=("extend-offload-wrappers",)),
    "option-bad-entry": Case(
        pyproject("[tool.reviewer.rules.RV201]\nextend-blocking-calls = [{ calls = 5 }]\n"),
        says=("extend-blocking-calls", "entry 1"),
        subprocess=True,
    ),
    "deeply-nested-toml": Case(
        pyproject(f"select = {nested(600)}\n"), says=("invalid TOML", "nested too deeply"),
        subprocess=True, in_process=False,
    ),
    # --config
    "config-missing": Case({}, ("--config", "missing.toml"), says=("missing.toml", "does not exist")),
    "config-a-directory": Case({"conf.d/x": ""}, ("--config", "conf.d"), says=("conf.d",)),
    "config-binary": Case({"bin.toml": b"\xff\xfe\x00\x01"}, ("--config", "bin.toml"), says=("bin.toml",), subprocess=True),
    # --baseline
    "baseline-missing": Case({}, ("--baseline", "none.json"), says=("none.json", "does not exist")),
    "baseline-a-directory": Case({"broken.json/x": ""}, ("--baseline", "broken.json"), says=("broken.json",)),
    "baseline-not-json": Case(baseline("{'entries': []"), ("--baseline", "broken.json"), says=("not valid JSON",), subprocess=True),
    "baseline-empty": Case(baseline(""), ("--baseline", "broken.json"), says=("broken.json",)),
    "baseline-binary": Case(baseline(b"\xff\xfe\x00["), ("--baseline", "broken.json"), says=("broken.json",), subprocess=True),
    "baseline-a-list": Case(baseline("[]"), ("--baseline", "broken.json"), says=("not a reviewer baseline",)),
    "baseline-newer": Case(baseline(f'{{{BASELINE_HEAD}, "version": 9, "entries": []}}'),
                           ("--baseline", "broken.json"), says=("version",)),
    "baseline-entries-a-table": Case(baseline(f'{{{BASELINE_HEAD}, "version": 1, "entries": {{}}}}'),
                                     ("--baseline", "broken.json"), says=('"entries"',)),
    "baseline-entry-wrong-types": Case(
        baseline(f'{{{BASELINE_HEAD}, "version": 1, "entries": [{{"rule": 5, "path": [], "line": "x"}}]}}'),
        ("--baseline", "broken.json"), says=("entry 1",), subprocess=True),
    "baseline-version-true": Case(
        baseline(f'{{{BASELINE_HEAD}, "version": true, "entries": []}}'), ("--baseline", "broken.json"),
        says=("version",),
        subprocess=True,
    ),
    "baseline-deeply-nested": Case(
        baseline(nested(100_000)), ("--baseline", "broken.json"), says=("broken.json",),
        subprocess=True, in_process=False,
    ),
}


def write_project(case: Case, folder: Path) -> None:
    folder.mkdir()
    (folder / "app.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n", encoding="utf-8")
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def command(case: Case) -> list[str]:
    return ["scan", ".", "--no-progress", "--no-cache", *case.args]


def run_command_line(case: Case, folder: Path) -> Outcome:
    write_project(case, folder)
    completed = subprocess.run(
        [sys.executable, "-m", "reviewer", *command(case)], capture_output=True, text=True, errors="replace",
        cwd=folder, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


@dataclass(frozen=True)
class Outcome:
    code: int | str | None
    stdout: str
    stderr: str


def assert_one_clear_error(name: str, outcome: Outcome) -> None:
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.code == 2, (outcome.code, outcome.stderr)
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr
    for words in CASES[name].says:
        assert words in lines[0], (words, lines[0])


def params(*, subprocess_only: bool) -> list[str]:
    return [name for name, case in CASES.items() if (case.subprocess if subprocess_only else case.in_process)]


@pytest.mark.parametrize("name", params(subprocess_only=False))
def test_entry_point(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    write_project(case, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setattr(sys, "argv", ["reviewer", *command(case)])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_clear_error(name, Outcome(exited.value.code, captured.out, captured.err))


@pytest.fixture(scope="module")
def command_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("malformed")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(run_command_line, case, root / name)
                   for name, case in CASES.items() if case.subprocess}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", params(subprocess_only=True))
def test_command_line(name: str, command_lines: dict[str, Outcome]) -> None:
    assert_one_clear_error(name, command_lines[name])


def test_the_project_scans_cleanly_without_the_breakage(tmp_path: Path) -> None:
    # The cases above differ from a working run only by what they break.
    outcome = run_command_line(Case({"pyproject.toml": REVIEWER_TABLE + 'select = ["ALL"]\n'}), tmp_path / "ok")
    assert outcome.code == 1, outcome.stderr
    assert "RV201" in outcome.stdout and outcome.stderr == ""


# -- random configuration tables -------------------------------------------------------------------------------------

CATALOG = load_catalog()
OPTION_KEYS = sorted({"severity"} | {key for spec in CATALOG.values() for name in spec.options
                                     for key in (name, f"extend-{name}")})
RULE_IDS = sorted(CATALOG)

scalars = st.one_of(
    st.text(max_size=12), st.sampled_from(["ALL", "RV2", "RV201", "async", "tests/**", "5 MB", "error", "x.y.z"]),
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True), st.booleans(),
    st.datetimes(), st.dates(), st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["calls", "use", "x", *OPTION_KEYS]), inner, max_size=3)),
    max_leaves=12,
)
rule_tables = st.dictionaries(
    st.one_of(st.sampled_from(RULE_IDS), st.sampled_from(RULE_IDS).map(str.lower), st.text(max_size=6)),
    st.one_of(st.dictionaries(st.one_of(st.sampled_from(OPTION_KEYS), st.text(max_size=6)), values, max_size=3),
              values),
    max_size=3,
)
tables = st.dictionaries(
    st.one_of(st.sampled_from(sorted(TOP_LEVEL_KEYS)), st.text(max_size=8)),
    values,
    max_size=4,
).flatmap(lambda table: st.one_of(st.just(table), rule_tables.map(lambda rules: {**table, "rules": rules})))


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("REVIEWER_FUZZ_EXAMPLES", 300)),
          derandomize="REVIEWER_FUZZ_EXAMPLES" not in os.environ, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(table=tables)
def test_random_tables_are_accepted_or_refused_with_a_config_error(table: dict[str, Any]) -> None:
    try:
        settings = settings_from_table(table, CATALOG, "pyproject.toml [tool.reviewer]")
        build_plan(settings, CATALOG)
        check_options(settings, CATALOG)
    except ConfigError as exc:
        assert str(exc)


def test_a_config_error_is_one_line_whatever_the_keys() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_table({"rules": {"\n": {}}}, CATALOG, "pyproject.toml [tool.reviewer]")
    assert "\n" not in str(raised.value)

