"""Reading, decoding and parsing one file: every failure is a notice with a reason, never an exception."""

from __future__ import annotations

import codecs
import os
import sys
import warnings
from pathlib import Path

import pytest

from reviewer.findings import NoticeKind
from reviewer.source import MAX_NESTING, SourceError, decode, load, parse, read_bytes


def _error(call, *args):
    with pytest.raises(SourceError) as caught:
        call(*args)
    return caught.value.notice


# -- reading -------------------------------------------------------------------------------------------------------

def test_reads_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(b"x = 1\n")
    assert read_bytes(str(tmp_path / "m.py"), "m.py", 100) == b"x = 1\n"


def test_size_limit_is_inclusive(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(b"x" * 100)
    assert len(read_bytes(str(tmp_path / "m.py"), "m.py", 100)) == 100
    notice = _error(read_bytes, str(tmp_path / "m.py"), "m.py", 99)
    assert notice.kind is NoticeKind.TOO_LARGE
    assert notice.message == "file is 100 bytes, over the limit of 99"


def test_missing_file(tmp_path: Path) -> None:
    notice = _error(read_bytes, str(tmp_path / "gone.py"), "gone.py", 100)
    assert (notice.kind, notice.path) == (NoticeKind.UNREADABLE, "gone.py")
    assert "No such file" in notice.message


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "x.py").mkdir()
    notice = _error(read_bytes, str(tmp_path / "x.py"), "x.py", 100)
    assert notice.kind is NoticeKind.NOT_A_FILE
    assert "directory" in notice.message


def test_fifo_is_not_opened_for_a_blocking_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.py")
    notice = _error(read_bytes, str(tmp_path / "f.py"), "f.py", 100)  # would block forever if it read
    assert notice.kind is NoticeKind.NOT_A_FILE
    assert "FIFO" in notice.message


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    assert _error(read_bytes, str(tmp_path / "a.py"), "a.py", 100).kind is NoticeKind.SYMLINK_LOOP


