"""The engine on hostile and broken input: every problem becomes a notice with a clear reason, the scan goes on,
and the other files' findings are unaffected. Also: contained check failures, trigger-based skipping, and output
that does not depend on the number of worker processes."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import libcst as cst
import pytest
from conftest import Explodes, FlagCalls, FlagTarget, build_plan, make_spec

import reviewer.analysis
import reviewer.cache
import reviewer.checks.base
from reviewer.analysis import analyze_file, analyze_text
from reviewer.discover import SourcePath, discover
from reviewer.engine import scan
from reviewer.findings import FileResult, NoticeKind, ScanResult, Span

GOOD = "import os\n\ntarget = os.getcwd()\n"


def _scan_tree(root: Path, plan, jobs: int = 1) -> ScanResult:
    sources, walk_notices = discover([root], root, [], respect_gitignore=False)
    return scan(sources, plan, str(root), jobs, walk_notices)


def _notices_by_path(result: ScanResult) -> dict[str, list]:
    by_path: dict[str, list] = {}
    for notice in result.notices:
        by_path.setdefault(notice.path, []).append(notice)
    return by_path


def _write_hostile_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "good.py").write_text(GOOD)
    (root / "py2.py").write_text('print "x"\ntarget = 1\n')
    (root / "nul.py").write_bytes(b"target = 1\x00\n")
    (root / "bad_utf8.py").write_bytes(b"target = '\xff\xfe'\n")
    (root / "binary.py").write_bytes(bytes(range(256)) * 4)
    (root / "latin1.py").write_bytes("# -*- coding: latin-1 -*-\ntarget = 'café'\n".encode("latin-1"))
    (root / "utf16.py").write_bytes("target = 1\n".encode("utf-16"))
    (root / "utf8_bom.py").write_bytes(b"\xef\xbb\xbftarget = 1\n")
    (root / "cr_only.py").write_bytes(b"x = 1\rtarget = 2\r")
    (root / "crlf.py").write_bytes(b"x = 1\r\ntarget = 2\r\n")
    (root / "empty.py").write_bytes(b"")
    (root / "tabs.py").write_bytes(b"if True:\n        x = 1\n\ttarget = 2\n")  # inconsistent tabs and spaces
    (root / "deep.py").write_text("target = " + "(" * 1000 + "1" + ")" * 1000 + "\n")
    (root / "huge.py").write_text("target = 1\n" + "# padding\n" * 2000)  # over the plan's limit below
    (root / "a.py").symlink_to("b.py")
    (root / "b.py").symlink_to("a.py")
    (root / "sub").mkdir()
    (root / "sub" / "ok.py").write_text("target = 3\n")
    (root / "sub" / "loop").symlink_to("..")
    (root / "dangling.py").symlink_to("nowhere.py")
    (root / "x.py").mkdir()  # a directory with a .py name is walked, not read
    (root / "x.py" / "inside.py").write_text("target = 4\n")
    os.mkfifo(root / "fifo.py")


@pytest.fixture
def hostile(tmp_path: Path, stand_ins) -> tuple[ScanResult, dict[str, list]]:
    root = tmp_path / "tree"
    _write_hostile_tree(root)
    plan = stand_ins((FlagTarget,), max_file_size=4096)
    outcome: list[ScanResult] = []
    worker = threading.Thread(target=lambda: outcome.append(_scan_tree(root, plan)), daemon=True)
    started = time.perf_counter()
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the scan hung (a FIFO read, a symlink loop, or deep nesting?)"
    assert time.perf_counter() - started < 15
    result = outcome[0]
    return result, _notices_by_path(result)


def _one(notices: dict[str, list], path: str, kind: NoticeKind):
    assert path in notices, f"no notice for {path}; notices: {notices}"
    assert [n.kind for n in notices[path]] == [kind], notices[path]
    return notices[path][0]


def test_good_files_keep_their_findings(hostile) -> None:
    result, notices = hostile
    flagged = {f.path: f.span for f in result.findings}
    assert flagged == {
        "good.py": Span(3, 1, 3, 7),
        "latin1.py": Span(2, 1, 2, 7),
        "utf8_bom.py": Span(1, 1, 1, 7),  # the BOM is not a column
        "cr_only.py": Span(2, 1, 2, 7),
        "crlf.py": Span(2, 1, 2, 7),
        "sub/ok.py": Span(1, 1, 1, 7),
        "x.py/inside.py": Span(1, 1, 1, 7),
    }
    for clean in ("good.py", "latin1.py", "utf8_bom.py", "cr_only.py", "crlf.py", "empty.py", "sub/ok.py"):
        assert clean not in notices


def test_decoded_snippets(hostile) -> None:
    result, _ = hostile
    snippets = {f.path: f.snippet for f in result.findings}
    assert snippets["latin1.py"] == ("target = 'café'",)
    assert snippets["cr_only.py"] == ("target = 2",)
    assert snippets["crlf.py"] == ("target = 2",)
    assert snippets["utf8_bom.py"] == ("target = 1",)


def test_files_scanned_counts_only_fully_scanned_files(hostile) -> None:
    result, _ = hostile
    # good, latin1, utf8_bom, cr_only, crlf, empty, sub/ok, x.py/inside
    assert result.files_scanned == 8


def test_python2_syntax(hostile) -> None:
    notice = _one(hostile[1], "py2.py", NoticeKind.SYNTAX_ERROR)
    assert notice.line == 1
    assert "syntax error" in notice.message


def test_nul_bytes(hostile) -> None:
    notice = _one(hostile[1], "nul.py", NoticeKind.SYNTAX_ERROR)
    assert "nul" in notice.message.lower()


def test_invalid_utf8(hostile) -> None:
    notice = _one(hostile[1], "bad_utf8.py", NoticeKind.DECODE_ERROR)
    assert "not valid UTF-8" in notice.message
    assert "0xff at line 1, column 11" in notice.message
    assert "encoding declaration" not in notice.message  # there is none: do not blame one


def test_binary_file(hostile) -> None:
    notice = _one(hostile[1], "binary.py", NoticeKind.DECODE_ERROR)
    assert "binary" in notice.message


def test_utf16_with_bom(hostile) -> None:
    notice = _one(hostile[1], "utf16.py", NoticeKind.DECODE_ERROR)
    assert "UTF-16" in notice.message


def test_too_large(hostile) -> None:
    notice = _one(hostile[1], "huge.py", NoticeKind.TOO_LARGE)
    assert "4,096" in notice.message


def test_mixed_tabs_and_spaces(hostile) -> None:
    notice = _one(hostile[1], "tabs.py", NoticeKind.SYNTAX_ERROR)
    assert notice.line == 3


def test_generated_files_of_real_limits(tmp_path: Path, stand_ins) -> None:
    """A 10 MB generated module is refused by the default size limit; a single 1 MB line is analyzed."""
    (tmp_path / "generated.py").write_text("DATA = [\n" + "    0,\n" * 1_500_000 + "]\n")
    (tmp_path / "one_line.py").write_text("target = '" + "x" * 1_100_000 + "'\n")
    assert (tmp_path / "generated.py").stat().st_size > 10_000_000
    assert (tmp_path / "one_line.py").stat().st_size > 1_000_000
    from reviewer.config import DEFAULT_MAX_FILE_SIZE

    result = _scan_tree(tmp_path, stand_ins((FlagTarget,), max_file_size=DEFAULT_MAX_FILE_SIZE))
    assert [(n.path, n.kind) for n in result.notices] == [("generated.py", NoticeKind.TOO_LARGE)]
    assert [(f.path, f.span.line) for f in result.findings] == [("one_line.py", 1)]


def test_deeply_nested_expression(hostile) -> None:
    notice = _one(hostile[1], "deep.py", NoticeKind.SYNTAX_ERROR)
    assert "too deeply nested" in notice.message


def test_symlink_loops(hostile) -> None:
    notices = hostile[1]
    for path in ("a.py", "b.py", "sub/loop"):
        assert "loop" in _one(notices, path, NoticeKind.SYMLINK_LOOP).message


def test_dangling_symlink(hostile) -> None:
    assert "dangling" in _one(hostile[1], "dangling.py", NoticeKind.UNREADABLE).message


def test_fifo_is_refused_without_blocking(hostile) -> None:
    assert "not a regular file" in _one(hostile[1], "fifo.py", NoticeKind.NOT_A_FILE).message


def test_directory_named_like_a_module(hostile, tmp_path: Path, stand_ins) -> None:
    assert "x.py" not in hostile[1]  # walked as a folder
    folder = tmp_path / "tree" / "x.py"
    result = analyze_file(SourcePath(str(folder), "x.py", "x", False), stand_ins())[0]
    assert [n.kind for n in result.notices] == [NoticeKind.NOT_A_FILE]


def test_every_notice_has_a_reason(hostile) -> None:
    result, _ = hostile
    for notice in result.notices:
        assert notice.message.strip(), notice
        assert "\n" not in notice.message, notice


def test_fifo_given_explicitly_does_not_block(tmp_path: Path, stand_ins) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    outcome: list[FileResult] = []
    plan = stand_ins()

    def run() -> None:
        sources, _ = discover([fifo], tmp_path, [], respect_gitignore=False)
        outcome.append(analyze_file(sources[0], plan)[0])

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert [n.kind for n in outcome[0].notices] == [NoticeKind.NOT_A_FILE]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path, stand_ins) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text("target = 1\n")
    locked.chmod(0)
    try:
        result = analyze_file(SourcePath(str(locked), "locked.py", "locked", False), stand_ins())[0]
    finally:
        locked.chmod(0o644)
    assert [n.kind for n in result.notices] == [NoticeKind.UNREADABLE]
    assert "ermission denied" in result.notices[0].message


def test_file_deleted_between_discovery_and_reading(tmp_path: Path, stand_ins) -> None:
    (tmp_path / "gone.py").write_text("target = 1\n")
    (tmp_path / "kept.py").write_text("target = 1\n")
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    (tmp_path / "gone.py").unlink()
    result = scan(sources, stand_ins(), str(tmp_path), 1)
    assert [(n.path, n.kind) for n in result.notices] == [("gone.py", NoticeKind.UNREADABLE)]
    assert "No such file" in result.notices[0].message
    assert [f.path for f in result.findings] == ["kept.py"]


# -- deep nesting ------------------------------------------------------------------------------------------------

DEEP = {
    "parentheses": "x = " + "(" * 1000 + "target" + ")" * 1000,
    "lists": "x = " + "[" * 1000 + "target" + "]" * 1000,
    "unary minus": "x = " + "-" * 1000 + "target",
    "additions": "x = " + " + ".join(["target"] * 1000),
    "boolean chain": "x = " + " and ".join(["target"] * 1000),
    "attributes": "x = target" + ".a" * 1000,
    "calls": "x = target" + "()" * 1000,
    "lambdas": "x = " + "lambda: " * 1000 + "target",
    "elif chain": "if a:\n    pass\n" + "elif a:\n    pass\n" * 1000 + "target = 1",
}


@pytest.mark.parametrize("shape", list(DEEP))
def test_deep_nesting_is_a_notice_not_a_crash_or_a_hang(shape: str, stand_ins) -> None:
    started = time.perf_counter()
    result = analyze_text(DEEP[shape] + "\n", "deep.py", "deep", False, stand_ins())
    assert time.perf_counter() - started < 3
    assert [n.kind for n in result.notices] == [NoticeKind.SYNTAX_ERROR]
    assert "too deeply nested" in result.notices[0].message
    assert result.findings == []


def test_nesting_that_real_code_uses_is_analyzed(stand_ins) -> None:
    text = "x = " + "(" * 50 + "target" + ")" * 50 + "\ny = " + " and ".join(["target"] * 100) + "\n"
    result = analyze_text(text, "ok.py", "ok", False, stand_ins())
    assert result.notices == []
    assert len(result.findings) == 101


def test_nesting_that_crashes_the_parser_process(tmp_path: Path) -> None:
    """libcst's native parser overflows the C stack (a segfault, not an exception) a few thousand levels down:
    the file must be refused before it gets there. Run in a child process so a regression cannot kill pytest."""
    (tmp_path / "crash.py").write_text("x = " + " and ".join(["a"] * 20000) + "\ny = " + "-" * 20000 + "a\n")
    (tmp_path / "newer.py").write_text("type X = int\nx = " + "-" * 20000 + "a\n")  # not 3.11 syntax: token scan
    script = textwrap.dedent(f"""
        from reviewer.source import parse, SourceError
        for name in ("crash.py", "newer.py"):
            try:
                parse(open({str(tmp_path)!r} + "/" + name).read(), name)
                print(name, "parsed")
            except SourceError as exc:
                print(name, exc.notice.message)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, f"the parser crashed: {child.returncode} {child.stderr[-500:]}"
    assert child.stdout.splitlines() == [
        "crash.py too deeply nested to parse (more than 300 levels)",
        "newer.py too deeply nested to parse (more than 300 levels)",
    ]


