"""``reviewer scan --diff REF``: changed lines from git, and findings narrowed to them (real git, real CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from test_cli import one_error_line, reviewer

from reviewer.findings import Span
from reviewer.gitdiff import FileChanges, GitError, changed_lines, parse_diff


class GitRepo:
    """A throwaway repository with its own identity and no user or system git configuration."""

    def __init__(self, path: Path) -> None:
        self.path = path
        home = path.parent / f"{path.name}-home"
        home.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
            # A test folder inside some other repository must never find that one.
            "GIT_CEILING_DIRECTORIES": str(path.parent),
        }
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True, check=True)
        return done.stdout

    def write(self, rel: str, source: str) -> Path:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def commit(self, message: str = "change") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def reviewer(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return reviewer(*args, cwd=cwd or self.path, env=self.env)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    created = GitRepo(tmp_path / "repo")
    for name in ("HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES"):
        monkeypatch.setenv(name, created.env[name])
    return created


JOBS = textwrap.dedent("""\
    import time


    async def poll():
        time.sleep(1)


    async def retry(attempts):
        for attempt in range(attempts):
            time.sleep(2**attempt)
""")


def reported(result: subprocess.CompletedProcess) -> list[tuple[str, int]]:
    assert result.returncode in (0, 1), result.stderr
    return [(f["path"], f["range"]["start"]["line"]) for f in json.loads(result.stdout)["findings"]]


# -- parsing ----------------------------------------------------------------------------------------------------------

DIFF = r'''diff --git a/app/jobs.py b/app/jobs.py
index 1111111..2222222 100644
--- a/app/jobs.py
+++ b/app/jobs.py
@@ -3,0 +4,2 @@ import time
+added one
+added two
@@ -10 +12 @@ def f():
-old
+new
@@ -20,3 +23,0 @@ def g():
-gone
-gone
-gone
diff --git a/new.py b/new.py
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+x
+y
diff --git a/dead.py b/dead.py
deleted file mode 100644
--- a/dead.py
+++ /dev/null
@@ -1 +0,0 @@
-x
diff --git "a/we\tird \"name\".py" "b/we\tird \"name\".py"
--- "a/we\tird \"name\".py"
+++ "b/we\tird \"name\".py"
@@ -1 +1 @@
-a
+b
diff --git a/caf\303\251.py b/caf\303\251.py
--- "a/caf\303\251.py"
+++ "b/caf\303\251.py"
@@ -2 +2 @@
-a
+b
'''


def test_parse_diff_reads_added_lines_deletions_and_file_names() -> None:
    files = parse_diff(DIFF)
    jobs = files["app/jobs.py"]
    assert jobs.added == {4, 5, 12}
    assert jobs.deleted_after == [23]
    assert not jobs.whole
    assert files["new.py"].whole
    assert "dead.py" not in files
    assert files['we\tird "name".py'].added == {1}
    assert files["café.py"].added == {2}


def test_a_span_is_touched_by_a_changed_line_or_a_deletion_inside_it() -> None:
    changes = FileChanges(added={10}, deleted_after=[20])
    assert changes.touches(Span(10, 1, 10, 5))
    assert changes.touches(Span(8, 1, 12, 2))  # a multi-line call with one changed argument line
    assert not changes.touches(Span(11, 1, 11, 5))
    assert changes.touches(Span(19, 1, 21, 2))  # a line deleted from inside the call
    assert not changes.touches(Span(20, 1, 20, 9))  # the deletion is after the span, not in it
    assert not changes.touches(Span(21, 1, 22, 9))
    assert FileChanges(whole=True).touches(Span(99, 1, 99, 2))


# -- git --------------------------------------------------------------------------------------------------------------


def test_changed_lines_include_uncommitted_staged_and_untracked_changes(repo: GitRepo) -> None:
    repo.write("app/jobs.py", JOBS)
    repo.write("app/other.py", "x = 1\n")
    repo.commit()
    repo.write("app/jobs.py", JOBS.replace("time.sleep(1)", "time.sleep(3)"))  # line 5, not staged
    repo.write("app/other.py", "x = 1\ny = 2\n")
    repo.git("add", "app/other.py")  # staged
    repo.write("app/fresh.py", "z = 3\n")  # untracked
    repo.write(".gitignore", "ignored.py\n")
    repo.write("ignored.py", "w = 4\n")

    changes = changed_lines(repo.path / "app", "HEAD")
    assert changes.files["app/jobs.py"].added == {5}
    assert changes.files["app/other.py"].added == {2}
    assert changes.files["app/fresh.py"].whole
    assert "ignored.py" not in changes.files
    assert changes.touches(str(repo.path / "app" / "jobs.py"), Span(5, 5, 5, 18))
    assert not changes.touches(str(repo.path / "app" / "jobs.py"), Span(10, 13, 10, 35))
    assert not changes.touches(str(repo.path.parent / "elsewhere.py"), Span(1, 1, 1, 2))


def test_changes_are_counted_from_the_merge_base_not_the_tip_of_ref(repo: GitRepo) -> None:
    repo.write("a.py", "one = 1\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("b.py", "two = 2\n")
    repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", "one = 1\nmain_moved_on = True\n")
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")

    changes = changed_lines(repo.path, "main")
    assert set(changes.files) == {"b.py"}  # main's own later commit is not the pull request's change
    assert changes.merge_base == repo.git("rev-parse", "HEAD~1").strip()


def test_a_renamed_file_adds_only_its_edited_lines(repo: GitRepo) -> None:
    repo.write("old_name.py", JOBS)
    repo.commit()
    repo.git("mv", "old_name.py", "new_name.py")
    (repo.path / "new_name.py").write_text(JOBS + "\nextra = 1\n", encoding="utf-8")
    changes = changed_lines(repo.path, "HEAD")
    assert changes.files["new_name.py"].added == {11, 12}
    assert not changes.files["new_name.py"].whole


def test_git_errors_are_one_clear_message(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GitError, match="unknown git ref 'HEAD'"):
        changed_lines(repo.path, "HEAD")  # no commits yet
    repo.write("a.py", "x = 1\n")
    repo.commit()
    with pytest.raises(GitError, match=r"unknown git ref 'nope'"):
        changed_lines(repo.path, "nope")
    with pytest.raises(GitError, match="is not a git ref"):
        changed_lines(repo.path, "--output=/tmp/x")
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(GitError, match="needs a git repository"):
        changed_lines(outside, "HEAD")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(GitError, match="needs git, which is not installed"):
        changed_lines(repo.path, "HEAD")


# -- end to end -------------------------------------------------------------------------------------------------------


def test_scan_diff_reports_only_findings_on_changed_lines(repo: GitRepo) -> None:
    repo.write("app/jobs.py", JOBS)
    repo.commit("first")
    repo.write("app/jobs.py", JOBS + "\n\nasync def fresh():\n    time.sleep(5)\n")
    repo.commit("second")
    repo.write("app/more.py", "import time\n\n\nasync def untracked():\n    time.sleep(6)\n")

    result = repo.reviewer("scan", "-f", "json", "--select", "RV201", "--diff", "HEAD~1")
    assert result.returncode == 1
    assert reported(result) == [("app/jobs.py", 14), ("app/more.py", 5)]
    assert "2 findings on unchanged lines not shown" in result.stderr  # JSON on stdout stays parseable

    # Scanning a sub-folder: the diff's repository paths still line up with the findings.
    sub = repo.reviewer("scan", ".", "-f", "json", "--select", "RV201", "--diff", "HEAD~1", cwd=repo.path / "app")
    assert reported(sub) == [("jobs.py", 14), ("more.py", 5)]

    repo.commit("third")
    clean = repo.reviewer("scan", "--select", "RV201", "--diff", "HEAD")
    assert clean.returncode == 0, clean.stdout
    assert "No findings." in clean.stdout
    assert "Diff against HEAD (merge base " in clean.stdout and "4 findings on unchanged lines not shown" in clean.stdout


def test_scan_diff_against_a_branch_keeps_cross_file_facts(repo: GitRepo) -> None:
    """Only the pull request's lines are reported, but facts still come from the whole tree: the model defined
    in an unchanged file still makes the changed loop an N+1 query."""
    repo.write("shop/__init__.py", "")
    repo.write("shop/models.py", """\
        from django.db import models


        class Order(models.Model):
            total = models.IntegerField()
    """)
    repo.write("shop/views.py", """\
        from shop.models import Order


        def totals(ids):
            return [Order.objects.get(pk=i).total for i in ids]
    """)
    repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("shop/report.py", """\
        from shop.models import Order


        def report(ids):
            for i in ids:
                print(Order.objects.get(pk=i))
    """)
    repo.commit("feature")
    result = repo.reviewer("scan", "-f", "json", "--select", "RV101", "--diff", "main")
    assert reported(result) == [("shop/report.py", 6)]


def test_scan_diff_user_errors_are_one_line(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    assert "unknown git ref 'origin/nope'" in one_error_line(repo.reviewer("scan", "--diff", "origin/nope"))
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "a.py").write_text("x = 1\n", encoding="utf-8")
    assert "needs a git repository" in one_error_line(repo.reviewer("scan", "--diff", "HEAD", cwd=outside))
