"""Which files to scan: ``.py`` files under the given paths, minus excludes and what ``.gitignore`` files ignore.

A path given explicitly on the command line is always scanned, whatever the excludes say. Directory symlinks are
followed once; a symlink that leads back into its own ancestry is reported as a loop.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

from reviewer.findings import Notice, NoticeKind


@dataclass(frozen=True)
class SourcePath:
    path: str  # absolute path as reached (symlinks not resolved)
    rel: str  # relative to the scan root, '/'-separated: what every report shows
    module: str  # dotted module name, from the enclosing packages (``__init__.py`` folders)
    is_package: bool


def relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class GitIgnores:
    """The ``.gitignore`` files that apply to a directory tree: those of the folder itself and its ancestors up to
    the repository's top. Deeper files win, as in git."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            spec = None
            try:
                lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                pass
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        directory = path.parent
        while True:
            spec = self._spec(directory)
            if spec is not None:
                relative = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
                result = spec.check_file(relative)
                if result.include is not None:
                    return result.include
            if (directory / ".git").exists() or directory.parent == directory:
                return False
            directory = directory.parent


class ModuleNames:
    """Dotted module names from package folders, caching which folders hold an ``__init__.py``."""

    def __init__(self) -> None:
        self._is_package: dict[Path, bool] = {}

    def _package(self, directory: Path) -> bool:
        if directory not in self._is_package:
            self._is_package[directory] = (directory / "__init__.py").is_file()
        return self._is_package[directory]

    def name(self, path: Path) -> tuple[str, bool]:
        is_package = path.name == "__init__.py"
        parts = [] if is_package else [path.stem]
        directory = path.parent
        while self._package(directory) and directory.parent != directory:
            parts.append(directory.name)
            directory = directory.parent
        return ".".join(reversed(parts)), is_package


def discover(
    paths: list[Path], root: Path, excludes: list[str], respect_gitignore: bool
) -> tuple[list[SourcePath], list[Notice]]:
    """The files to scan (sorted by relative path, each once) and notices for what could not be walked."""
    exclude_spec = pathspec.GitIgnoreSpec.from_lines(excludes)
    gitignores = GitIgnores() if respect_gitignore else None
    modules = ModuleNames()
    found: dict[str, SourcePath] = {}
    notices: list[Notice] = []

    def add(path: Path) -> None:
        rel = relative_name(path, root)
        if rel not in found:
            module, is_package = modules.name(path)
            found[rel] = SourcePath(str(path), rel, module, is_package)

    def skipped(path: Path, is_dir: bool) -> bool:
        rel = relative_name(path, root) + ("/" if is_dir else "")
        if exclude_spec.match_file(rel) or exclude_spec.match_file(path.name + ("/" if is_dir else "")):
            return True
        return gitignores is not None and gitignores.ignored(path, is_dir)

    def walk(directory: Path, ancestors: frozenset[str]) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            notices.append(Notice(relative_name(directory, root), NoticeKind.UNREADABLE,
                                  f"cannot list directory: {exc.strerror or exc}"))
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                if skipped(path, True) or (path / "pyvenv.cfg").exists():
                    continue
                real = os.path.realpath(path)
                if real in ancestors:
                    notices.append(Notice(relative_name(path, root), NoticeKind.SYMLINK_LOOP,
                                          "symlink loop: the directory links back to one of its parents"))
                    continue
                walk(path, ancestors | {real})
            elif entry.name.endswith(".py") and not skipped(path, False):
                if entry.is_symlink() and not os.path.exists(entry.path):
                    reason = "symlink loop" if _is_loop(entry.path) else "dangling symlink"
                    kind = NoticeKind.SYMLINK_LOOP if reason == "symlink loop" else NoticeKind.UNREADABLE
                    notices.append(Notice(relative_name(path, root), kind, reason))
                    continue
                add(path)

    for given in paths:
        if given.is_dir():
            walk(given, frozenset({os.path.realpath(given)}))
        else:
            # Explicit files are always scanned; reading reports what is wrong with them.
            add(given)
    return sorted(found.values(), key=lambda s: s.rel), sorted(notices)


def _is_loop(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False
