"""Read, decode and parse one file. Every failure becomes a :class:`Notice`, never an exception."""

from __future__ import annotations

import ast
import codecs
import errno
import functools
import io
import keyword
import os
import re
import stat
import tokenize
import warnings
from typing import TYPE_CHECKING, NamedTuple

from reviewer.findings import Notice, NoticeKind

if TYPE_CHECKING:
    import libcst as cst

# Deeper than this, libcst's native parser gets quadratically slow and, a few thousand levels down, overflows the C
# stack and kills the process (no exception to catch). Real code stays far below: the deepest file among some 4,000
# in a typical environment is 86 levels deep; and the traversal that follows hits Python's recursion limit at a few
# hundred levels anyway.
MAX_NESTING = 300
# A PEP 263 coding declaration, as the tokenizer looks for it on the first two lines.
CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
NEWLINE = re.compile(r"\r\n|\r|\n")
UTF16_32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Tokens that can make libcst nest one level deeper without adding a bracket.
_CHAIN_TOKENS = frozenset({
    "+", "-", "*", "/", "//", "%", "@", "**", "<<", ">>", "&", "|", "^", "~", ".", "and", "or", "not", "if",
    "else", "lambda", "await",
})


class SourceError(Exception):
    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.message)
        self.notice = notice


def read_bytes(path: str, rel: str, max_size: int) -> bytes:
    """The file's bytes, refusing anything that is not a regular file or is over ``max_size`` bytes."""
    # Open first (without blocking, so a FIFO cannot hang us) and check what was opened, so a file swapped for a
    # FIFO or device between a check and the read is still refused.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceError(Notice(rel, NoticeKind.SYMLINK_LOOP, "symlink loop")) from None
        if os.path.isdir(path):
            raise SourceError(Notice(rel, NoticeKind.NOT_A_FILE, "not a regular file (a directory)")) from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise SourceError(Notice(rel, NoticeKind.UNREADABLE, "dangling symlink")) from None
        raise SourceError(Notice(rel, NoticeKind.UNREADABLE, f"cannot read: {exc.strerror or exc}")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device would block or never end; a directory named x.py is not source.
            raise SourceError(Notice(rel, NoticeKind.NOT_A_FILE, f"not a regular file ({_file_type(info.st_mode)})"))
        if info.st_size > max_size:
            raise SourceError(
                Notice(rel, NoticeKind.TOO_LARGE, f"file is {info.st_size:,} bytes, over the limit of {max_size:,}")
            )
        try:
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(max_size + 1)
        except OSError as exc:
            raise SourceError(Notice(rel, NoticeKind.UNREADABLE, f"cannot read: {exc.strerror or exc}")) from None
    finally:
        os.close(fd)
    if len(data) > max_size:
        raise SourceError(Notice(rel, NoticeKind.TOO_LARGE, f"file grew over the limit of {max_size:,} bytes"))
    return data


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def decode(data: bytes, rel: str) -> str:
    """Decode as Python does: a UTF-8 BOM or a PEP 263 coding cookie, else UTF-8."""
    if data.startswith(UTF16_32_BOMS):
        # Python itself refuses these: source is UTF-8, or an ASCII-compatible encoding a declaration names.
        width = "32" if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else "16"
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR,
                                 f"file is UTF-{width} (it starts with a UTF-{width} byte order mark), which Python "
                                 "cannot read source in; save it as UTF-8"))
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if not exc.msg.startswith("invalid or missing encoding declaration"):
            raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR, f"bad encoding declaration: {exc.msg}")) from None
        # One of the first two lines is not UTF-8. Python reads the declaration from the raw bytes, so a latin-1
        # comment next to ``# coding: latin-1`` is fine; without a declaration, the decoding below says where.
        encoding = _raw_coding_cookie(data) or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR,
                                 f"bad encoding declaration: unknown encoding: {encoding}")) from None
    if not _ascii_compatible(encoding):
        # Python refuses these too ("encoding problem"): the declaration itself could not have been read.
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR,
                                 f"bad encoding declaration: {encoding} is not ASCII-compatible"))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR, _decode_message(data, encoding, exc))) from None
    except LookupError as exc:  # a codec that is not a text encoding (rot13)
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR, f"bad encoding declaration: {exc}")) from None
    return text.removeprefix("\ufeff")


def _raw_coding_cookie(data: bytes) -> str | None:
    for line in data.removeprefix(codecs.BOM_UTF8).split(b"\n", 2)[:2]:
        match = CODING_COOKIE.match(line)
        if match:
            return match.group(1).decode("ascii")
    return None


