"""Read, decode and parse one file. Every failure becomes a :class:`Notice`, never an exception."""

from __future__ import annotations

import errno
import io
import os
import stat
import tokenize
from dataclasses import dataclass

import libcst as cst

from reviewer.findings import Notice, NoticeKind


@dataclass
class SourceFile:
    text: str
    module: cst.Module


class SourceError(Exception):
    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.message)
        self.notice = notice


def read_bytes(path: str, rel: str, max_size: int) -> bytes:
    """The file's bytes, refusing anything that is not a regular file or is over ``max_size`` bytes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceError(Notice(rel, NoticeKind.SYMLINK_LOOP, "symlink loop")) from None
        raise SourceError(Notice(rel, NoticeKind.UNREADABLE, f"cannot read: {exc.strerror or exc}")) from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; a directory named x.py is not source.
        raise SourceError(Notice(rel, NoticeKind.NOT_A_FILE, "not a regular file"))
    if info.st_size > max_size:
        raise SourceError(
            Notice(rel, NoticeKind.TOO_LARGE, f"file is {info.st_size:,} bytes, over the limit of {max_size:,}")
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_size + 1)
    except OSError as exc:
        raise SourceError(Notice(rel, NoticeKind.UNREADABLE, f"cannot read: {exc.strerror or exc}")) from None
    if len(data) > max_size:
        raise SourceError(Notice(rel, NoticeKind.TOO_LARGE, f"file grew over the limit of {max_size:,} bytes"))
    return data


def decode(data: bytes, rel: str) -> str:
    """Decode as Python does: a UTF-8 BOM or a PEP 263 coding cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR, f"bad encoding declaration: {exc}")) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(Notice(rel, NoticeKind.DECODE_ERROR, f"cannot decode as {encoding}: {exc}")) from None
    return text.removeprefix("\ufeff")


def parse(text: str, rel: str) -> cst.Module:
    if "\x00" in text:
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, "source contains NUL bytes"))
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        message = f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {exc.message}"
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, message, line=exc.raw_line)) from None
    except RecursionError:
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, "too deeply nested to parse")) from None
    except Exception as exc:  # noqa: BLE001 - the parser's own failures on odd input must not stop the scan
        raise SourceError(Notice(rel, NoticeKind.SYNTAX_ERROR, f"cannot parse: {type(exc).__name__}: {exc}")) from None


def load(path: str, rel: str, max_size: int) -> str:
    return decode(read_bytes(path, rel, max_size), rel)
