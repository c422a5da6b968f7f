"""GitHub's ``primaryLocationLineHash``, computed the way github/codeql-action's upload step computes it.

Code scanning matches alerts across commits by this partial fingerprint. When a SARIF result lacks it, the
upload action fills it in from the checked-out file; computing it ourselves gives the same value for uploads
that do not go through that action. The algorithm (codeql-action ``src/fingerprints.ts``):

- the file is read as UTF-16 code units; spaces and tabs are dropped, CR and CRLF become LF;
- the stream gets one end-of-file unit (65535) and is then padded with zeros;
- a line's hash is the polynomial hash, base 37 in wrapping 64-bit arithmetic, of the 100 units starting at
  the line's first kept unit (which is the LF itself for a blank line), printed as unsigned hex without
  leading zeros;
- identical hashes are told apart by a per-value occurrence counter in line order: ``"<hex>:1"``, ``":2"``...
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from itertools import accumulate

BLOCK_SIZE = 100
BASE = 37
END_OF_FILE = 0xFFFF
MASK = (1 << 64) - 1
# Weight of the unit that slides out of the window: BASE ** BLOCK_SIZE, reduced to 64 bits.
OUTGOING_WEIGHT = pow(BASE, BLOCK_SIZE, 1 << 64)
LF = ord("\n")
# array("H") reads the bytes in the machine's order, so encode in that order.
UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


def _hash_units(text: str) -> array:
    """The UTF-16 code units the hash reads: line endings normalized to LF, spaces and tabs removed."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
    # surrogatepass keeps lone surrogates (from surrogateescape decoding) as the single units Node would see.
    units = array("H", normalized.encode(UTF16_NATIVE, "surrogatepass"))
    units.append(END_OF_FILE)
    units.extend(bytes(2 * BLOCK_SIZE))  # zero padding: every line start has a full window after it
    return units


def line_hashes(text: str) -> dict[int, str]:
    """Map each 1-based line number of ``text`` to its ``primaryLocationLineHash`` value.

    ``text`` is the file's decoded content. Keep a byte-order mark if the file has one (decode with ``utf-8``,
    not ``utf-8-sig``): Node keeps it too, and it is part of the first line's hash. Universal-newline decoding
    is fine, since line endings are normalized anyway. A text ending in a newline has one more (empty) line,
    as in codeql-action.
    """
    units = _hash_units(text)
    # prefix[i] is the hash of units[0..i] (highest power on units[0]); a window's hash is the difference of
    # two prefixes, so every line costs O(1) after one pass over the file.
    prefix = list(accumulate(units, lambda acc, unit: (acc * BASE + unit) & MASK))
    data_length = len(units) - BLOCK_SIZE  # kept units plus the end-of-file unit
    hashes: dict[int, str] = {}
    occurrences: dict[str, int] = {}
    for line_number, start in enumerate(_line_starts(units, data_length), start=1):
        before = prefix[start - 1] if start else 0
        value = format((prefix[start + BLOCK_SIZE - 1] - OUTGOING_WEIGHT * before) & MASK, "x")
        occurrences[value] = occurrences.get(value, 0) + 1
        hashes[line_number] = f"{value}:{occurrences[value]}"
    return hashes


def _line_starts(units: array, data_length: int) -> Iterator[int]:
    """Offsets of each line's first unit: the start, and just after every LF (the last may be the EOF unit)."""
    start = 0
    while True:
        yield start
        try:
            start = units.index(LF, start, data_length) + 1
        except ValueError:
            return
