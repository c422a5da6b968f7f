"""Which files to scan: ``.py`` files under the given paths, minus excludes and what ``.gitignore`` files ignore.

A path given explicitly on the command line is always scanned, whatever the excludes say (for a folder: what
excludes the folder itself does not exclude its contents). Directory symlinks are followed once; a symlink that
leads back into its own ancestry is reported as a loop.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
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
        name = path.relative_to(root).as_posix()
    except ValueError:
        name = path.as_posix()
    return _printable(name)


def _printable(name: str) -> str:
    """A file name that is not valid UTF-8 reaches us with surrogate escapes, which no report can encode: show the
    undecodable bytes as ``\\xff`` instead (the file itself is still opened by its real name)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


class GitIgnores:
    """The ``.gitignore`` files that apply to a directory tree: those of the folder itself and its ancestors up to
    the repository's top. Deeper files win, as in git."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}
        # (folder, stop) -> the folders from there up to the top that have a .gitignore, deepest first
        self._chains: dict[tuple[Path, Path | None], tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]] = {}

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

    def _chain(self, directory: Path, stop: Path | None) -> tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]:
        # Iterative and cached per folder: every file of a tree thousands of folders deep asks.
        uncached: list[Path] = []
        chain: tuple[tuple[Path, pathspec.GitIgnoreSpec], ...] = ()
        folder = directory
        while True:
            if (folder, stop) in self._chains:
                chain = self._chains[folder, stop]
                break
            uncached.append(folder)
            if folder == stop or (folder / ".git").exists() or folder.parent == folder:
                break
            folder = folder.parent
        for folder in reversed(uncached):
            spec = self._spec(folder)
            if spec is not None:
                chain = ((folder, spec), *chain)
            self._chains[folder, stop] = chain
        return chain

    def ignored(self, path: Path, is_dir: bool, stop: Path | None = None) -> bool:
        """Whether git would ignore ``path``; with ``stop``, only ``.gitignore`` files in or below that folder
        count."""
        for directory, spec in self._chain(path.parent, stop):
            relative = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
            result = spec.check_file(relative)
            if result.include is not None:
                return result.include
        return False


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


GROUP_NAME = re.compile(r"\(\?P<\w+>")


def exclude_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Whether a '/'-separated path matches the gitignore-style ``patterns``. Without negated patterns, one combined
    regular expression answers at once (every folder and file of a tree is matched, and pathspec tries patterns one
    by one); with them, their order matters and pathspec decides."""
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    active = [pattern for pattern in spec.patterns if pattern.include is not None]
    if any(not pattern.include for pattern in active):
        return spec.match_file
    if not active:
        return lambda _path: False
    # The patterns' named groups only tell pathspec how a match ended; they cannot repeat in one expression.
    combined = re.compile("|".join(f"(?:{GROUP_NAME.sub('(?:', pattern.regex.pattern)})" for pattern in active))
    return lambda path: combined.match(path) is not None


def discover(
    paths: list[Path], root: Path, excludes: list[str], respect_gitignore: bool
) -> tuple[list[SourcePath], list[Notice]]:
    """The files to scan (sorted by relative path, each once) and notices for what could not be walked."""
    excluded = exclude_matcher(excludes)
    gitignores = GitIgnores() if respect_gitignore else None
    modules = ModuleNames()
    found: dict[str, SourcePath] = {}
    notices: list[Notice] = []
    followed: set[str] = set()  # real paths of the directory symlinks already walked: each is followed once

    def add(path: Path) -> None:
        rel = relative_name(path, root)
        if rel not in found:
            module, is_package = modules.name(path)
            found[rel] = SourcePath(str(path), rel, module, is_package)

    def skipped(path: Path, is_dir: bool, top: Path | None) -> bool:
        """Excluded or ignored. With ``top`` (a folder given explicitly although it is itself excluded or ignored),
        patterns are matched below it only, so what excludes the folder does not exclude everything in it."""
        slash = "/" if is_dir else ""
        rel = relative_name(path, top if top is not None else root) + slash
        if excluded(rel) or excluded(path.name + slash):
            return True
        return gitignores is not None and gitignores.ignored(path, is_dir, stop=top)

    def walk(start: Path, top: Path | None) -> None:
        # Iterative, so a tree thousands of folders deep cannot exhaust the recursion limit.
        start_real = os.path.realpath(start)
        pending: list[tuple[Path, str, frozenset[str]]] = [(start, start_real, frozenset({start_real}))]
        while pending:
            directory, directory_real, ancestors = pending.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                notices.append(Notice(relative_name(directory, root), NoticeKind.UNREADABLE,
                                      f"cannot list directory: {exc.strerror or exc}"))
                continue
            subdirectories = []
            for entry in entries:
                path = Path(entry.path)
                try:
                    is_dir = entry.is_dir()  # follows symlinks
                except OSError:
                    is_dir = False
                if is_dir:
                    if skipped(path, True, top) or (path / "pyvenv.cfg").exists():
                        continue
                    link = entry.is_symlink()
                    # Only a link can change the real path (realpath costs a system call per path component).
                    real = os.path.realpath(path) if link else os.path.join(directory_real, entry.name)
                    if real in ancestors:
                        notices.append(Notice(relative_name(path, root), NoticeKind.SYMLINK_LOOP,
                                              "symlink loop: the directory links back to one of its parents"))
                        continue
                    if link:
                        # Links between sibling folders would otherwise be walked along every path through them:
                        # exponentially many.
                        if real in followed:
                            continue
                        followed.add(real)
                    subdirectories.append((path, real, ancestors | {real}))
                elif entry.name.endswith(".py") and not skipped(path, False, top):
                    if entry.is_symlink() and not os.path.exists(entry.path):
                        reason = "symlink loop" if _is_loop(entry.path) else "dangling symlink"
                        kind = NoticeKind.SYMLINK_LOOP if reason == "symlink loop" else NoticeKind.UNREADABLE
                        notices.append(Notice(relative_name(path, root), kind, reason))
                        continue
                    add(path)
            pending.extend(reversed(subdirectories))  # depth first, in name order

    for given in paths:
        if given.is_dir():
            # A folder given explicitly is scanned even when the excludes or a .gitignore name it (or a parent).
            walk(given, given if skipped(given, True, None) else None)
        else:
            # Explicit files are always scanned; reading reports what is wrong with them.
            add(given)
    return sorted(found.values(), key=lambda s: s.rel), sorted(notices, key=lambda n: n.sort_key)


def _is_loop(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False