# -- contained failures and skipped parsing ------------------------------------------------------------------------

def test_check_that_raises_becomes_a_check_error_and_other_findings_stay(stand_ins) -> None:
    plan = stand_ins((FlagTarget, Explodes))
    result = analyze_text("target = 1\nboom = 2\nboom = 3\ntarget = 4\n", "m.py", "m", False, plan)
    # One notice: the failing check is off for the rest of the file.
    assert [(n.kind, n.rule_id) for n in result.notices] == [(NoticeKind.CHECK_ERROR, "RV903")]
    assert "RV903" in result.notices[0].message
    assert "kaboom" in result.notices[0].message
    assert [f.span.line for f in result.findings] == [1, 4]  # the other check saw the whole file
    assert not result.notices[0].skipped_file


def test_check_error_does_not_count_as_a_skipped_file(tmp_path: Path, stand_ins) -> None:
    (tmp_path / "m.py").write_text("boom = target\n")
    result = _scan_tree(tmp_path, stand_ins((FlagTarget, Explodes)))
    assert result.files_scanned == 1
    assert result.files_skipped == 0
    assert [f.rule_id for f in result.findings] == ["RV901"]


def test_files_without_triggers_are_not_parsed_but_syntax_errors_are_reported(stand_ins) -> None:
    plan = stand_ins((FlagCalls,))
    quiet = analyze_text("print(1)\n", "a.py", "a", False, plan)
    assert not quiet.parsed and quiet.findings == [] and quiet.notices == []
    broken = analyze_text("def f(:\n", "b.py", "b", False, plan)
    assert not broken.parsed
    assert [(n.kind, n.line) for n in broken.notices] == [(NoticeKind.SYNTAX_ERROR, 1)]
    triggered = analyze_text("import requests\nrequests.get(1)\n", "c.py", "c", False, plan)
    assert triggered.parsed
    assert [f.span.line for f in triggered.findings] == [2]


