"""``line_hashes`` against the vectors in github/codeql-action's ``src/fingerprints.test.ts``."""

from __future__ import annotations

import time

import pytest

from reviewer.fingerprint import line_hashes

EMPTY_LINE_AT_EOF = "c129715d7a2bc9a3:1"
GREETINGS_ENDING_IN_NEWLINE = [
    "e9496ae3ebfced30:1",
    "fb7c023a8b9ccb3f:1",
    "ce8ba1a563dcdaca:1",
    "e20e36e16fcb0cc8:1",
    "b3edc88f2938467e:1",
    "c8e28b0b4002a3a0:1",
    EMPTY_LINE_AT_EOF,
]

CODEQL_ACTION_VECTORS = [
    pytest.param("", [EMPTY_LINE_AT_EOF], id="empty"),
    pytest.param(
        " a\nb\n  \t\tc\n d",
        ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
        id="leading-whitespace",
    ),
    pytest.param(
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        [
            "8b7cf3e952e7aeb2:1",
            "b1ae1287ec4718d9:1",
            "bff680108adb0fcc:1",
            "c6805c5e1288b612:1",
            "b86d3392aea1be30:1",
            "e6ceba753e1a442:1",
        ],
        id="no-final-newline",
    ),
    pytest.param(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", GREETINGS_ENDING_IN_NEWLINE, id="lf"),
    pytest.param(" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", GREETINGS_ENDING_IN_NEWLINE, id="cr"),
    pytest.param(
        " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", GREETINGS_ENDING_IN_NEWLINE, id="crlf"
    ),
    pytest.param(
        " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", GREETINGS_ENDING_IN_NEWLINE, id="mixed-endings"
    ),
    pytest.param(
        "Lorem ipsum dolor sit amet.\n" * 10,
        [
            "a7f2ff13bc495cf2:1",
            "a7f2ff13bc495cf2:2",
            "a7f2ff13bc495cf2:3",
            "a7f2ff13bc495cf2:4",
            "a7f2ff13bc495cf2:5",
            "a7f2ff13bc495cf2:6",
            "a7f2ff1481e87703:1",
            "a9cf91f7bbf1862b:1",
            "55ec222b86bcae53:1",
            "cc97dc7b1d7d8f7b:1",
            EMPTY_LINE_AT_EOF,
        ],
        id="repeated-lines",
    ),
    pytest.param(
        "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n",
        [
            "e54938cc54b302f1:1",
            "bb609acbe9138d60:1",
            "1131fd5871777f34:1",
            "5c482a0f8b35ea28:1",
            "54517377da7028d2:1",
            "2c644846cb18d53e:1",
            "f1b89f20de0d133:1",
            EMPTY_LINE_AT_EOF,
        ],
        id="python",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CODEQL_ACTION_VECTORS)
def test_matches_codeql_action(text: str, expected: list[str]) -> None:
    assert line_hashes(text) == dict(enumerate(expected, start=1))


def test_whitespace_inside_a_line_does_not_change_its_hash() -> None:
    assert line_hashes("x=compute(a,b)\n")[1] == line_hashes("  x = compute(a, b)\t\n")[1]


def test_a_line_hash_looks_ahead_at_following_lines() -> None:
    # The window spans 100 units, so editing the next line changes this line's hash; editing a line far below
    # does not.
    body = "".join(f"value_{n} = {n}\n" for n in range(40))
    edited_next = body.replace("value_1 = 1\n", "value_1 = 2\n")
    edited_far = body.replace("value_39 = 39\n", "value_39 = 0\n")
    assert line_hashes(edited_next)[1] != line_hashes(body)[1]
    assert line_hashes(edited_far)[1] == line_hashes(body)[1]


def streaming_reference(text: str) -> dict[int, str]:
    """The upload action's character-at-a-time rolling hash, written out plainly to cross-check the fast path."""
    units: list[int] = []
    for char in text:
        code_point = ord(char)
        if code_point > 0xFFFF:  # JavaScript strings hold astral characters as a surrogate pair
            code_point -= 0x10000
            units += [0xD800 + (code_point >> 10), 0xDC00 + (code_point & 0x3FF)]
        else:
            units.append(code_point)
    window = [0] * 100
    line_at: list[int | None] = [None] * 100
    index = 0
    rolling = 0
    line_number = 0
    at_line_start = True
    after_cr = False
    counts: dict[str, int] = {}
    hashes: dict[int, str] = {}

    def emit() -> None:
        value = format(rolling, "x")
        counts[value] = counts.get(value, 0) + 1
        hashes[line_at[index]] = f"{value}:{counts[value]}"
        line_at[index] = None

    def push(unit: int) -> None:
        nonlocal rolling, index
        rolling = (37 * rolling + unit - pow(37, 100, 1 << 64) * window[index]) % (1 << 64)
        window[index] = unit
        index = (index + 1) % 100

    for unit in [*units, 0xFFFF]:
        if unit in (0x20, 0x09) or (after_cr and unit == 0x0A):
            after_cr = False
            continue
        after_cr = unit == 0x0D
        if after_cr:
            unit = 0x0A
        if line_at[index] is not None:
            emit()
        if at_line_start:
            at_line_start = False
            line_number += 1
            line_at[index] = line_number
        at_line_start = unit == 0x0A
        push(unit)
    for _ in range(100):
        if line_at[index] is not None:
            emit()
        push(0)
    return hashes


@pytest.mark.parametrize(
    "text",
    [
        "emoji = '\U0001f600'  # astral: two UTF-16 units\nnext = 1\n",
        "caf\u00e9 = '\u263a'\r\n\r \n\t\n" * 3,
        "".join(f"line_{n} = {'x' * (n * 7 % 130)}\n" for n in range(60)),
        "\ufeffbom_first = True\n",
        "\udcff lone surrogate from surrogateescape\n",
        "a" * 250,
    ],
    ids=["astral", "mixed-endings-unicode", "long-and-short-lines", "bom", "lone-surrogate", "one-long-line"],
)
def test_agrees_with_streaming_reference(text: str) -> None:
    assert line_hashes(text) == streaming_reference(text)


@pytest.mark.parametrize(("text", "expected"), CODEQL_ACTION_VECTORS)
def test_streaming_reference_matches_codeql_action(text: str, expected: list[str]) -> None:
    assert streaming_reference(text) == dict(enumerate(expected, start=1))


def test_astral_character_hashes_as_its_surrogate_pair() -> None:
    # Node hands the hash UTF-16 units; in Python the pair is two separate (lone surrogate) code points.
    as_code_point = "smile = '\U0001f600'\n"
    as_surrogate_units = "smile = '\ud83d\ude00'\n"
    assert len(as_code_point) + 1 == len(as_surrogate_units)
    assert line_hashes(as_code_point) == line_hashes(as_surrogate_units)


def test_one_entry_per_line() -> None:
    text = "a\n\n  \n\tb\r\nc"
    assert list(line_hashes(text)) == [1, 2, 3, 4, 5]


def test_is_fast_enough_for_large_files() -> None:
    text = "".join(f"    result_{n} = compute(item_{n}, factor={n % 7})  # comment\n" for n in range(20_000))
    started = time.perf_counter()
    hashes = line_hashes(text)
    assert len(hashes) == 20_001
    assert time.perf_counter() - started < 2.0
