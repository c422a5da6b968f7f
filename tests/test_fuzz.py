"""Fuzzing the engine with every rule enabled.

Inputs: programs generated from Python's grammar by hypothesmith, those programs spliced into the fixture projects'
files (so the checks' text triggers fire and the generated code meets real imports, models and views), and the
fixture files mutated byte by byte (flips, truncations, deleted and duplicated spans, inserted hostile characters)
or token by token (swapped and shuffled tokens). Properties:

- no exception escapes the engine, and no check fails (a ``check-error`` or ``internal-error`` notice is a bug in a
  check, not a property of the input);
- every finding points inside the file, and every reporter renders the result;
- a scan gives the same findings and notices with one worker process and with two.

The normal suite runs a small, fixed set of examples (derandomized, so CI is reproducible). The long run draws fresh
random examples; ``REVIEWER_FUZZ_EXAMPLES`` sets how many per test (a tenth as many for the two-scan test)::

    REVIEWER_FUZZ_EXAMPLES=2000 python -m pytest -m fuzz -p no:cacheprovider
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import tokenize
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer import __version__
from reviewer.analysis import analyze_text, raise_recursion_limit
from reviewer.catalog import load_catalog
from reviewer.config import Settings, build_plan
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.findings import FileResult, NoticeKind, ScanResult
from reviewer.index import ProjectIndex
from reviewer.report.github import render_github
from reviewer.report.json_report import render_json
from reviewer.report.sarif import render_sarif
from reviewer.source import SourceError, decode

pytestmark = pytest.mark.fuzz

CATALOG = load_catalog()
PLAN = build_plan(Settings(select=["ALL"]), CATALOG)
FAILURES = (NoticeKind.CHECK_ERROR, NoticeKind.INTERNAL_ERROR)
NEWLINE = re.compile(r"\r\n|\r|\n")
FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_FILES = sorted(path.relative_to(FIXTURES).as_posix() for path in FIXTURES.rglob("*.py"))
FIXTURE_BYTES = {rel: (FIXTURES / rel).read_bytes() for rel in FIXTURE_FILES}

LONG_RUN = os.environ.get("REVIEWER_FUZZ_EXAMPLES")


def fuzz_settings(bounded_examples: int, long_run_share: int = 1) -> settings:
    """``bounded_examples`` in the normal suite (always the same ones); in the long run, ``REVIEWER_FUZZ_EXAMPLES``
    random ones divided by ``long_run_share``. No example database: a failure prints the failing input and a blob to
    replay it."""
    return settings(
        max_examples=max(1, int(LONG_RUN) // long_run_share) if LONG_RUN else bounded_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        print_blob=True,
        # Generating programs from the grammar is slow by design, and some programs are large: not a problem here.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
    )


@pytest.fixture(scope="module", autouse=True)
def _recursion_limit() -> None:
    # What the CLI and every worker process do before analyzing: the tests analyze in-process under the same limit.
    raise_recursion_limit()


# -- inputs --------------------------------------------------------------------------------------------------------

programs = st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node())


def top_level_offsets(text: str) -> list[int]:
    """Offsets of lines that start a top-level statement (roughly: no indentation, not inside brackets)."""
    offsets = [0]
    position = 0
    for line in text.splitlines(keepends=True):
        position += len(line)
        offsets.append(position)
    return [offset for offset in offsets if offset == len(text) or not text[offset].isspace()]


@st.composite
def spliced_programs(draw: st.DrawFn) -> tuple[str, str]:
    """A generated program inside a fixture file, between two of its top-level statements."""
    rel = draw(st.sampled_from(FIXTURE_FILES))
    host = FIXTURE_BYTES[rel].decode("utf-8")
    offset = draw(st.sampled_from(top_level_offsets(host)))
    program = draw(programs)
    separator = "" if offset == 0 or host[offset - 1] == "\n" else "\n"
    return rel, host[:offset] + separator + program + ("\n" if not program.endswith("\n") else "") + host[offset:]


# Characters that tokenizers, position maps and reporters have to get right.
HOSTILE = ("\x00", "\t", "\r", "\r\n", "\x0c", "\\", '"""', "'", "(", ")", "[", "]", ":", "async ", "await ",
           "lambda: ", "\u2028", "\ufeff", "é", "\U0001f600", "\udcff", "# reviewer: ignore\n", "\n    ")