def test_per_file_ignores(stand_ins) -> None:
    plan = stand_ins((FlagTarget,), per_file_ignores=[("tests/**", ("RV901",))])
    assert analyze_text("target\n", "tests/t.py", "t", False, plan).findings == []
    assert len(analyze_text("target\n", "src/t.py", "t", False, plan).findings) == 1


# -- determinism across worker counts --------------------------------------------------------------------------------

def _write_many(root: Path, count: int = 40) -> None:
    for index in range(count):
        folder = root / f"pkg{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        if index % 10 == 3:
            text = "def broken(:\n"
        elif index % 10 == 7:
            text = f"value = {index}  # reviewer: ignore[RV999]\n"
        else:
            text = "".join(f"target_{n} = target\n" for n in range(index % 5 + 1))
        (folder / f"mod{index:02}.py").write_text(text)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="worker processes see the patched stand-in checks only when forked")
def test_output_is_identical_for_one_and_two_jobs(tmp_path: Path, stand_ins) -> None:
    _write_many(tmp_path)
    plan = stand_ins((FlagTarget, FlagCalls), with_unused_suppressions=True)
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    assert len(sources) == 40 >= 2 * 2  # enough files for the engine to use a process pool
    one = scan(sources, plan, str(tmp_path), 1)
    two = scan(sources, plan, str(tmp_path), 2)
    names = sum(index % 5 + 1 for index in range(40) if index % 10 not in (3, 7))
    assert len(one.findings) == names + 4  # and 4 suppressions naming an unknown rule
    assert {f.rule_id for f in one.findings} == {"RV901", "RV001"}
    assert len(one.notices) == 4
    assert two.findings == one.findings
    assert two.notices == one.notices
    assert (two.files_scanned, two.suppressed) == (one.files_scanned, one.suppressed)


