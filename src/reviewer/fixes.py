"""Fixes: what a check proposes, how it becomes text edits, and how edits are applied.

A check describes a fix in terms of the nodes it saw (a :class:`NodeFix` made of :func:`replace`,
:func:`insert_before`, :func:`append_argument`, :func:`remove_argument`, :func:`remove_element` and
:func:`add_import` operations). The engine resolves positions only for files with findings, and turns the node fix
into a :class:`Fix`: plain text edits (1-based lines and columns, the end column one past the last character, as in
SARIF) that travel with the finding to every reporter and to ``reviewer scan --fix``.

Applying works on the text, never by regenerating the file: everything outside the edited spans is kept byte for
byte. Of several fixes for one file, those whose edits overlap an earlier fix's are deferred (a later pass sees
fresh positions), identical edits are shared (two ``time.sleep`` fixes add one ``import asyncio``), and a result
that libcst cannot parse is never returned.
"""

from __future__ import annotations

import difflib
import io
import itertools
import os
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from reviewer.findings import Finding, Fix, TextEdit

NEWLINE = re.compile(r"\r\n|\r|\n")
# `--fix` passes at most (a pass applies the fixes that do not overlap; the next sees fresh positions).
MAX_PASSES = 10


# -- what checks build ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Replace:
    node: cst.CSTNode
    code: str

    def offsets(self, where: _Resolver) -> list[tuple[int, int, str]] | None:
        span = where.span(self.node)
        if span is None or any(comment not in self.code for comment in _comments(self.node)):
            return None  # a comment inside the replaced code would be lost
        return [(*span, self.code)]


@dataclass(frozen=True, eq=False)
class _InsertBefore:
    node: cst.CSTNode
    code: str

    def offsets(self, where: _Resolver) -> list[tuple[int, int, str]] | None:
        span = where.span(self.node)
        return None if span is None else [(span[0], span[0], self.code)]


@dataclass(frozen=True, eq=False)
class _AppendArgument:
    call: cst.Call
    code: str

    def offsets(self, where: _Resolver) -> list[tuple[int, int, str]] | None:
        if not self.call.args:
            span = where.span(self.call)
            if span is None or where.text[span[1] - 1 : span[1]] != ")":
                return None
            return [(span[1] - 1, span[1] - 1, self.code)]
        last = self.call.args[-1]
        span = where.span(last)
        if span is None:
            return None
        if isinstance(last.comma, cst.Comma):
            # After the trailing comma, keeping one; one argument per line stays so.
            comma = where.next_comma(span[1])
            if comma is None:
                return None
            line_start = where.line_start(span[0])
            indent = where.text[line_start : span[0]]
            if indent.isspace() and "\n" in where.text[comma : where.span(self.call)[1]].replace("\r", "\n"):
                return [(comma + 1, comma + 1, f"{where.newline}{indent}{self.code},")]
            return [(comma + 1, comma + 1, f" {self.code},")]
        return [(span[1], span[1], f", {self.code}")]


@dataclass(frozen=True, eq=False)
class _RemoveItem:
    """Remove one element of a comma-separated list (call arguments, dict entries) with its separator."""

    items: tuple[cst.CSTNode, ...]
    index: int

    def offsets(self, where: _Resolver) -> list[tuple[int, int, str]] | None:
        spans = [where.span(item) for item in self.items]
        if any(span is None for span in spans):
            return None
        start, end = spans[self.index]
        if len(spans) == 1:
            comma = where.next_comma(end)
            removed = (start, end if comma is None else comma + 1)
        elif self.index == len(spans) - 1:
            removed = (spans[self.index - 1][1], end)  # from the end of the previous item, its comma included
        else:
            removed = (start, spans[self.index + 1][0])
        # A comment in the separator would go with it: not a fix to make without asking.
        around = where.text[removed[0] : start] + where.text[end : removed[1]]
        return None if "#" in around else [(*removed, "")]