BYTE_MUTATIONS = ("flip", "truncate", "delete", "duplicate", "insert")
TOKEN_MUTATIONS = ("swap-tokens", "shuffle-tokens", "swap-lines")
mutation = st.tuples(st.sampled_from(BYTE_MUTATIONS + TOKEN_MUTATIONS), st.integers(0, 2**31), st.integers(0, 2**31),
                     st.integers(0, 255))


def mutate(data: bytes, kind: str, a: int, b: int, c: int) -> bytes:
    """One deterministic mutation of ``data``; positions are taken modulo its length."""
    size = max(len(data), 1)
    i, j = sorted((a % size, b % size))
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ (c or 1)]) + data[i + 1 :] if data else data
    if kind == "truncate":
        return data[:i]
    if kind == "delete":
        return data[:i] + data[j:]
    if kind == "duplicate":
        return data[:j] + data[i:j] + data[j:]
    if kind == "insert":
        hostile = HOSTILE[c % len(HOSTILE)].encode("utf-8", "surrogatepass")
        return data[:i] + hostile + data[i:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if kind == "swap-lines":
        lines = text.splitlines(keepends=True)
        if len(lines) > 1:
            x, y = a % len(lines), b % len(lines)
            lines[x], lines[y] = lines[y], lines[x]
        return "".join(lines).encode("utf-8")
    spans = token_spans(text)
    if len(spans) < 2:
        return data
    pieces = [text[start:end] for start, end in spans]
    if kind == "swap-tokens":
        x, y = a % len(pieces), b % len(pieces)
        pieces[x], pieces[y] = pieces[y], pieces[x]
    else:  # shuffle a window of up to 8 tokens: rotate it by a seed-chosen amount and reverse every other one
        start = a % len(pieces)
        window = pieces[start : start + 2 + c % 7]
        turn = b % len(window)
        window = window[turn:] + window[:turn]
        window[::2] = window[::2][::-1]
        pieces[start : start + len(window)] = window
    out, last = [], 0
    for (start, end), piece in zip(spans, pieces, strict=True):
        out += [text[last:start], piece]
        last = end
    return ("".join(out) + text[last:]).encode("utf-8")


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets of the significant tokens (names, operators, numbers, strings) of ``text``."""
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    spans = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING) and token.start[0] == token.end[0]:
                row, column = token.start
                start = line_starts[row - 1] + column
                spans.append((start, start + len(token.string)))
    except (tokenize.TokenError, SyntaxError):
        pass  # the tokens read before the error are enough to shuffle
    return spans


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> tuple[str, bytes]:
    rel = draw(st.sampled_from(FIXTURE_FILES))
    data = FIXTURE_BYTES[rel]
    for step in draw(st.lists(mutation, min_size=1, max_size=4)):
        data = mutate(data, *step)
    return rel, data


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """Mutated fixture files and one generated program spliced into another: hypothesmith records how interesting
    its programs are with hypothesis.target() under fixed labels, which allows one program per example."""
    rel, text = draw(spliced_programs())
    return [*draw(st.lists(mutated_fixtures(), min_size=3, max_size=6)), (rel, text.encode("utf-8", "surrogatepass"))]


# -- properties ----------------------------------------------------------------------------------------------------


def analyze_bytes(data: bytes, rel: str) -> FileResult:
    """What the engine does with one file's bytes, in-process: decode, then analyze (no exception may escape)."""
    try:
        text = decode(data, rel)
    except SourceError as exc:
        assert exc.notice.kind is NoticeKind.DECODE_ERROR, exc.notice
        return FileResult(rel, notices=[exc.notice])
    return analyze_text(text, rel, rel.removesuffix(".py").replace("/", "."), False, PLAN)


def assert_sound(result: FileResult, data: bytes) -> None:
    failures = [notice for notice in result.notices if notice.kind in FAILURES]
    assert not failures, failures
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    if findings:
        line_count = len(NEWLINE.split(decode(data, result.path)))
        for finding in findings:
            span = finding.span
            assert 1 <= span.line <= span.end_line <= line_count, finding
            assert span.column >= 1 and span.end_column >= 1, finding
            assert finding.rule_id in PLAN.specs, finding
    scanned = ScanResult(root="/fuzz", findings=findings, notices=result.notices, files_scanned=1, elapsed=0.0)
    render_json(scanned, tool_version=__version__)
    render_sarif(scanned, list(CATALOG.values()), tool_version=__version__)
    render_github(scanned)


@fuzz_settings(bounded_examples=60)
@given(program=hypothesmith.from_grammar())
def test_generated_programs(program: str) -> None:
    data = program.encode("utf-8", "surrogatepass")
    assert_sound(analyze_bytes(data, "generated/program.py"), data)


@fuzz_settings(bounded_examples=60)
@given(spliced=spliced_programs())
def test_generated_programs_inside_fixture_files(spliced: tuple[str, str]) -> None:
    rel, text = spliced
    data = text.encode("utf-8", "surrogatepass")
    assert_sound(analyze_bytes(data, rel), data)


@fuzz_settings(bounded_examples=250)
@given(mutated=mutated_fixtures())
def test_mutated_fixture_files(mutated: tuple[str, bytes]) -> None:
    rel, data = mutated
    assert_sound(analyze_bytes(data, rel), data)


def scan_both_ways(root: Path) -> tuple[ScanResult, ScanResult]:
    sources, walk_notices = discover([root], root, [], respect_gitignore=False)
    assert len(sources) >= 4  # below that, two jobs are run in-process and the comparison proves nothing
    return (scan(sources, PLAN, str(root), jobs=1, walk_notices=walk_notices),
            scan(sources, PLAN, str(root), jobs=2, walk_notices=walk_notices))


# Each example scans a folder twice and starts a process pool: a tenth as many in the long run.
@fuzz_settings(bounded_examples=8, long_run_share=10)
@given(batch=batches())
def test_one_and_two_jobs_agree(batch: list[tuple[str, bytes]]) -> None:
    # Hypothesis runs many examples per test call, so each one makes (and removes) its own folder.
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "app").mkdir()
        (root / "app" / "__init__.py").write_bytes(b"")
        for number, (rel, data) in enumerate(batch):
            # Keep the fixture's file name: some rules look at it (settings.py, tests/, views.py).
            (root / "app" / f"m{number}_{Path(rel).name}").write_bytes(data)
        one, two = scan_both_ways(root)
    assert not [notice for notice in one.notices if notice.kind in FAILURES], one.notices
    assert (one.findings, one.notices, one.files_scanned, one.suppressed) == (
        two.findings, two.notices, two.files_scanned, two.suppressed)


# -- the mutators themselves ---------------------------------------------------------------------------------------


def test_mutations_change_the_input_as_described() -> None:
    data = b"import os\nx = os.path.join(a, b)\n"
    assert mutate(data, "truncate", 9, 0, 0) == b""
    assert mutate(data, "flip", 0, 0, 1) == b"hmport os\nx = os.path.join(a, b)\n"
    assert mutate(data, "delete", 0, 10, 0) == b"x = os.path.join(a, b)\n"
    assert mutate(data, "insert", 0, 0, 0) == b"\x00" + data
    assert mutate(data, "swap-tokens", 0, 1, 0) == b"os import\nx = os.path.join(a, b)\n"
    assert mutate(data, "swap-lines", 0, 1, 0) == b"x = os.path.join(a, b)\nimport os\n"
    shuffled = mutate(data, "shuffle-tokens", 2, 1, 5)
    assert shuffled != data and sorted(shuffled.decode()) == sorted(data.decode())


def test_splicing_keeps_the_host_file_and_adds_the_program() -> None:
    host = "import os\n\ndef f():\n    return 1\n"
    assert top_level_offsets(host) == [0, 11, len(host)]