def test_file_name_that_is_not_utf8_reaches_the_reports(tmp_path: Path, stand_ins) -> None:
    from reviewer.report.json_report import render_json
    from reviewer.report.sarif import render_sarif

    (tmp_path / os.fsdecode(b"caf\xe9.py")).write_text("target = 1\n")
    result = _scan_tree(tmp_path, stand_ins())
    assert [f.path for f in result.findings] == ["caf\\xe9.py"]
    assert result.findings[0].fingerprint
    assert "caf\\\\xe9.py" in render_json(result, tool_version="0")
    sarif = render_sarif(result, [make_spec("RV901", "flag-target")], tool_version="0")
    assert "caf%5Cxe9.py" in sarif


class DiesOnSight(FlagTarget):
    """Kills its process on the name ``die_here``, as a native crash in the parser would."""

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "die_here":
            os._exit(70)
        super().visit_Name(node)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="worker processes see the patched stand-in checks only when forked")
def test_a_dead_worker_costs_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": DiesOnSight})
    for index in range(12):
        (tmp_path / f"mod{index:02}.py").write_text("die_here = 1\n" if index == 5 else "target = 1\n")
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    result = scan(sources, build_plan((FlagTarget,)), str(tmp_path), 2)
    assert [(n.path, n.kind) for n in result.notices] == [("mod05.py", NoticeKind.INTERNAL_ERROR)]
    assert sorted(f.path for f in result.findings) == [f"mod{i:02}.py" for i in range(12) if i != 5]


