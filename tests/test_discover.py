"""Which files a scan sees: .gitignore, excludes, explicit paths, symlinks, and module names."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from reviewer.checks.base import FileContext
from reviewer.config import DEFAULT_EXCLUDE, Settings
from reviewer.discover import discover
from reviewer.findings import NoticeKind


def _files(root: Path, *paths: str) -> None:
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x = 1\n")


def _rels(paths: list[Path], root: Path, excludes: list[str] | None = None, gitignore: bool = True) -> list[str]:
    sources, _ = discover(paths, root, list(DEFAULT_EXCLUDE) if excludes is None else excludes, gitignore)
    return [s.rel for s in sources]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the top of the repository: no .gitignore above it applies
    return tmp_path


# -- .gitignore ----------------------------------------------------------------------------------------------------

def test_gitignore_nested_and_negated(repo: Path) -> None:
    _files(repo, "app.py", "gen_models.py", "secret/keys.py", "pkg/a.py", "pkg/keep.py", "pkg/deep/b.py",
           "pkg/deep/keep.py", "other/keep.py")
    (repo / ".gitignore").write_text("gen_*.py\nsecret/\n")
    (repo / "pkg" / ".gitignore").write_text("# everything here but keep.py\n*.py\n!keep.py\n")
    assert _rels([repo], repo) == ["app.py", "other/keep.py", "pkg/deep/keep.py", "pkg/keep.py"]
    assert _rels([repo], repo, gitignore=False) == [
        "app.py", "gen_models.py", "other/keep.py", "pkg/a.py", "pkg/deep/b.py", "pkg/deep/keep.py",
        "pkg/keep.py", "secret/keys.py",
    ]


def test_deeper_gitignore_wins(repo: Path) -> None:
    _files(repo, "sub/tool.py", "tool.py")
    (repo / ".gitignore").write_text("tool.py\n")
    (repo / "sub" / ".gitignore").write_text("!tool.py\n")
    assert _rels([repo], repo) == ["sub/tool.py"]


def test_gitignore_anchored_pattern(repo: Path) -> None:
    _files(repo, "build_tools.py", "src/conf.py", "conf.py")
    (repo / ".gitignore").write_text("/conf.py\n")
    assert _rels([repo], repo) == ["build_tools.py", "src/conf.py"]


def test_gitignore_of_a_parent_folder_applies_when_scanning_a_subfolder(repo: Path) -> None:
    _files(repo, "src/a.py", "src/a_pb2.py")
    (repo / ".gitignore").write_text("*_pb2.py\n")
    assert _rels([repo / "src"], repo) == ["src/a.py"]


def test_gitignore_stops_at_a_nested_repository(repo: Path) -> None:
    """A submodule (its .git is a file) or a nested clone is another repository: the outer .gitignore stops there."""
    _files(repo, "gen.py", "sub/gen.py", "clone/gen.py", "clone/inner/gen.py")
    (repo / ".gitignore").write_text("gen.py\n")
    (repo / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n")
    (repo / "clone" / ".git").mkdir()
    assert _rels([repo], repo) == ["clone/gen.py", "clone/inner/gen.py", "sub/gen.py"]
    assert _rels([repo / "clone" / "inner"], repo) == ["clone/inner/gen.py"]


# -- excludes ------------------------------------------------------------------------------------------------------

def test_default_excludes(repo: Path) -> None:
    _files(repo, "app.py", ".venv/lib/x.py", "venv/x.py", "node_modules/pkg/x.py", "pkg/__pycache__/x.py",
           "build/lib/x.py", "dist/x.py", "lib/site-packages/x.py", "env/lib/x.py", ".tox/x.py", "a.egg-info/x.py")
    (repo / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv under any name
    assert _rels([repo], repo) == ["app.py"]


def test_virtualenv_given_explicitly_is_scanned(repo: Path) -> None:
    _files(repo, "tools/env/bin/activate_this.py", "tools/env/nested/lib/x.py", "tools/app.py")
    (repo / "tools" / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / "tools" / "env" / "nested" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / "tools" / "env" / "bin" / "up").symlink_to("..")  # back into the virtualenv: skipped like it, silently
    (repo / "tools" / "linked_env").symlink_to("env")
    assert _rels([repo / "tools"], repo) == ["tools/app.py"]
    sources, notices = discover([repo / "tools" / "env"], repo, list(DEFAULT_EXCLUDE), True)
    assert [s.rel for s in sources] == ["tools/env/bin/activate_this.py"]
    assert notices == []


def test_extend_exclude_adds_to_the_defaults(repo: Path) -> None:
    _files(repo, "app.py", "generated/x.py", "src/migrations/0001.py", "build/x.py")
    settings = Settings(extend_exclude=["generated/", "migrations/"])
    assert _rels([repo], repo, settings.all_excludes) == ["app.py"]


def test_exclude_replaces_the_defaults(repo: Path) -> None:
    _files(repo, "app.py", "build/x.py", "generated/x.py")
    assert _rels([repo], repo, Settings(exclude=["generated/"]).all_excludes) == ["app.py", "build/x.py"]


def test_explicit_file_is_scanned_even_when_excluded_or_ignored(repo: Path) -> None:
    _files(repo, "build/gen.py", "ignored.py")
    (repo / ".gitignore").write_text("ignored.py\n")
    assert _rels([repo / "build" / "gen.py", repo / "ignored.py"], repo) == ["build/gen.py", "ignored.py"]


def test_explicit_folder_is_scanned_even_when_excluded(repo: Path) -> None:
    _files(repo, "build/gen.py", "build/sub/more.py", "build/__pycache__/cached.py", "build/dist/x.py")
    # What excludes the folder itself does not exclude its contents; patterns still apply inside it.
    assert _rels([repo / "build"], repo) == ["build/gen.py", "build/sub/more.py"]
    assert _rels([repo / "build" / "sub"], repo) == ["build/sub/more.py"]


def test_explicit_folder_is_scanned_even_when_gitignored(repo: Path) -> None:
    _files(repo, "out/a.py", "out/skip.py")
    (repo / ".gitignore").write_text("out/\n")
    (repo / "out" / ".gitignore").write_text("skip.py\n")
    assert _rels([repo], repo) == []
    assert _rels([repo / "out"], repo) == ["out/a.py"]


def test_each_file_once_and_sorted(repo: Path) -> None:
    _files(repo, "b.py", "a/z.py", "a/b.py")
    assert _rels([repo, repo / "a", repo / "b.py"], repo) == ["a/b.py", "a/z.py", "b.py"]


def test_only_python_files(repo: Path) -> None:
    _files(repo, "a.py", "b.pyi", "c.txt", "d.py.bak", "e.pyc")
    assert _rels([repo], repo) == ["a.py"]


# -- symlinks and odd entries ---------------------------------------------------------------------------------------

def test_symlink_loops_and_dangling_links_are_notices(repo: Path) -> None:
    _files(repo, "ok.py", "sub/inner.py")
    (repo / "a.py").symlink_to("b.py")
    (repo / "b.py").symlink_to("a.py")
    (repo / "sub" / "loop").symlink_to("..")
    (repo / "dangling.py").symlink_to("missing.py")
    sources, notices = discover([repo], repo, [], True)
    assert [s.rel for s in sources] == ["ok.py", "sub/inner.py"]
    assert [(n.path, n.kind) for n in notices] == [
        ("a.py", NoticeKind.SYMLINK_LOOP),
        ("b.py", NoticeKind.SYMLINK_LOOP),
        ("dangling.py", NoticeKind.UNREADABLE),
        ("sub/loop", NoticeKind.SYMLINK_LOOP),
    ]
    assert notices[2].message == "dangling symlink"


def test_directory_symlink_is_followed(tmp_path: Path) -> None:
    _files(tmp_path, "outside/lib.py", "repo/app.py")
    (tmp_path / "repo" / "vendored").symlink_to(tmp_path / "outside")
    assert _rels([tmp_path / "repo"], tmp_path / "repo", []) == ["app.py", "vendored/lib.py"]


def test_mutually_linked_folders_are_walked_once_each(repo: Path) -> None:
    """Folders that all link to each other have factorially many paths through them; it must not walk them all."""
    names = [f"d{i}" for i in range(9)]
    for name in names:
        _files(repo, f"{name}/m.py")
    for name in names:
        for other in names:
            if other != name:
                (repo / name / f"to_{other}").symlink_to(f"../{other}")
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(discover([repo], repo, [], False)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "discovery is exponential in the number of linked folders"
    sources, _ = outcome[0]
    real = {f"{name}/m.py" for name in names}
    assert real <= {s.rel for s in sources}
    assert len(sources) <= 2 * len(names)  # each folder at most once more, through one link


def test_very_deep_folder_tree(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    try:
        # Deeper than Python's recursion limit (made one level at a time: pathlib and os.makedirs recurse).
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            for _ in range(1100):
                os.mkdir("d", dir_fd=fd)
                inner = os.open("d", os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = inner
            os.close(os.open("m.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        finally:
            os.close(fd)
        sources, notices = discover([tmp_path], tmp_path, [], True)
        assert [s.rel for s in sources] == ["/".join(["d"] * 1100 + ["m.py"])]
        assert notices == []
    finally:
        _remove_chain(tmp_path / "d")


def _remove_chain(top: Path) -> None:
    """Remove a d/d/d/... chain one level at a time (shutil.rmtree, and so pytest's cleanup, recurse)."""
    while top.is_dir():
        below = top / "d"
        if below.is_dir():
            below.rename(top.with_name("d-below"))
            top.rmdir()
            top.with_name("d-below").rename(top)
        else:
            for child in top.iterdir():
                child.unlink()
            top.rmdir()


def test_folder_named_like_a_module_is_walked(repo: Path) -> None:
    _files(repo, "x.py/inner.py")
    assert _rels([repo], repo) == ["x.py/inner.py"]


# -- module names --------------------------------------------------------------------------------------------------

def test_module_names_from_packages(repo: Path) -> None:
    _files(repo, "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py", "pkg/top.py", "script.py",
           "src/app/__init__.py", "src/app/views.py", "nopkg/mod.py")
    sources, _ = discover([repo], repo, [], False)
    names = {s.rel: (s.module, s.is_package) for s in sources}
    assert names == {
        "pkg/__init__.py": ("pkg", True),
        "pkg/sub/__init__.py": ("pkg.sub", True),
        "pkg/sub/mod.py": ("pkg.sub.mod", False),
        "pkg/top.py": ("pkg.top", False),
        "script.py": ("script", False),
        "src/app/__init__.py": ("app", True),  # src is not a package: the src layout
        "src/app/views.py": ("app.views", False),
        "nopkg/mod.py": ("mod", False),
    }


def test_folder_named_init_py_does_not_make_a_package(repo: Path) -> None:
    _files(repo, "pkg/__init__.py/inner.py", "pkg/mod.py", "real/__init__.py", "real/mod.py")
    sources, _ = discover([repo], repo, [], False)
    assert {s.rel: s.module for s in sources} == {
        "pkg/__init__.py/inner.py": "inner", "pkg/mod.py": "mod", "real/__init__.py": "real", "real/mod.py": "real.mod",
    }


def test_module_name_does_not_stop_at_the_scan_root(repo: Path) -> None:
    _files(repo, "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py")
    sources, _ = discover([repo / "pkg" / "sub"], repo / "pkg" / "sub", [], False)
    assert {s.rel: s.module for s in sources} == {"__init__.py": "pkg.sub", "mod.py": "pkg.sub.mod"}


@pytest.mark.parametrize(("module", "is_package", "dots", "name", "expected"), [
    ("pkg.sub.mod", False, 0, "os.path", "os.path"),
    ("pkg.sub.mod", False, 1, None, "pkg.sub"),
    ("pkg.sub.mod", False, 1, "sibling", "pkg.sub.sibling"),
    ("pkg.sub.mod", False, 2, None, "pkg"),
    ("pkg.sub.mod", False, 2, "other.x", "pkg.other.x"),
    ("pkg.sub.mod", False, 3, None, None),  # beyond the top-level package
    ("pkg.sub", True, 1, None, "pkg.sub"),  # in __init__.py, '.' is the package itself
    ("pkg.sub", True, 1, "mod", "pkg.sub.mod"),
    ("pkg.sub", True, 2, "other", "pkg.other"),
    ("pkg", True, 2, None, None),
])
def test_resolve_relative(module: str, is_package: bool, dots: int, name: str | None, expected: str | None) -> None:
    ctx = FileContext("x.py", module, is_package, "")
    assert ctx.resolve_relative(dots, name) == expected


def test_resolve_relative_beyond_the_top_level_package_with_a_name() -> None:
    assert FileContext("x.py", "pkg.mod", False, "").resolve_relative(2, "x") is None


def test_file_name_that_is_not_ascii(repo: Path) -> None:
    _files(repo, "données/café.py")
    sources, _ = discover([repo], repo, [], True)
    assert [(s.rel, s.module) for s in sources] == [("données/café.py", "café")]


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.py")  # latin-1 bytes: a surrogate escape in the str
    (tmp_path / name).write_text("x = 1\n")
    sources, _ = discover([tmp_path], tmp_path, [], False)
    assert [s.rel for s in sources] == ["caf\\xe9.py"]  # printable in every report format
    assert sources[0].rel.encode("utf-8")
    assert Path(sources[0].path).read_text() == "x = 1\n"  # still opened by its real name


@pytest.mark.parametrize("patterns", [
    ["migrations/", "*.pyc", "build", "/top_only.py", "docs/**/conf.py", "a?c.py", "[xy]z.py"],
    ["generated/", "!generated/keep.py", "*.tmp.py"],
    ["**/cache/", "app/**/gen_*.py", "docs/", "*.egg-info", "/src/vendor/"],  # at any depth and anchored, mixed
    [],
])
def test_exclude_matcher_agrees_with_gitignore_semantics(patterns: list[str]) -> None:
    import pathspec

    from reviewer.discover import exclude_matcher

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    matcher = exclude_matcher(patterns)
    paths = ["migrations/", "app/migrations/", "app/migrations/0001.py", "x.pyc", "build", "build/", "src/build/",
             "top_only.py", "sub/top_only.py", "docs/a/b/conf.py", "docs/conf.py", "abc.py", "axc.py", "xz.py",
             "zz.py", "generated/", "generated/keep.py", "generated/other.py", "a.tmp.py", "plain.py",
             "a/b/c/migrations/", "a/b/migrations/x.py", "x/y/build", "x/docs/a/conf.py", "a/b/xz.py", "a/b/abc.py",
             "cache/", "a/b/cache/", "a/b/cache/x.py", "app/gen_x.py", "app/a/b/gen_x.py", "lib/app/gen_x.py",
             "docs/x.py", "a/docs/", "x.egg-info/", "a/b/x.egg-info/y.py", "src/vendor/", "lib/src/vendor/"]
    assert [matcher(path) for path in paths] == [spec.match_file(path) for path in paths]
