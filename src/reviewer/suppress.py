"""Inline suppressions: ``# reviewer: ignore[RV201, RV301]`` or a bare ``# reviewer: ignore`` (every rule).
Rule ids may be separated by commas or spaces; the comment is case-insensitive.

A suppression applies to findings that start on its line, or, for a statement spanning several lines, findings
anywhere in the statement when the comment is on the statement's first line.
"""

from __future__ import annotations

import functools
import re
import tokenize
from dataclasses import dataclass, field

# ``ignore`` must end the word: ``# reviewer: ignored`` or a bracket left open (``ignore[RV201``) is not a
# suppression, and certainly not a blanket one.
SUPPRESSION = re.compile(r"#\s*reviewer:\s*ignore(?:\[(?P<codes>[^\]]*)\]|(?![\w\[-]))", re.IGNORECASE)
MARKER = re.compile("reviewer:", re.IGNORECASE)
CODE_SEPARATOR = re.compile(r"[\s,]+")
# Line breaks as Python and libcst count them; the tokenizer's readline must see each as its own line.
NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass
class Suppression:
    line: int
    column: int
    codes: frozenset[str] | None  # None: every rule
    used: set[str] = field(default_factory=set)

    def covers(self, rule_id: str) -> bool:
        return self.codes is None or rule_id in self.codes


def find_suppressions(text: str) -> dict[int, Suppression]:
    """Suppression comments by line, found with the tokenizer so text inside strings never counts."""
    if not MARKER.search(text):
        return {}
    found: dict[int, Suppression] = {}
    parts = NEWLINE.split(text)
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    try:
        for token in tokenize.generate_tokens(functools.partial(next, iter(lines), "")):
            if token.type != tokenize.COMMENT:
                continue
            match = SUPPRESSION.search(token.string)
            if not match:
                continue
            codes = match.group("codes")
            parsed = None if codes is None else frozenset(c.upper() for c in CODE_SEPARATOR.split(codes) if c)
            line, column = token.start
            found[line] = Suppression(line, column + match.start() + 1, parsed)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # The file parsed with libcst, so this is a tokenizer quirk: keep what was found so far.
        pass
    return found


def match_suppression(
    suppressions: dict[int, Suppression], rule_id: str, line: int, statement_line: int | None
) -> Suppression | None:
    for candidate_line in (line, statement_line):
        if candidate_line is None:
            continue
        suppression = suppressions.get(candidate_line)
        if suppression is not None and suppression.covers(rule_id):
            return suppression
    return None
