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


def _inside(folder: str) -> str:
    """What the path of everything inside ``folder`` starts with."""
    return folder if not folder or folder.endswith(os.sep) else folder + os.sep


def _relative(path: str, folder: str, prefix: str) -> str:
    """``relative_name`` for the normalized ``str`` paths of a walk (``prefix`` is ``_inside(folder)``): slicing off
    the prefix costs a fraction of the ``Path`` objects, and every folder and file of a tree asks."""
    if path.startswith(prefix) and len(path) > len(prefix):
        return _printable(_posix(path[len(prefix):]))
    # Not plainly below it (the folder itself, another drive, another letter case on Windows): pathlib decides.
    return relative_name(Path(path), Path(folder))


def _posix(name: str) -> str:
    return name if os.sep == "/" else name.replace(os.sep, "/")


def _printable(name: str) -> str:
    """A file name that is not valid UTF-8 reaches us with surrogate escapes, which no report can encode: show the
    undecodable bytes as ``\\xff`` instead (the file itself is still opened by its real name)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def _stem(name: str) -> str:
    """``PurePath.stem``: the name without its last suffix; a leading dot does not start one."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


class GitIgnores:
    """The ``.gitignore`` files that apply to a directory tree: those of the folder itself and its ancestors up to
    the repository's top. Deeper files win, as in git. Folders are normalized ``str`` paths."""

    def __init__(self) -> None:
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        # (folder, stop) -> the folders from there up to the top that have a .gitignore, deepest first, each as the
        # length of the prefix that makes a path inside it relative to it
        self._chains: dict[tuple[str, str | None], tuple[tuple[int, pathspec.GitIgnoreSpec], ...]] = {}
        self._no_git: set[str] = set()  # listed folders without a .git entry: not the top of a repository

    def listed(self, directory: str, names: set[str]) -> None:
        """What a listing of ``directory`` already tells: where there is no such entry, there is no ``.gitignore``
        to open and no ``.git`` to look for (a system call per folder of the tree otherwise)."""
        if ".gitignore" not in names:
            self._specs.setdefault(directory, None)
        if ".git" not in names:
            self._no_git.add(directory)

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            spec = None
            try:
                with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as file:
                    spec = pathspec.GitIgnoreSpec.from_lines(file.read().splitlines())
            except OSError:
                pass
            self._specs[directory] = spec
        return self._specs[directory]

    def _chain(self, directory: str, stop: str | None) -> tuple[tuple[int, pathspec.GitIgnoreSpec], ...]:
        # Iterative and cached per folder: every file of a tree thousands of folders deep asks.
        uncached: list[str] = []
        chain: tuple[tuple[int, pathspec.GitIgnoreSpec], ...] = ()
        folder = directory
        while True:
            if (folder, stop) in self._chains:
                chain = self._chains[folder, stop]
                break
            uncached.append(folder)
            parent = os.path.dirname(folder)
            top = folder not in self._no_git and os.path.exists(os.path.join(folder, ".git"))
            if folder == stop or top or parent == folder:
                break
            folder = parent
        for folder in reversed(uncached):
            spec = self._spec(folder)
            if spec is not None:
                chain = ((len(_inside(folder)), spec), *chain)
            self._chains[folder, stop] = chain
        return chain

    def ignored(self, path: str, is_dir: bool, stop: str | None = None) -> bool:
        """Whether git would ignore ``path``; with ``stop``, only ``.gitignore`` files in or below that folder
        count."""
        slash = "/" if is_dir else ""
        for start, spec in self._chain(os.path.dirname(path), stop):
            result = spec.check_file(_posix(path[start:]) + slash)
            if result.include is not None:
                return result.include
        return False


class ModuleNames:
    """Dotted module names from package folders (those with an ``__init__.py``), cached per folder."""

    def __init__(self) -> None:
        self._packages: dict[str, str] = {}  # folder -> dotted name of the packages ending there, '' outside one

    def listed(self, directory: str, names: set[str]) -> None:
        """A listed folder without an ``__init__.py`` entry is no package: no need to look for the file."""
        if "__init__.py" not in names:
            self._packages.setdefault(directory, "")

    def _package(self, directory: str) -> str:
        # Iterative: a tree thousands of folders deep must not exhaust the recursion limit.
        uncached: list[str] = []
        folder = directory
        while folder not in self._packages:
            parent = os.path.dirname(folder)
            if parent == folder or not os.path.isfile(os.path.join(folder, "__init__.py")):
                self._packages[folder] = ""
                break
            uncached.append(folder)
            folder = parent
        dotted = self._packages[folder]
        for folder in reversed(uncached):
            name = os.path.basename(folder)
            dotted = f"{dotted}.{name}" if dotted else name
            self._packages[folder] = dotted
        return dotted

    def name(self, path: str) -> tuple[str, bool]:
        directory, file_name = os.path.split(path)
        package = self._package(directory)
        if file_name == "__init__.py":
            return package, True
        stem = _stem(file_name)
        return (f"{package}.{stem}" if package else stem), False


