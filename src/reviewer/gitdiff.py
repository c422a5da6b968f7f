"""The lines added or changed since a git ref, for ``reviewer scan --diff REF``.

What changed is ``git diff`` of the working tree (staged and unstaged changes included) against the merge base of
REF and HEAD, which is what a pull request adds on top of its target branch; untracked files that git does not
ignore count as wholly added. Renames are followed, so a file moved without edits adds no lines. Paths are relative
to the repository's top folder, whatever folder is scanned.

Git runs as a subprocess with an argument list (never a shell), with the options that user configuration could
change (prefixes, colour, external diff drivers, path quoting) pinned, so the parsed output has one shape.
"""

from __future__ import annotations

import os
import re
import subprocess
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.config import ConfigError
from reviewer.findings import Span

# "@@ -start[,count] +start[,count] @@": only the new side matters; a missing count means 1.
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
GIT_TIMEOUT = 120


class GitError(ConfigError):
    """git is missing, the folder is not in a repository, or the ref does not name a commit: one error line."""


@dataclass
class FileChanges:
    """One file's changes on the new side: the lines added or modified, and the places where lines were only
    deleted (``n`` means between new lines ``n`` and ``n + 1``)."""

    added: set[int] = field(default_factory=set)
    deleted_after: list[int] = field(default_factory=list)
    whole: bool = False  # a new or untracked file: every line is added

    def touches(self, span: Span) -> bool:
        if self.whole or any(line in self.added for line in range(span.line, span.end_line + 1)):
            return True
        # A deletion inside a multi-line span changed it too (say, a `timeout=` argument line removed from a call).
        points = sorted(self.deleted_after)
        index = bisect_left(points, span.line)
        return index < len(points) and points[index] < span.end_line


@dataclass
class ChangedLines:
    """What changed since the merge base of a ref and HEAD, by repository-relative path."""

    top: Path  # the repository's top folder (symlinks resolved)
    ref: str
    merge_base: str
    files: dict[str, FileChanges]

    def touches(self, path: str, span: Span) -> bool:
        """Whether the span of the file at ``path`` (absolute) intersects a changed line."""
        real = os.path.realpath(path)
        try:
            rel = Path(real).relative_to(self.top).as_posix()
        except ValueError:  # outside the repository: nothing there is part of the diff
            return False
        changes = self.files.get(rel)
        return changes is not None and changes.touches(span)


def changed_lines(folder: Path, ref: str) -> ChangedLines:
    """The changes since the merge base of ``ref`` and HEAD in the repository holding ``folder``."""
    if not ref or ref.startswith("-"):  # git would read it as an option
        raise GitError(f"--diff: {ref!r} is not a git ref")
    top = Path(os.path.realpath(_git(folder, "rev-parse", "--show-toplevel", what="find the repository").strip()))
    commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=None)
    if commit is None:
        raise GitError(f"--diff: unknown git ref {ref!r} (not a branch, tag or commit in {top})")
    base = _git(top, "merge-base", commit.strip(), "HEAD", what=None)
    if base is None:
        raise GitError(f"--diff: {ref!r} and HEAD have no common ancestor (or the repository has no commits yet)")
    base = base.strip()
    diff = _git(top, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                "--find-renames", "--ignore-submodules", "--unified=0", "--src-prefix=a/", "--dst-prefix=b/",
                base, "--", what="diff against the merge base")
    files = parse_diff(diff)
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z", what="list untracked files")
    for name in untracked.split("\0"):
        if name:
            files[name] = FileChanges(whole=True)
    return ChangedLines(top, ref, base, files)


def parse_diff(text: str) -> dict[str, FileChanges]:
    """Changed lines per new path from ``git diff --unified=0`` output (deleted files have none)."""
    files: dict[str, FileChanges] = {}
    current: FileChanges | None = None
    new_file = False
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            current, new_file = None, False
        elif line.startswith("new file mode"):
            new_file = True
        elif line.startswith("+++ "):
            target = line[4:]
            if target == "/dev/null":
                current = None
                continue
            name = _unquote(target)
            name = name[2:] if name.startswith("b/") else name
            current = files.setdefault(name, FileChanges(whole=new_file))
        elif current is not None and line.startswith("@@"):
            match = HUNK.match(line)
            if match is None:
                continue
            start, count = int(match["start"]), int(match["count"] or "1")
            if count:
                current.added.update(range(start, start + count))
            else:
                current.deleted_after.append(start)
    return files


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of unusual file names (``"tab\\there.py"``; octal escapes are UTF-8 bytes)."""
    if not (len(name) >= 2 and name.startswith('"') and name.endswith('"')):
        return name
    body, out, index = name[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        escape = body[index + 1]
        if escape in "01234567" and re.fullmatch(r"[0-7]{3}", body[index + 1 : index + 4]):
            out.append(int(body[index + 1 : index + 4], 8))
            index += 4
        else:
            out.append(C_ESCAPES.get(escape, ord(escape)))
            index += 2
    return out.decode("utf-8", "surrogateescape")


def _git(cwd: Path, *args: str, what: str | None) -> str | None:
    """git's standard output; on failure, None when ``what`` is None (the caller explains), else a GitError."""
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT,
            env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        raise GitError("--diff needs git, which is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"--diff: git took over {GIT_TIMEOUT}s to {what or 'answer'}") from None
    except OSError as exc:
        raise GitError(f"--diff: cannot run git: {exc.strerror or exc}") from None
    if completed.returncode == 0:
        return completed.stdout.decode("utf-8", "surrogateescape")
    if what is None:
        return None
    message = " ".join(completed.stderr.decode("utf-8", "replace").split())
    if "not a git repository" in message:
        raise GitError(f"--diff needs a git repository, and {cwd} is not in one")
    raise GitError(f"--diff: git could not {what}: {message or f'exit code {completed.returncode}'}")