def test_load_reads_and_decodes(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes("# coding: latin-1\ns = 'é'\n".encode("latin-1"))
    assert load(str(tmp_path / "m.py"), "m.py", 1000) == "# coding: latin-1\ns = 'é'\n"


# -- decoding ------------------------------------------------------------------------------------------------------

def test_utf8_bom_is_dropped() -> None:
    assert decode(codecs.BOM_UTF8 + "s = 'é'\n".encode(), "m.py") == "s = 'é'\n"


def test_coding_cookie_on_the_second_line() -> None:
    data = "#!/usr/bin/env python\n# -*- coding: iso-8859-15 -*-\ns = '€'\n".encode("iso-8859-15")
    assert decode(data, "m.py").endswith("s = '€'\n")


def test_invalid_utf8_says_where() -> None:
    notice = _error(decode, b"a = 1\nb = 2\nc = '\xc3\x28'\n", "m.py")
    assert notice.kind is NoticeKind.DECODE_ERROR
    assert notice.message.startswith("not valid UTF-8: cannot decode byte 0xc3 at line 3, column 6")


def test_invalid_utf8_on_the_first_line_is_not_blamed_on_a_declaration() -> None:
    notice = _error(decode, b"a = '\xff'\n", "m.py")
    assert notice.message.startswith("not valid UTF-8: cannot decode byte 0xff at line 1, column 6")


def test_invalid_bytes_under_a_utf8_declaration() -> None:
    notice = _error(decode, b"# coding: utf-8\na = '\xff'\n", "m.py")
    assert notice.message.startswith("not valid UTF-8: cannot decode byte 0xff at line 2")


def test_binary_data() -> None:
    notice = _error(decode, b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\xff\xfe", "m.py")
    assert notice.kind is NoticeKind.DECODE_ERROR
    assert notice.message.startswith("binary data, not text")


def test_unknown_encoding_declaration() -> None:
    notice = _error(decode, b"# coding: klingon\nx = 1\n", "m.py")
    assert notice.kind is NoticeKind.DECODE_ERROR
    assert notice.message == "bad encoding declaration: unknown encoding: klingon"


def test_bom_contradicting_the_declaration() -> None:
    notice = _error(decode, codecs.BOM_UTF8 + b"# coding: latin-1\nx = 1\n", "m.py")
    assert notice.message.startswith("bad encoding declaration")


def test_declaration_of_an_encoding_python_cannot_read_source_in() -> None:
    notice = _error(decode, b"# coding: utf-16\nx = 1\n", "m.py")
    assert notice.message == "bad encoding declaration: utf-16 is not ASCII-compatible"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_a_bom(encoding: str) -> None:
    notice = _error(decode, "x = 1\n".encode(encoding), "m.py")  # Python's encoder writes the BOM
    assert notice.kind is NoticeKind.DECODE_ERROR
    assert notice.message.startswith(f"file is {encoding.upper()} (it starts with a {encoding.upper()} byte order")


# -- parsing -------------------------------------------------------------------------------------------------------

def test_parses_valid_code() -> None:
    assert parse("x = 1\r\ny = 2\r\n", "m.py").module.code == "x = 1\r\ny = 2\r\n"


def test_nul_bytes() -> None:
    notice = _error(parse, "x = 1\x00\n", "m.py")
    assert (notice.kind, notice.message) == (NoticeKind.SYNTAX_ERROR, "source contains NUL bytes")


def test_syntax_error_names_the_problem_and_the_line() -> None:
    notice = _error(parse, 'x = 1\nprint "x"\ny = 2\n', "m.py")
    assert notice.kind is NoticeKind.SYNTAX_ERROR
    assert notice.line == 2
    assert notice.message.startswith("syntax error at line 2")
    assert "Missing parentheses" in notice.message


def test_syntax_only_libcst_knows_is_still_parsed() -> None:
    """The stdlib parser of the running Python may not know newer syntax; libcst decides what is valid."""
    module, _ = parse("type Alias = list[int]\n", "m.py")
    assert module.code == "type Alias = list[int]\n"


def test_parsing_emits_no_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse("pattern = '\\d+'\n", "m.py")  # an invalid escape: a warning from the stdlib parser


def test_nesting_limit_boundary() -> None:
    shallow = "x = " + "-" * (MAX_NESTING - 10) + "a\n"
    assert parse(shallow, "m.py").module.code == shallow
    notice = _error(parse, "x = " + "-" * (MAX_NESTING + 10) + "a\n", "m.py")
    assert notice.kind is NoticeKind.SYNTAX_ERROR
    assert notice.message == f"too deeply nested to parse (more than {MAX_NESTING} levels)"
    assert notice.line == 1


def test_deep_nesting_in_the_last_of_many_statements_is_found() -> None:
    text = "x = 1\n" * 50 + "y = [\n" + "    -\n" * (MAX_NESTING + 5) + "    1,\n]\n"
    notice = _error(parse, text, "m.py")
    assert "too deeply nested" in notice.message


def test_bracket_nesting_beyond_what_python_accepts() -> None:
    notice = _error(parse, "x = " + "[" * 250 + "]" * 250 + "\n", "m.py")
    assert notice.message == "too deeply nested to parse (too many nested parentheses)"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the stdlib parser knows `type` statements")
def test_deep_nesting_with_syntax_the_stdlib_parser_rejects() -> None:
    notice = _error(parse, "type X = int\nx = " + " and ".join(["a"] * (MAX_NESTING + 5)) + "\n", "m.py")
    assert "too deeply nested" in notice.message
    assert parse("type X = int\nx = " + " and ".join(["a"] * 50) + "\n", "m.py")


def test_declaration_line_with_non_utf8_text() -> None:
    """Python finds the declaration in the raw bytes: the rest of its line may be in the declared encoding."""
    data = "# -*- coding: latin-1 -*- (c) Jörg\ns = 'é'\n".encode("latin-1")
    assert decode(data, "m.py") == "# -*- coding: latin-1 -*- (c) Jörg\ns = 'é'\n"


def test_unknown_declaration_on_a_line_that_is_not_utf8() -> None:
    notice = _error(decode, "# coding: klingon (é)\nx = 1\n".encode("latin-1"), "m.py")
    assert notice.message == "bad encoding declaration: unknown encoding: klingon"


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "d.py").symlink_to("missing.py")
    notice = _error(read_bytes, str(tmp_path / "d.py"), "d.py", 100)
    assert (notice.kind, notice.message) == (NoticeKind.UNREADABLE, "dangling symlink")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_many_shallow_statements_are_not_too_deep(newline: str) -> None:
    """Operator counts start over at each statement, whatever ends the line (``type`` is only known to the stdlib
    parser from Python 3.12, so older interpreters take the token-scan path here)."""
    text = newline.join(["type X = int", *(f"v{i} = a + b * c - d" for i in range(400)), ""])
    assert len(parse(text, "m.py").module.body) == 401


@pytest.mark.parametrize("text", ["x = 1\n", "def broken(:\n"])
def test_nodes_built_after_a_parse_are_validated_again(text: str) -> None:
    """The parser's nodes skip libcst's validation; nodes a check or a fix builds afterwards do not."""
    import libcst as cst

    try:
        parse(text, "m.py")
    except SourceError:
        pass
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_parsed_tree_renders_its_source_exactly() -> None:
    source = 'async def f(a, /, *b, c=1, **d) -> "x":\n    return [i async for i in a if i] or {**d} @ (b,)\n'
    assert parse(source, "m.py").module.code == source