class PointsBack(FlagTarget):
    """Reports ``target`` with the assignment of ``origin`` as a related location."""

    def visit_Module(self, node: cst.Module) -> None:
        self.origin: cst.CSTNode | None = None

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.targets[0].target, cst.Name) and node.targets[0].target.value == "origin":
            self.origin = node.value

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "target" and self.origin is not None:
            self.report(node, "found target", related=((self.origin, "set here"),))


def test_related_locations_get_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": PointsBack})
    result = analyze_text("origin = make()\n\nuse(target)\n", "a.py", "a", False, build_plan((FlagTarget,)))
    (finding,) = result.findings
    assert [(r.path, r.span, r.message) for r in finding.related] == [("a.py", Span(1, 10, 1, 16), "set here")]


class FlagsSecret(FlagTarget):
    """Reports every string literal as a secret to keep out of the outputs."""

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.report(node, "a secret", redact=(node.value[1:-1],))


def test_redacted_secrets_never_reach_the_snippet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": FlagsSecret})
    source = 'key = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"\nshort = (\n    "hunter22"\n)\n'
    result = analyze_text(source, "a.py", "a", False, build_plan((FlagTarget,)))
    snippets = ["\n".join(finding.snippet) for finding in result.findings]
    assert snippets == ['key = "ghp_…[redacted, 40 chars]"', '    "…[redacted, 8 chars]"']
    assert all(
        secret not in f.fingerprint + repr(f) for f in result.findings for secret in ("0123456789", "hunter22")
    )


class Slow(FlagTarget):
    """Takes far too long on the name ``slow`` (an analysis stuck on a pathological file)."""

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "slow":
            time.sleep(30)
        super().visit_Name(node)