def _ascii_compatible(encoding: str) -> bool:
    sample = b"# coding: x\n"
    try:
        return sample.decode(encoding) == sample.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _decode_message(data: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    name = "UTF-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    what = "binary data, not text" if b"\x00" in data[:8192] else f"not valid {name}"
    return f"{what}: cannot decode byte 0x{data[exc.start]:02x} at line {line}, column {column} ({exc.reason})"


class StatementLine(NamedTuple):
    """Where the stdlib parser puts a statement: its line, its first decorator's line (None without decorators),
    and for a def or class, where each statement of its body is (None for other statements). What places a
    statement's positions without generating the code around it (see reviewer.positions)."""

    line: int
    decorator_line: int | None
    body: list[StatementLine] | None


class Outline(NamedTuple):
    """What the stdlib parser's tree tells of a file's statements, kept instead of the tree (which would double
    the memory a file's analysis holds): where the module's statements are, and the first line, last line and
    name of every def and class, which libcst's positions of them match (a finding's scope)."""

    statements: list[StatementLine]
    defs: list[tuple[int, int, str]]


class Parsed(NamedTuple):
    module: cst.Module
    outline: Outline | None  # None when the stdlib parser rejects the file


def stdlib_parse(text: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, with its warnings silenced: invalid escape sequences and the like are not ours to report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename)


def parse(text: str, rel: str) -> Parsed:
    # Imported here: reading and hashing files for the cache must not pay for loading the parser.
    import libcst as cst

    if "\x00" in text:
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, "source contains NUL bytes"))
    outline, stdlib_error = _check_nesting(text, rel)
    # Every node the parser builds runs libcst's validation, which checks what only hand-built nodes can get wrong
    # (a tenth of the parse). The parser's own nodes are valid by construction, so validation is off while it
    # runs; libcst's source says as much where it validates.
    validate = cst.CSTNode.__post_init__
    cst.CSTNode.__post_init__ = _parsed_node  # type: ignore[method-assign]
    try:
        return Parsed(cst.parse_module(text), outline)
    except cst.ParserSyntaxError as exc:
        if stdlib_error is not None and isinstance(stdlib_error.lineno, int):
            # CPython says what is wrong, and where, far better than libcst ("Missing parentheses in call to
            # 'print'" on the right line, rather than a list of expected tokens where the parser gave up).
            line = stdlib_error.lineno
            column = f", column {stdlib_error.offset}" if isinstance(stdlib_error.offset, int) else ""
            message = f"syntax error at line {line}{column}: {stdlib_error.msg}"
        else:
            line = exc.raw_line
            message = f"syntax error at line {line}, column {exc.raw_column + 1}: {exc.message}"
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, message, line=line)) from None
    except RecursionError:
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, "too deeply nested to parse")) from None
    except Exception as exc:
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, f"cannot parse: {type(exc).__name__}: {exc}")) from None
    finally:
        cst.CSTNode.__post_init__ = validate  # type: ignore[method-assign]


def _parsed_node(node: cst.CSTNode) -> None:
    """``__post_init__`` for nodes the parser builds: nothing to check."""


def _too_deep(rel: str, line: int | None = None, reason: str = f"more than {MAX_NESTING} levels") -> SourceError:
    return SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, f"too deeply nested to parse ({reason})", line=line))


def _check_nesting(text: str, rel: str) -> tuple[Outline | None, SyntaxError | None]:
    """Refuse code nested too deeply for libcst, before libcst sees it (see ``MAX_NESTING``); returns the outline
    of the stdlib parser's tree, or its syntax error.

    The stdlib parser is a small fraction of libcst's cost and fails cleanly on deep input. When it rejects the file
    for another reason (libcst may know newer syntax than this interpreter), a token scan estimates the depth."""
    try:
        tree = stdlib_parse(text)
    except (RecursionError, MemoryError):
        raise _too_deep(rel) from None
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
            raise _too_deep(rel, exc.lineno if isinstance(exc.lineno, int) else None, exc.msg) from None
        _check_token_nesting(text, rel)
        return None, exc
    except ValueError:
        return None, None  # e.g. surrogates: libcst reports what is wrong
    line = _ast_depth(tree)
    if line is not None:
        raise _too_deep(rel, line)
    defs: list[tuple[int, int, str]] = []
    return Outline(_outline(tree.body, defs), defs), None


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _outline(statements: list[ast.stmt], defs: list[tuple[int, int, str]]) -> list[StatementLine]:
    """Where ``statements`` are, with the bodies of defs and classes; every def and class found among them and in
    the blocks of other compound statements is added to ``defs``. Only statements are visited, a tenth of the
    tree's nodes or less."""
    lines = []
    for statement in statements:
        body = None
        if isinstance(statement, _DEFS):
            defs.append((statement.lineno, statement.end_lineno or statement.lineno, statement.name))
            body = _outline(statement.body, defs)
        elif statement.end_lineno != statement.lineno:  # a def takes a line of its own
            for field in ("body", "orelse", "finalbody"):
                _outline(getattr(statement, field, []), defs)
            for clause in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
                _outline(clause.body, defs)
        decorators = getattr(statement, "decorator_list", None)
        lines.append(StatementLine(statement.lineno, decorators[0].lineno if decorators else None, body))
    return lines


