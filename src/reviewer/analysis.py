"""The map step for one file: read, decode and parse it once, run every enabled check in one traversal of the tree,
and turn what the checks reported into findings, candidates and facts.

Only a scan with files to analyze loads this module, and with it libcst and the checks: a scan served from the
cache does without them.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import libcst as cst

from reviewer.cache import digest_of
from reviewer.checks import check_classes, fact_collectors
from reviewer.checks.base import FileContext, Report, ScopeTracker, walk
from reviewer.discover import SourcePath
from reviewer.findings import (
    Candidate,
    FileResult,
    Finding,
    Fix,
    Notice,
    NoticeKind,
    Related,
    Span,
    redact_secrets,
)
from reviewer.fingerprint import line_hashes
from reviewer.fixes import resolve as resolve_fix
from reviewer.index import CONFIRMED_BY_ABSENCE
from reviewer.plan import UNUSED_SUPPRESSION_RULE, ScanPlan
from reviewer.positions import Positions
from reviewer.source import Outline, SourceError, decode, parse, read_bytes, stdlib_parse
from reviewer.suppress import Suppression, find_suppressions, match_suppression

NEWLINE = re.compile(r"\r\n|\r|\n")
MAX_SNIPPET_LINES = 8


def analyze_file(source: SourcePath, plan: ScanPlan, *, defer: bool = False) -> tuple[FileResult, str | None]:
    """The file's map result, and the digest of the bytes analyzed (None when they could not be read): what its
    cache entry is checked against. The bytes read here, not earlier, so an edit during the scan cannot file a
    result under content it was not computed from."""
    try:
        data = read_bytes(source.path, source.rel, plan.max_file_size)
    except SourceError as exc:
        return FileResult(source.rel, notices=[exc.notice]), None
    try:
        text = decode(data, source.rel)
    except SourceError as exc:
        return FileResult(source.rel, notices=[exc.notice]), digest_of(data)
    return analyze_text(text, source.rel, source.module, source.is_package, plan, defer=defer), digest_of(data)


def analyze_text(
    text: str, rel: str, module_name: str, is_package: bool, plan: ScanPlan, *, defer: bool = False
) -> FileResult:
    """Run the plan's checks on one file's text. With ``defer``, a file whose reports are all candidates (and that
    has nothing else needing positions) records only what they require, in ``unplaced``."""
    result = FileResult(rel)
    rule_ids = plan.rules_for(rel)
    classes = check_classes()
    checks = [classes[rule_id] for rule_id in rule_ids if rule_id in classes]
    needed_facts = {kind for cls in checks for kind in cls.requires_facts}
    collectors = [cls for kind, cls in fact_collectors().items() if kind in needed_facts]
    active = [
        *(cls for cls in checks if cls.may_apply(text, rel, plan.options[cls.rule_id])),
        *(cls for cls in collectors if cls.may_apply(text, rel, {})),
    ]
    suppressions = find_suppressions(text)
    maker = _FindingMaker(text, rel, plan)
    ctx = FileContext(rel, module_name, is_package, text)
    if active:
        try:
            module, outline = parse(text, rel)
        except SourceError as exc:
            result.notices.append(exc.notice)
            return result
        result.parsed = True
        visitors = []
        for cls in active:
            try:
                visitors.append(cls(ctx, plan.specs[cls.rule_id], plan.options[cls.rule_id]) if cls in checks
                                else cls(ctx))
            except Exception as exc:
                ctx.failures.append((cls.owner, f"{type(exc).__name__}: {exc} (while starting)"))
        try:
            walk(module, visitors, ScopeTracker(ctx))
        except RecursionError:
            result.notices.append(Notice(rel, NoticeKind.SYNTAX_ERROR, "too deeply nested to analyze"))
            return result
        except Exception as exc:
            result.notices.append(
                Notice(rel, NoticeKind.INTERNAL_ERROR, f"analysis failed: {type(exc).__name__}: {exc}")
            )
            return result
        for owner, error in ctx.failures:
            result.notices.append(
                Notice(rel, NoticeKind.CHECK_ERROR, f"{owner} failed on this file: {error}",
                       rule_id=owner if owner in plan.specs else None)
            )
        result.facts = ctx.facts
        if defer and _placeable_later(ctx, suppressions):
            result.unplaced = [report.requires for report in ctx.reports if report.requires is not None]
        elif ctx.reports or ctx.located_facts:
            # Same nodes as the walk saw (no copy), so reports map to positions by identity.
            positions = Positions(module, outline)
            positions.require(_located_nodes(ctx))
            for kind, record, node in ctx.located_facts:
                span = _span(positions[node])
                ctx.add_fact(kind, (*record, (span.line, span.column, span.end_line, span.end_column)))
            maker.positions = positions
            maker.module = module
            maker.outline = outline
            _collect(ctx.reports, positions, maker, suppressions, result)
    else:
        # No check can fire here, so libcst is skipped; the far cheaper stdlib parser still reports broken files.
        syntax_error = _stdlib_syntax_error(text, rel)
        if syntax_error is not None:
            result.notices.append(syntax_error)
            return result
    if UNUSED_SUPPRESSION_RULE in rule_ids and suppressions:
        result.findings += _unused_suppressions(suppressions, set(rule_ids), maker)
    return result


def _located_nodes(ctx: FileContext) -> Iterator[cst.CSTNode]:
    """The nodes whose positions a file's results need (fixes aside, which are found when resolved, and the
    statements reports are in, of which only the first line is needed: see ``Positions.first_line``)."""
    for report in ctx.reports:
        yield report.node
        for node, _ in report.related:
            yield node
    for _, _, node in ctx.located_facts:
        yield node


def _placeable_later(ctx: FileContext, suppressions: dict[int, Suppression]) -> bool:
    """Whether the file's results can wait for the join to need positions: it reported only candidates that the
    join usually rejects, without fixes, and has no located facts and no suppression comments (matching one needs
    a line)."""
    return bool(ctx.reports) and not ctx.located_facts and not suppressions and all(
        report.requires is not None and report.requires[0] not in CONFIRMED_BY_ABSENCE and report.fix is None
        for report in ctx.reports)


def _stdlib_syntax_error(text: str, rel: str) -> Notice | None:
    """A notice when the stdlib parser rejects the file and libcst agrees (libcst may know newer syntax than the
    running Python; its notice then says what is wrong)."""
    try:
        stdlib_parse(text, filename=rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        try:
            parse(text, rel)
        except SourceError as exc:
            return exc.notice
    return None


class _FindingMaker:
    """Builds findings for one file: snippets and GitHub line hashes, each computed once per file and only for
    a file that has a finding."""

    def __init__(self, text: str, rel: str, plan: ScanPlan) -> None:
        self.text = text
        self.rel = rel
        self.plan = plan
        self.positions: Any = None  # set once the file is parsed and positions resolved
        self.module: Any = None  # the parsed tree, with the positions (fixes are resolved against it)
        self.outline: Outline | None = None  # the stdlib parser's outline of the file, with the positions

    @functools.cached_property
    def lines(self) -> list[str]:
        return NEWLINE.split(self.text)

    @functools.cached_property
    def _scopes(self) -> list[tuple[int, int, str]]:
        """(first line, last line, qualified name) of every function and class, outermost first."""
        if self.outline is not None:
            # The stdlib parser gives every def and class the first and last lines libcst gives it.
            found = self.outline.defs
        elif self.positions is not None:
            # Syntax the stdlib parser rejects: the whole module was generated (see reviewer.positions).
            found = [(where.start.line, where.end.line, node.name.value)
                     for node, where in self.positions.of_type(cst.FunctionDef, cst.ClassDef)]
        else:
            return []
        defs = sorted((start, -end, name) for start, end, name in found)
        scopes: list[tuple[int, int, str]] = []
        enclosing: list[tuple[int, int, str]] = []
        for start, negative_end, name in defs:
            while enclosing and enclosing[-1][1] < start:
                enclosing.pop()
            scope = (start, -negative_end, f"{enclosing[-1][2]}.{name}" if enclosing else name)
            enclosing.append(scope)
            scopes.append(scope)
        return scopes

    def scope_of(self, line: int) -> str:
        inner = [name for start, end, name in self._scopes if start <= line <= end]
        return inner[-1] if inner else ""

    @functools.cached_property
    def _hashes(self) -> dict[int, str]:
        return line_hashes(self.text)

    def make(
        self,
        rule_id: str,
        span: Span,
        message: str,
        related: tuple[Related, ...] = (),
        redact: tuple[str, ...] = (),
        fix: Fix | None = None,
    ) -> Finding:
        snippet = self.lines[span.line - 1 : span.end_line]
        if redact:  # on the whole span at once: a secret may cover several lines (a PEM block)
            snippet = redact_secrets("\n".join(snippet), redact).split("\n")
        snippet = snippet[:MAX_SNIPPET_LINES]
        return Finding(
            path=self.rel,
            span=span,
            rule_id=rule_id,
            rule_name=self.plan.specs[rule_id].name,
            severity=self.plan.severities[rule_id],
            message=message,
            snippet=tuple(snippet),
            line_hash=self._hashes.get(span.line, ""),
            related=related,
            fix=fix,
            # Positions exist only in files where a check reported something, so an unused suppression's scope
            # would come and go with unrelated findings: it has none.
            scope=self.scope_of(span.line) if rule_id != UNUSED_SUPPRESSION_RULE else "",
        )


def _span(where: Any) -> Span:
    """libcst's CodeRange (0-based columns) as a Span (1-based, end one past the last character)."""
    return Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)