def test_a_file_that_takes_too_long_is_a_notice_and_the_scan_goes_on(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": Slow})
    (tmp_path / "a.py").write_text("slow\n")
    (tmp_path / "b.py").write_text("target\n")
    plan = build_plan((FlagTarget,))
    plan.file_timeout = 0.5
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    result = scan(sources, plan, str(tmp_path), jobs=1)
    assert [(n.path, n.kind) for n in result.notices] == [("a.py", NoticeKind.TIMEOUT)]
    assert "longer than 0.5s" in result.notices[0].message
    assert [(f.path, f.span.line) for f in result.findings] == [("b.py", 1)]


# -- positions left out of candidate-only files ------------------------------------------------------------------------

DEFERRAL_PROJECTS = ("django_shop", "django_blog", "sqlalchemy_app", "pagination", "auth_endpoints")


def _all_rules_plan():
    from reviewer.catalog import load_catalog
    from reviewer.config import Settings
    from reviewer.config import build_plan as config_plan

    catalog = load_catalog()
    return config_plan(Settings(select=["ALL"], test_code=[]), catalog)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("name", DEFERRAL_PROJECTS)
def test_deferred_positions_give_the_same_findings(name: str, jobs: int, tmp_path: Path) -> None:
    """Files whose reports are all candidates are mapped without positions and analyzed again (by the same
    workers, with two jobs) only when the join confirms one: the findings are exactly those of analyzing every
    file with positions."""
    from reviewer.index import ProjectIndex

    root = Path(__file__).parent / "fixtures" / name
    plan = _all_rules_plan()
    plan.cache_dir = str(tmp_path / "cache")
    sources, _ = discover([root], root, [], respect_gitignore=False)
    placed = [analyze_file(source, plan)[0] for source in sources]
    index = ProjectIndex(placed)
    expected = sorted((f for r in placed for f in [*r.findings, *index.resolve(r.candidates)]),
                      key=lambda f: f.sort_key)
    for run in ("cold", "warm"):
        assert scan(sources, plan, str(root), jobs).findings == expected, run


def test_a_files_tree_is_freed_when_its_analysis_ends() -> None:
    """Reference counting frees a file's tree, the checks and their context as soon as the file is done: a reference
    cycle among them would keep every tree alive until a full garbage collection, and make the collector walk it."""
    plan = _all_rules_plan()
    sources, _ = discover([Path(__file__).parent / "fixtures" / "django_shop"], Path(__file__).parent / "fixtures",
                          [], respect_gitignore=False)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        results = [analyze_file(source, plan)[0] for source in sources]
        gc.collect()
        left = {type(thing).__name__ for thing in gc.garbage
                if isinstance(thing, (cst.CSTNode, reviewer.checks.base.FileContext, reviewer.checks.base.Check))}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert any(result.findings or result.candidates for result in results)
    assert not left


def test_the_collector_is_paused_only_while_a_file_is_analyzed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    plan = _all_rules_plan()
    during = []
    analyze = reviewer.analysis.analyze_file

    def watched(*args, **kwargs):
        during.append(gc.isenabled())
        return analyze(*args, **kwargs)

    monkeypatch.setattr(reviewer.analysis, "analyze_file", watched)
    assert gc.isenabled()
    reviewer.analysis.safe_analyze(sources[0], plan)
    assert during == [False] and gc.isenabled()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reviewer.analysis, "analyze_file", broken)
    result, digest = reviewer.analysis.safe_analyze(sources[0], plan)
    assert result.notices[0].kind is NoticeKind.INTERNAL_ERROR and digest is None
    assert gc.isenabled()


def test_candidates_that_hold_by_absence_are_placed_at_once(tmp_path: Path) -> None:
    """A login view's finding holds unless some setting enables rate limiting, as in most projects: the file is
    not left for the join to analyze again."""
    (tmp_path / "views.py").write_text(textwrap.dedent("""\
        from django.contrib.auth import authenticate, login

        def login_view(request):
            user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
            login(request, user)
    """))
    plan = _all_rules_plan()
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    result, _ = analyze_file(sources[0], plan, defer=True)
    assert [c.requires[0] for c in result.candidates] == ["settings-unset"]
    assert not result.unplaced


def test_a_confirmed_file_is_cached_with_its_positions(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text(textwrap.dedent("""\
        from django.db import models

        class Customer(models.Model):
            name = models.CharField(max_length=20)

        class Order(models.Model):
            customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    """))
    report = textwrap.dedent("""\
        from shop.models import Order

        def names():
            return [order.customer.name for order in Order.objects.all()]
    """)
    (tmp_path / "shop" / "report.py").write_text(report)
    (tmp_path / "shop" / "other.py").write_text(report.replace("shop.models", "elsewhere.models"))
    plan = _all_rules_plan()
    plan.cache_dir = str(tmp_path / "cache")
    sources, _ = discover([tmp_path], tmp_path, [".cache", "cache/"], respect_gitignore=False)
    deferred = {s.rel: analyze_file(s, plan, defer=True)[0] for s in sources}
    assert deferred["shop/report.py"].unplaced and deferred["shop/other.py"].unplaced

    first = scan(sources, plan, str(tmp_path), 1)
    assert [(f.path, f.span.line, f.rule_id) for f in first.findings] == [("shop/report.py", 4, "RV102")]
    cache = plan.cache(str(tmp_path))
    digest = reviewer.cache.digest_of(report.encode())
    cached = cache.get("shop/report.py", "shop.report", False, digest)
    assert cached is not None and not cached.unplaced and cached.candidates
    assert cache.get("shop/other.py", "shop.other", False, digest_of_file(tmp_path / "shop" / "other.py")).unplaced
    assert scan(sources, plan, str(tmp_path), 1).findings == first.findings


def digest_of_file(path: Path) -> str:
    return reviewer.cache.digest_of(path.read_bytes())