@dataclass(frozen=True, eq=False)
class _AddImport:
    """``import <module>`` before the module's first import (after ``from __future__`` imports and the docstring),
    where isort puts a standard-library module that sorts early; at the top of the code when there is none."""

    module: str

    def offsets(self, where: _Resolver) -> list[tuple[int, int, str]] | None:
        body = list(where.module.body)
        anchor: cst.CSTNode | None = None
        after: cst.CSTNode | None = None
        for index, statement in enumerate(body):
            if index == 0 and _is_docstring(statement):
                after = statement
                continue
            if _is_future_import(statement):
                after = statement
                continue
            anchor = statement
            break
        line = f"import {self.module}"
        if anchor is not None:
            decorators = getattr(anchor, "decorators", ())
            span = where.span(decorators[0] if decorators else anchor)
            if span is None:
                return None
            start = where.line_start(span[0])
            return [(start, start, line + where.newline)]
        if after is None:
            return [(0, 0, line + where.newline)] if not where.text else None
        span = where.span(after)
        if span is None:
            return None
        end = where.line_end(span[1])
        if end == len(where.text) and not where.text.endswith(("\n", "\r")):
            return [(end, end, where.newline + line)]
        return [(end, end, line + where.newline)]


def _comments(node: cst.CSTNode) -> list[str]:
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Comment):
            found.append(current.value)
        pending.extend(current.children)
    return found


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_future_import(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and all(isinstance(part, cst.ImportFrom) for part in statement.body)
        and all(
            isinstance(part.module, cst.Name) and part.module.value == "__future__" and not part.relative
            for part in statement.body
        )
    )


_Operation = _Replace | _InsertBefore | _AppendArgument | _RemoveItem | _AddImport


@dataclass(frozen=True, eq=False)
class NodeFix:
    """A fix as a check describes it: a description and operations on nodes of the file's tree."""

    description: str
    operations: tuple[_Operation, ...]


def replace(node: cst.CSTNode, code: str) -> _Operation:
    """Replace the node's own text (not its surrounding parentheses) with ``code``."""
    return _Replace(node, code)


def insert_before(node: cst.CSTNode, code: str) -> _Operation:
    return _InsertBefore(node, code)


def append_argument(call: cst.Call, code: str) -> _Operation:
    """Add ``code`` (``timeout=10``) as the call's last argument."""
    return _AppendArgument(call, code)


def remove_argument(call: cst.Call, arg: cst.Arg) -> _Operation:
    return _RemoveItem(tuple(call.args), _index(call.args, arg))


def remove_element(container: cst.Dict, element: cst.BaseDictElement) -> _Operation:
    return _RemoveItem(tuple(container.elements), _index(container.elements, element))


def add_import(module: str) -> _Operation:
    return _AddImport(module)


def _index(items: Sequence[cst.CSTNode], item: cst.CSTNode) -> int:
    return next(index for index, candidate in enumerate(items) if candidate is item)


def code_of(node: cst.CSTNode) -> str:
    """The node's source, exactly as written (libcst round-trips), parentheses included."""
    return cst.Module([]).code_for_node(node)


# -- from nodes to text edits -----------------------------------------------------------------------------------------


class _Resolver:
    """Offsets in the file's text for nodes, from libcst's positions (1-based lines, 0-based columns)."""

    def __init__(self, text: str, positions: Any, module: cst.Module) -> None:
        self.text = text
        self.positions = positions
        self.module = module
        self.line_starts = line_starts(text)
        match = NEWLINE.search(text)
        self.newline = match.group() if match else "\n"

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column

    def span(self, node: cst.CSTNode) -> tuple[int, int] | None:
        where = self.positions.get(node)
        if where is None:
            return None
        return self.offset(where.start.line, where.start.column), self.offset(where.end.line, where.end.column)

    def line_start(self, offset: int) -> int:
        return max(start for start in self.line_starts if start <= offset)

    def line_end(self, offset: int) -> int:
        """The offset of the next line's start (or the end of the text)."""
        following = [start for start in self.line_starts if start > offset]
        return following[0] if following else len(self.text)

    def next_comma(self, offset: int) -> int | None:
        """The offset of the comma that follows ``offset`` across whitespace, if any."""
        match = re.compile(r"[ \t\f\r\n\\]*,").match(self.text, offset)
        return match.end() - 1 if match else None


def line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in NEWLINE.finditer(text))]