def _collect(
    reports: list[Report],
    positions: Any,
    maker: _FindingMaker,
    suppressions: dict[int, Suppression],
    result: FileResult,
) -> None:
    seen: set[tuple[str, Span, str]] = set()
    for report in reports:
        where = positions.get(report.node)
        if where is None:  # a check reported a node it made itself: a bug in that check, not in the file
            result.notices.append(Notice(result.path, NoticeKind.CHECK_ERROR,
                                         f"{report.rule_id} reported a node that is not in the file",
                                         rule_id=report.rule_id))
            continue
        span = _span(where)
        if (report.rule_id, span, report.message) in seen:
            continue
        seen.add((report.rule_id, span, report.message))
        statement_line = positions.first_line(report.statement) if report.statement is not None else None
        related = tuple(
            Related(result.path, _span(positions[node]), note) for node, note in report.related if node in positions
        )
        suppression = match_suppression(suppressions, report.rule_id, span.line, statement_line)
        if suppression is not None:
            suppression.used.add(report.rule_id)
            result.suppressed += 1
            if maker.plan.keep_suppressed:
                silenced = maker.make(report.rule_id, span, report.message, related, report.redact)
                if report.requires is None:
                    result.suppressed_findings.append(silenced)
                else:
                    result.suppressed_candidates.append(Candidate(silenced, report.requires))
            continue
        fix = resolve_fix(report.fix, positions, maker.module, maker.text) if report.fix is not None else None
        finding = maker.make(report.rule_id, span, report.message, related, report.redact, fix)
        if report.requires is None:
            result.findings.append(finding)
        else:
            result.candidates.append(Candidate(finding, report.requires))


