"""Baselines: ``reviewer baseline`` records findings, ``scan --baseline`` reports only new ones, even after the code
moves around; stale entries are listed; secrets never reach the file."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from conftest import rule_plan
from test_cli import FIXTURES, one_error_line, reviewer
from test_gitdiff import JOBS, GitRepo, repo  # noqa: F401  (repo is a fixture)

from reviewer.analysis import analyze_text
from reviewer.baseline import (
    Baseline,
    BaselineError,
    Entry,
    load_baseline,
    match,
    stale_entries,
    write_baseline,
)
from reviewer.findings import Finding

RV201 = rule_plan("RV201")


def findings(source: str, rel: str = "app/jobs.py") -> list[Finding]:
    result = analyze_text(textwrap.dedent(source), rel, rel[:-3].replace("/", "."), False, RV201)
    assert not result.notices, result.notices
    return result.findings


def recorded(tmp_path: Path, source: str, rel: str = "app/jobs.py") -> Baseline:
    file = tmp_path / ".reviewer-baseline.json"
    write_baseline(file, findings(source, rel), str(tmp_path), "test")
    return load_baseline(file)


def new_lines(baseline: Baseline, source: str, root: Path, rel: str = "app/jobs.py") -> list[int]:
    return [finding.span.line for finding in match(baseline, findings(source, rel), str(root)).new]


# -- matching ---------------------------------------------------------------------------------------------------------


def test_a_baseline_matches_its_own_findings(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    assert len(baseline.entries) == 2
    matched = match(baseline, findings(JOBS), str(tmp_path))
    assert (matched.new, len(matched.known), matched.unmatched) == ([], 2, [])


def test_matching_survives_lines_moving_reformatting_and_a_function_moving(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    moved = textwrap.dedent('''\
        """Jobs, with a docstring and the functions swapped."""
        import time


        async def retry(attempts):
            # a comment above
            for attempt in range(attempts):
                time.sleep( 2 ** attempt )


        async def poll():


            time.sleep(1)
    ''')
    assert new_lines(baseline, moved, tmp_path) == []


def test_line_numbers_alone_never_match(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    # Same lines, same rule, different code: both findings are new.
    changed = JOBS.replace("time.sleep(1)", "time.sleep(10)").replace("2**attempt", "attempt")
    assert new_lines(baseline, changed, tmp_path) == [5, 10]


def test_the_same_code_in_another_function_is_a_new_finding(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    assert new_lines(baseline, JOBS + "\n\nasync def other():\n    time.sleep(1)\n", tmp_path) == [14]


def test_identical_findings_are_counted(tmp_path: Path) -> None:
    twice = JOBS.replace("    time.sleep(1)\n", "    time.sleep(1)\n    time.sleep(1)\n")
    baseline = recorded(tmp_path, twice)
    assert [e.line for e in baseline.entries] == [5, 6, 11]  # two entries, same key
    assert new_lines(baseline, twice, tmp_path) == []
    thrice = JOBS.replace("    time.sleep(1)\n", "    time.sleep(1)\n    time.sleep(1)\n    time.sleep(1)\n")
    assert len(new_lines(baseline, thrice, tmp_path)) == 1  # N entries match at most N findings
    once = match(baseline, findings(JOBS), str(tmp_path))
    assert once.new == []
    assert [(e.line, e.scope) for e in once.unmatched] == [(6, "poll")]


def test_a_renamed_file_is_new_and_its_old_entries_are_stale(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tasks.py").write_text(JOBS, encoding="utf-8")  # app/jobs.py is gone
    matched = match(baseline, findings(JOBS, "app/tasks.py"), str(tmp_path))
    assert len(matched.new) == 2
    assert len(stale_entries(matched, baseline, lambda path, rule: False)) == 2  # the file no longer exists


def test_entries_for_files_not_scanned_are_not_stale(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "jobs.py").write_text(JOBS, encoding="utf-8")
    matched = match(baseline, [], str(tmp_path))
    assert stale_entries(matched, baseline, lambda path, rule: False) == []
    assert len(stale_entries(matched, baseline, lambda path, rule: (path, rule) == ("app/jobs.py", "RV201"))) == 2


def test_paths_are_relative_to_the_baseline_file_whatever_folder_is_scanned(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    assert {e.path for e in baseline.entries} == {"app/jobs.py"}
    # The same file, scanned from its own folder (paths relative to app/).
    matched = match(baseline, findings(JOBS, "jobs.py"), str(tmp_path / "app"))
    assert (matched.new, len(matched.known)) == ([], 2)


# -- the file ---------------------------------------------------------------------------------------------------------


def test_the_file_holds_hashes_and_metadata_only(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, JOBS)
    text = baseline.file.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["format"] == "reviewer-baseline" and document["version"] == 1
    assert document["tool"] == {"name": "reviewer", "version": "test"}
    assert [set(entry) for entry in document["entries"]] == [
        {"rule", "name", "path", "line", "scope", "fingerprint"}] * 2
    assert "sleep" not in text  # no source, no messages
    assert len(text.splitlines()) == 4 + 2 + 3  # one line per entry, for readable diffs
    assert load_baseline(baseline.file).entries == baseline.entries


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{nope", "is not valid JSON: Expecting property name"),
    ('{"version": "2.1.0", "runs": []}', "is not a reviewer baseline"),
    ("[1, 2]", "is not a reviewer baseline"),
    ('{"format": "reviewer-baseline", "version": 7, "entries": []}', "newer than this reviewer reads"),
    ('{"format": "reviewer-baseline", "version": "1", "entries": []}', "invalid format version"),
    ('{"format": "reviewer-baseline", "version": 1}', '"entries" must be a list'),
    ('{"format": "reviewer-baseline", "version": 1, "entries": [{"rule": "RV201"}]}', 'entry 1: "name" must be'),
    ('{"format": "reviewer-baseline", "version": 1, "entries": [{"rule": "RV201", "name": "n", "path": "a.py", '
     '"line": 1, "scope": "", "fingerprint": "secret"}]}', "32 lowercase hex digits"),
    (b"\xff\xfe", "cannot read baseline"),
])
def test_broken_or_foreign_files_are_one_clear_error(tmp_path: Path, content: str | bytes | None,
                                                     message: str) -> None:
    file = tmp_path / "baseline.json"
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content, encoding="utf-8")
    with pytest.raises(BaselineError, match=re.escape(message)):
        load_baseline(file)


# -- end to end -------------------------------------------------------------------------------------------------------


def test_baseline_then_scan_after_code_moves(repo: GitRepo) -> None:  # noqa: F811
    repo.write("app/jobs.py", JOBS)
    repo.write("app/clean.py", "x = 1  # reviewer: ignore[RV201]\n")
    created = repo.reviewer("baseline", "--select", "RV201")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "Recorded 2 findings in 1 file to .reviewer-baseline.json."
    repo.commit()

    # Code moves around: a docstring on top, the functions swapped; one finding fixed, one identical added.
    repo.write("app/jobs.py", '''\
        """Jobs."""
        import time


        async def retry(attempts):
            for attempt in range(attempts):
                time.sleep(2**attempt)
                time.sleep(2**attempt)


        async def poll():
            return None
    ''')
    result = repo.reviewer("scan", "--select", "RV201", "--baseline", ".reviewer-baseline.json")
    assert result.returncode == 1
    assert result.stdout.count("RV201 [warning]") == 1 and "app/jobs.py:8:9" in result.stdout
    assert "Baseline .reviewer-baseline.json: 1 known finding not shown." in result.stdout
    assert "1 baseline entry matches no finding any more (--report-stale lists them)." in result.stdout

    stale = repo.reviewer("scan", "app", "--select", "RV201", "--baseline", ".reviewer-baseline.json",
                          "--report-stale", "--report-unused-ignores", "-f", "json")
    assert stale.stdout, stale.stderr
    document = json.loads(stale.stdout)
    # The unused inline suppression is reported as RV001, which no baseline entry accounts for.
    assert [(f["rule"], f["path"], f["range"]["start"]["line"]) for f in document["findings"]] == [
        ("RV001", "clean.py", 1), ("RV201", "jobs.py", 8)]  # relative to the scanned folder
    assert "  app/jobs.py:5: RV201 blocking-call-in-async in poll" in stale.stderr.splitlines()

    # With the code fixed, the stale entry alone fails the run when asked to report it.
    repo.write("app/jobs.py", JOBS.replace("    time.sleep(1)\n", "    return None\n"))
    (repo.path / "app" / "clean.py").unlink()
    only_stale = repo.reviewer("scan", "--select", "RV201", "--baseline", "../.reviewer-baseline.json",
                               "--report-stale", cwd=repo.path / "app")
    assert only_stale.returncode == 1, only_stale.stdout
    assert "No findings." in only_stale.stdout and "app/jobs.py:5: RV201" in only_stale.stdout


def test_secrets_never_reach_the_baseline(tmp_path: Path) -> None:
    app = FIXTURES / "secrets_app"
    file = tmp_path / "baseline.json"
    created = reviewer("baseline", str(app), "--select", "RV301", "-o", str(file))
    assert created.returncode == 0, created.stderr
    document = json.loads(file.read_text(encoding="utf-8"))
    assert document["entries"], "the fixture has hardcoded secrets"
    text = file.read_text(encoding="utf-8")
    literals = {match for path in app.rglob("*.py")
                for match in re.findall(r"[\"']([^\"'\n]{8,})[\"']", path.read_text(encoding="utf-8"))}
    leaked = [literal for literal in literals if literal in text]
    assert leaked == []
    for entry in document["entries"]:
        assert set(entry) == {"rule", "name", "path", "line", "scope", "fingerprint"}
    again = reviewer("scan", str(app), "--select", "RV301", "--baseline", str(file))
    assert again.returncode == 0, again.stdout


def test_broken_baseline_is_one_error_line(tmp_path: Path) -> None:
    file = tmp_path / "foreign.json"
    file.write_text('{"runs": []}', encoding="utf-8")
    line = one_error_line(reviewer("scan", str(FIXTURES / "async_app"), "--baseline", str(file)))
    assert "is not a reviewer baseline" in line
    assert "--report-stale needs --baseline" in one_error_line(reviewer("scan", str(tmp_path), "--report-stale"))


def test_entry_keys_are_everything_but_the_line() -> None:
    entry = Entry("RV201", "blocking-call-in-async", "a.py", 3, "f", "0" * 32)
    assert entry.key == ("RV201", "a.py", "f", "0" * 32)