GROUP_NAME = re.compile(r"\(\?P<\w+>")
ANY_FOLDERS = "^(?:.+/)?"  # how pathspec starts the expression of a pattern that matches at any depth


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
    regexes = [GROUP_NAME.sub("(?:", pattern.regex.pattern) for pattern in active]
    # Patterns that match at any depth share one leading "any folders" group: tried once per '/', not re-scanned for
    # each pattern (several times faster with the two dozen default excludes).
    anywhere = [regex.removeprefix(ANY_FOLDERS) for regex in regexes if regex.startswith(ANY_FOLDERS)]
    alternatives = [f"(?:{regex})" for regex in regexes if not regex.startswith(ANY_FOLDERS)]
    if anywhere:
        alternatives.append(f"{ANY_FOLDERS}(?:{'|'.join(f'(?:{regex})' for regex in anywhere)})")
    combined = re.compile("|".join(alternatives))
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
    root_name = os.fspath(root)
    root_prefix = _inside(root_name)

    def add(path: str) -> None:
        rel = _relative(path, root_name, root_prefix)
        if rel not in found:
            module, is_package = modules.name(path)
            found[rel] = SourcePath(path, rel, module, is_package)

    def skipped(path: str, name: str, is_dir: bool, top: str | None, top_prefix: str) -> bool:
        """Excluded or ignored. With ``top`` (a folder given explicitly although it is itself excluded or ignored),
        patterns are matched below it only, so what excludes the folder does not exclude everything in it."""
        slash = "/" if is_dir else ""
        rel = _relative(path, root_name if top is None else top, top_prefix) + slash
        if excluded(rel) or (rel != name + slash and excluded(name + slash)):
            return True
        return gitignores is not None and gitignores.ignored(path, is_dir, stop=top)

    def walk(start: str, top: str | None) -> None:
        top_prefix = root_prefix if top is None else _inside(top)
        # Iterative, so a tree thousands of folders deep cannot exhaust the recursion limit.
        start_real = os.path.realpath(start)
        pending: list[tuple[str, str, frozenset[str]]] = [(start, start_real, frozenset({start_real}))]
        while pending:
            directory, directory_real, ancestors = pending.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                if directory == start or not _virtualenv(directory):
                    notices.append(Notice(_relative(directory, root_name, root_prefix), NoticeKind.UNREADABLE,
                                          f"cannot list directory: {exc.strerror or exc}"))
                continue
            names = {entry.name for entry in entries}
            # Virtualenvs are skipped here rather than looked for in each folder before it is listed: the listing
            # answers without a system call. A folder given explicitly is scanned whatever it is.
            if directory != start and "pyvenv.cfg" in names and _virtualenv(directory):
                continue
            modules.listed(directory, names)
            if gitignores is not None:
                gitignores.listed(directory, names)
            subdirectories = []
            for entry in entries:
                name = entry.name
                path = entry.path
                try:
                    is_dir = entry.is_dir()  # follows symlinks
                except OSError:
                    is_dir = False
                if is_dir:
                    if skipped(path, name, True, top, top_prefix):
                        continue
                    link = entry.is_symlink()
                    # Only a link can change the real path (realpath costs a system call per path component).
                    real = os.path.realpath(path) if link else os.path.join(directory_real, name)
                    if real in ancestors:
                        if _virtualenv(path):  # only the folder given explicitly can be one
                            continue
                        notices.append(Notice(_relative(path, root_name, root_prefix), NoticeKind.SYMLINK_LOOP,
                                              "symlink loop: the directory links back to one of its parents"))
                        continue
                    if link:
                        # Links between sibling folders would otherwise be walked along every path through them:
                        # exponentially many.
                        if real in followed:
                            continue
                        followed.add(real)
                    subdirectories.append((path, real, ancestors | {real}))
                elif name.endswith(".py") and not skipped(path, name, False, top, top_prefix):
                    if entry.is_symlink() and not os.path.exists(path):
                        reason = "symlink loop" if _is_loop(path) else "dangling symlink"
                        kind = NoticeKind.SYMLINK_LOOP if reason == "symlink loop" else NoticeKind.UNREADABLE
                        notices.append(Notice(_relative(path, root_name, root_prefix), kind, reason))
                        continue
                    add(path)
            pending.extend(reversed(subdirectories))  # depth first, in name order

    for given in paths:
        # Paths are walked as str: a Path per entry is most of the cost of a warm scan of a large tree.
        given_name = os.fspath(given)
        if given.is_dir():
            # A folder given explicitly is scanned even when the excludes or a .gitignore name it (or a parent).
            given_skipped = skipped(given_name, given.name, True, None, root_prefix)
            walk(given_name, given_name if given_skipped else None)
        else:
            # Explicit files are always scanned; reading reports what is wrong with them.
            add(given_name)
    return sorted(found.values(), key=lambda s: s.rel), sorted(notices, key=lambda n: n.sort_key)


def _virtualenv(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, "pyvenv.cfg"))


def _is_loop(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False