def _unused_suppressions(
    suppressions: dict[int, Suppression], ran: set[str], maker: _FindingMaker
) -> list[Finding]:
    findings = []
    for suppression in suppressions.values():
        line_text = maker.lines[suppression.line - 1]
        span = Span(suppression.line, suppression.column, suppression.line, len(line_text) + 1)
        if suppression.codes is None:
            if not suppression.used:
                findings.append(maker.make(UNUSED_SUPPRESSION_RULE, span, "Unused suppression: no finding on this line"))
            continue
        if UNUSED_SUPPRESSION_RULE in suppression.codes:
            continue  # kept on purpose: a suppression that names RV001 silences its own report
        unknown = sorted(code for code in suppression.codes if code not in maker.plan.all_rule_ids)
        unused = sorted(code for code in suppression.codes & ran if code not in suppression.used)
        if unknown:
            findings.append(maker.make(UNUSED_SUPPRESSION_RULE, span,
                                       f"Suppression names unknown rule id(s): {', '.join(unknown)}"))
        if unused:
            findings.append(maker.make(UNUSED_SUPPRESSION_RULE, span,
                                       f"Unused suppression: no {', '.join(unused)} finding on this line"))
    return findings



# -- in a worker process -----------------------------------------------------------------------------------------


_worker_plan: ScanPlan | None = None


# The parser refuses code nested deeper than a few hundred levels (source.MAX_NESTING); the traversal recurses a
# few frames per level, which the default limit of 1,000 does not always allow.
RECURSION_LIMIT = 10_000


def raise_recursion_limit() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def init_worker(plan: ScanPlan) -> None:
    global _worker_plan
    _worker_plan = plan
    raise_recursion_limit()
    check_classes()
    fact_collectors()
    # What the worker holds now (modules, classes, compiled patterns) lives as long as it does: the collector
    # need not walk it again on every full collection, and walking it would copy the pages shared with the parent.
    gc.freeze()


def analyze_in_worker(source: SourcePath, defer: bool) -> tuple[FileResult, str | None]:
    assert _worker_plan is not None
    return safe_analyze(source, _worker_plan, defer=defer)


class FileTimeout(BaseException):
    """A file's analysis ran out of time. A BaseException, so that the guards which turn a check's error into a
    notice and go on cannot swallow it."""


def _out_of_time(signum: int, frame: Any) -> None:
    raise FileTimeout


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` of wall time (where a timer signal is available: the main thread of a
    POSIX process, which is where files are analyzed)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def safe_analyze(source: SourcePath, plan: ScanPlan, *, defer: bool = False) -> tuple[FileResult, str | None]:
    """:func:`analyze_file`, with every failure a notice; those results have no digest, so they are not cached.

    The cyclic garbage collector is paused while a file is analyzed. A file's tree is most of what the analysis
    allocates, lives until it ends and is freed by reference counting then (no cycle holds it); collections during
    the analysis would only walk it again and again as it aged (2.4% of the instructions of a django-oscar scan,
    30% of the time of a 4 MB generated file). What little cyclic garbage a file leaves is collected between files."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with time_limit(plan.file_timeout):
            return analyze_file(source, plan, defer=defer)
    except FileTimeout:
        message = f"analysis took longer than {plan.file_timeout:g}s (the file-timeout setting); skipped"
        notice = Notice(source.rel, NoticeKind.TIMEOUT, message)
    except RecursionError:
        notice = Notice(source.rel, NoticeKind.SYNTAX_ERROR, "too deeply nested")
    except Exception as exc:
        notice = Notice(source.rel, NoticeKind.INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        if collecting:
            gc.enable()
    return FileResult(source.rel, notices=[notice]), None