def _ast_depth(tree: ast.AST) -> int | None:
    """The line of the first node deeper than ``MAX_NESTING``, or None. libcst nests ``a and b and c`` one level
    per operand where ``ast`` does not, so those count too.

    Each level of nesting takes at least a character of source (two ``ast`` levels at most, counting wrappers like
    ``keyword``), so a one-line node narrower than the depth left to it cannot hide a deep subtree and is skipped:
    that leaves most statements unvisited, keeping this a small fraction of the parse."""
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", None) or line  # operators and contexts have no position: use the parent's
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 2
        if depth > MAX_NESTING:
            return line
        if (
            line == getattr(node, "end_lineno", None)
            and depth + 2 * (node.end_col_offset - node.col_offset) <= MAX_NESTING  # type: ignore[attr-defined]
        ):
            continue
        depth += 1
        stack.extend((child, depth, line) for child in ast.iter_child_nodes(node))
    return None


def _check_token_nesting(text: str, rel: str) -> None:
    """A conservative estimate from tokens, for files the stdlib parser rejects: open brackets, plus operators,
    call or subscript trailers and adjacent strings within one comma-separated part, plus ``elif`` chains."""
    brackets: list[int] = [0]  # nesting tokens since the last separator, per open bracket
    chains: list[int] = [0]  # elif clauses of the current if statement, per indentation level
    total = 0  # len(brackets) - 1 + sum(brackets) + sum(chains), kept up to date
    previous: tokenize.TokenInfo | None = None
    try:
        for token in tokenize.generate_tokens(functools.partial(next, iter(_lines(text)), "")):
            kind, string = token.type, token.string
            if kind == tokenize.OP and string in ("(", "[", "{"):
                if previous is not None and (
                    previous.type in (tokenize.NUMBER, tokenize.STRING)
                    or (previous.type == tokenize.NAME and not keyword.iskeyword(previous.string))
                    or previous.string in (")", "]", "}")
                ):
                    brackets[-1] += 1  # a call or subscript of what precedes it
                    total += 1
                brackets.append(0)
                total += 1
            elif kind == tokenize.OP and string in (")", "]", "}"):
                if len(brackets) > 1:
                    total -= brackets.pop() + 1
            elif string in (",", ";") or kind == tokenize.NEWLINE:
                total -= brackets[-1]
                brackets[-1] = 0
            elif kind == tokenize.INDENT:
                chains.append(0)
            elif kind == tokenize.DEDENT:
                if len(chains) > 1:
                    total -= chains.pop()
            elif kind == tokenize.NAME and string == "elif":
                chains[-1] += 1
                total += 1
            elif kind == tokenize.NAME and string == "if" and previous is not None and previous.type in (
                tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT
            ):
                total -= chains[-1]
                chains[-1] = 0  # a new if statement
            elif kind in (tokenize.OP, tokenize.NAME) and string in _CHAIN_TOKENS:
                brackets[-1] += 1
                total += 1
            elif kind == tokenize.STRING and previous is not None and previous.type == tokenize.STRING:
                brackets[-1] += 1  # implicit concatenation nests in libcst
                total += 1
            if total > MAX_NESTING:
                raise _too_deep(rel, token.start[0])
            if kind not in (tokenize.COMMENT, tokenize.NL):
                previous = token
    except (tokenize.TokenError, SyntaxError):
        return  # libcst reports the syntax error


def _lines(text: str) -> list[str]:
    """The lines as Python and libcst count them (``\\r`` alone ends a line too), each ending in ``\\n``."""
    parts = NEWLINE.split(text)
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def load(path: str, rel: str, max_size: int) -> str:
    return decode(read_bytes(path, rel, max_size), rel)