def position(starts: list[int], offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of an offset."""
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low + 1, offset - starts[low] + 1


def resolve(fix: NodeFix, positions: Any, module: cst.Module, text: str) -> Fix | None:
    """The fix's text edits, or None when a node has no position or an operation cannot be made safely."""
    where = _Resolver(text, positions, module)
    spans: list[tuple[int, int, str]] = []
    for operation in fix.operations:
        found = operation.offsets(where)
        if found is None:
            return None
        spans += found
    spans = sorted(set(spans), key=lambda span: (span[0], span[1]))
    if _overlapping(spans):
        return None
    edits = []
    for start, end, code in spans:
        line, column = position(where.line_starts, start)
        end_line, end_column = position(where.line_starts, end)
        edits.append(TextEdit(line, column, end_line, end_column, code))
    return Fix(fix.description, tuple(edits))


def _overlapping(spans: list[tuple[int, int, str]]) -> bool:
    """Sorted spans of one fix: an insertion may touch a replaced span (it goes first), nothing may overlap."""
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


# -- applying ---------------------------------------------------------------------------------------------------------


def edit_offsets(text: str, fix: Fix) -> list[tuple[int, int, str]] | None:
    """The fix's edits as (start, end, text) offsets in ``text``; None when an edit does not fit the text (the file
    changed since it was scanned)."""
    starts = line_starts(text)
    found = []
    for edit in fix.edits:
        if edit.end_line > len(starts) or edit.line < 1:
            return None
        start = starts[edit.line - 1] + edit.column - 1
        end = starts[edit.end_line - 1] + edit.end_column - 1
        line_limit = starts[edit.end_line] if edit.end_line < len(starts) else len(text)
        if not 0 <= start <= end <= line_limit:
            return None
        found.append((start, end, edit.text))
    return found


def apply_edits(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Apply non-overlapping edits given as offsets in ``text``; for insertions and replacements that start at the
    same offset, the insertion goes first."""
    ordered = sorted(set(edits), key=lambda edit: (edit[0], edit[1]))
    parts, cursor = [], 0
    for start, end, code in ordered:
        parts += [text[cursor:start], code]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def _conflict(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    """Two edits of different fixes whose order or extent would be ambiguous: overlapping spans, an insertion
    touching the other's span, or two different insertions at one point. Identical edits are shared, not
    conflicting."""
    if a == b:
        return False
    (a_start, a_end, _), (b_start, b_end, _) = a, b
    if a_start == a_end or b_start == b_end:
        return a_start <= b_end and b_start <= a_end
    return a_start < b_end and b_start < a_end


@dataclass
class Outcome:
    """What applying a file's fixes did: the new text, and the indexes of the fixes applied, deferred (they
    overlap a fix applied first; a later pass applies them) and refused (with them the file would not parse, or
    they do not fit the file)."""

    text: str
    applied: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


def apply_fixes(text: str, fixes: Sequence[Fix]) -> Outcome:
    """Apply as many of ``fixes`` (in order) as can be applied together, only if the result parses."""
    outcome = Outcome(text)
    accepted: list[tuple[int, list[tuple[int, int, str]]]] = []
    for index, fix in enumerate(fixes):
        edits = edit_offsets(text, fix)
        if edits is None:
            outcome.refused.append(index)
        elif any(_conflict(edit, taken) for _, taken_edits in accepted for taken in taken_edits for edit in edits
                 if not any(edit in taken_edits for _, taken_edits in accepted)):  # a shared edit is already in
            outcome.deferred.append(index)
        else:
            accepted.append((index, edits))
    result = apply_edits(text, [edit for _, edits in accepted for edit in edits])
    if not _parses(result):
        # One of the fixes breaks the file (or two do together): keep those that parse, one at a time.
        kept: list[tuple[int, list[tuple[int, int, str]]]] = []
        for index, edits in accepted:
            trial = apply_edits(text, [edit for _, taken in kept for edit in taken] + edits)
            if _parses(trial):
                kept.append((index, edits))
                result = trial
            else:
                outcome.refused.append(index)
        accepted = kept
        if not kept:
            result = text
    outcome.text = result
    outcome.applied = [index for index, _ in accepted]
    outcome.refused.sort()
    return outcome


def _parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except Exception:  # libcst raises ParserSyntaxError, and on pathological input RecursionError and others
        return False
    return True


# -- files ----------------------------------------------------------------------------------------------------------


@dataclass
class FileFixes:
    """The fixes of one file: the text before and after, and which findings were fixed, deferred or refused."""

    path: str  # as in findings: relative to the scan root
    original: str
    fixed: str
    applied: list[Finding] = field(default_factory=list)
    deferred: list[Finding] = field(default_factory=list)
    refused: list[Finding] = field(default_factory=list)
    error: str | None = None  # why the file could not be read or written

    def diff(self) -> str:
        """A unified diff of the change, ``a/`` and ``b/`` prefixed as ``git apply`` and ``patch -p1`` expect."""
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.fixed.splitlines(keepends=True),
            f"a/{self.path}",
            f"b/{self.path}",
        )
        return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def fix_files(findings: Iterable[Finding], root: str, *, write: bool) -> list[FileFixes]:
    """Apply the fixes of ``findings`` file by file (paths relative to ``root``); write the files that change when
    ``write`` is true. A file is written only when its fixed text parses, in its own encoding (a UTF-8 byte order
    mark is kept)."""
    from reviewer.source import SourceError, decode, read_bytes

    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fix is not None:
            by_path.setdefault(finding.path, []).append(finding)
    results = []
    for rel, fixable in sorted(by_path.items()):
        path = os.path.join(root, *rel.split("/"))
        try:
            # The scan applied the size limit already: the file is read whole.
            data = read_bytes(path, rel, os.path.getsize(path))
            text = decode(data, rel)
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except (SourceError, OSError, SyntaxError) as exc:
            message = exc.notice.message if isinstance(exc, SourceError) else str(exc)
            results.append(FileFixes(rel, "", "", refused=fixable, error=f"cannot read: {message}"))
            continue
        outcome = apply_fixes(text, [finding.fix for finding in fixable])
        file_fixes = FileFixes(
            rel,
            text,
            outcome.text,
            applied=[fixable[i] for i in outcome.applied],
            deferred=[fixable[i] for i in outcome.deferred],
            refused=[fixable[i] for i in outcome.refused],
        )
        if write and outcome.text != text:
            try:
                encoded = outcome.text.encode(encoding)  # before opening: a failed encoding leaves the file alone
                with open(path, "wb") as handle:
                    handle.write(encoded)
            except (OSError, UnicodeEncodeError) as exc:
                file_fixes.error = f"cannot write: {getattr(exc, 'strerror', None) or exc}"
                file_fixes.refused += file_fixes.applied
                file_fixes.applied = []
        results.append(file_fixes)
    return results


def summarize(passes: Sequence[Sequence[FileFixes]], *, dry_run: bool) -> list[str]:
    """What ``--fix`` did (or, with ``dry_run``, would do) over one or more passes, for the terminal."""
    applied: dict[str, dict[str, int]] = {}
    for file_fixes in (f for one_pass in passes for f in one_pass):
        counts = applied.setdefault(file_fixes.path, {})
        for finding in file_fixes.applied:
            counts[finding.rule_id] = counts.get(finding.rule_id, 0) + 1
    total = sum(sum(counts.values()) for counts in applied.values())
    files = sum(1 for counts in applied.values() if counts)
    verb = "Would fix" if dry_run else "Fixed"
    lines = [f"{verb} {_plural(total, 'finding')} in {_plural(files, 'file')}" + (":" if total else ".")]
    for path, counts in applied.items():
        if counts:
            rules = ", ".join(f"{rule} ({n})" if n > 1 else rule for rule, n in sorted(counts.items()))
            lines.append(f"  {path}: {rules}")
    last = passes[-1] if passes else []
    deferred = [finding for file_fixes in last for finding in file_fixes.deferred]
    if deferred:
        when = "a later `--fix` run applies them" if dry_run else "run `--fix` again"
        lines.append(f"{_plural(len(deferred), 'fix', 'fixes')} overlapping another "
                     f"{'was' if len(deferred) == 1 else 'were'} left for a later pass ({when}):")
        lines += [f"  {_where(finding)}" for finding in deferred]
    refused: dict[tuple, str] = {}
    for file_fixes in (f for one_pass in passes for f in one_pass):
        reason = file_fixes.error or "the fixed file would not parse"
        for finding in file_fixes.refused:
            refused.setdefault((finding.path, finding.span, finding.rule_id), f"  {_where(finding)}: {reason}")
    if refused:
        lines.append(f"{_plural(len(refused), 'fix', 'fixes')} not applied:")
        lines += list(refused.values())
    return lines


def _where(finding: Finding) -> str:
    return f"{finding.path}:{finding.span.line}:{finding.span.column}: {finding.rule_id}"


def _plural(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
