"""Paths for GitHub: relative to the repository's top folder, whatever folder was scanned.

Code scanning matches alerts between analyses by file path, and pull-request annotations need the path of the file
in the checkout. The engine writes paths relative to the scan root (the configuration's folder or the scanned
folder), which moves when a workflow scans a sub-folder; these helpers rebase a scan's paths onto the repository
root (the nearest folder holding ``.git``), with symlinks resolved, so the same file has the same path in every
upload.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from reviewer.findings import Finding, ScanResult


def repository_root(scan_root: str) -> Path:
    """The nearest folder at or above ``scan_root`` (symlinks resolved) that holds ``.git`` (a folder, or a file
    in a worktree or submodule); ``scan_root`` itself outside a repository."""
    real = Path(os.path.realpath(scan_root))
    for folder in (real, *real.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return real


def rebase(result: ScanResult, repository: Path) -> ScanResult:
    """``result`` with every path relative to ``repository``.

    A file reached through a symlink gets the path of the file it links to when that is inside the repository
    (where GitHub knows it); a file outside the repository keeps the path it was reached by. A file reached by two
    paths is one file, so its findings are reported once.
    """
    real_root = os.path.realpath(result.root)
    cache: dict[str, str] = {}

    def moved(path: str) -> str:
        if path not in cache:
            reached = os.path.normpath(os.path.join(real_root, path))
            real = os.path.realpath(reached) if os.path.lexists(reached) else reached
            inside = _relative(real, repository)
            cache[path] = inside if inside is not None else (_relative(reached, repository) or reached)
        return cache[path]

    def move_finding(finding: Finding) -> Finding:
        related = tuple(dataclasses.replace(r, path=moved(r.path)) for r in finding.related)
        return dataclasses.replace(finding, path=moved(finding.path), related=related)

    return dataclasses.replace(
        result,
        root=str(repository),
        findings=_unique(move_finding(finding) for finding in result.findings),
        suppressed_findings=_unique(move_finding(finding) for finding in result.suppressed_findings),
        notices=sorted({dataclasses.replace(n, path=moved(n.path)) for n in result.notices}, key=lambda n: n.sort_key),
    )


def _relative(path: str, folder: Path) -> str | None:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return None


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    by_key = {(f.sort_key, f.related): f for f in findings}
    return sorted(by_key.values(), key=lambda f: f.sort_key)

