"""What a scan produces: findings, notices, and the per-file result a worker hands back.

Everything here is plain data (picklable, comparable) so it can cross process boundaries and be sorted into a
deterministic order. Lines and columns are 1-based; ``end_column`` is one past the last character, as in SARIF.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, order=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, order=True)
class TextEdit:
    """Replace the text from (line, column) up to (end_line, end_column) with ``text``; an empty span inserts."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A finding's fix: what it does, in a few words, and its edits (sorted, not overlapping, relative to the file
    as it was scanned)."""

    description: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class Related:
    """Another place that explains a finding (the queryset to fix, the endpoint that serializes it)."""

    path: str
    span: Span
    message: str


@dataclass(frozen=True)
class Finding:
    """One reported problem. ``snippet`` holds the source lines of the span (for display only)."""

    path: str  # relative to the scan root, '/'-separated
    span: Span
    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    snippet: tuple[str, ...] = ()
    # GitHub's primaryLocationLineHash of the first line ("<hex>:<n>"), computed from the file text.
    line_hash: str = ""
    related: tuple[Related, ...] = ()
    # Qualified name of the innermost function or class around the finding ("" at module level): the context a
    # baseline matches on, which survives lines moving and the function moving within its file.
    scope: str = ""
    fix: Fix | None = None  # text edits that resolve the finding (see reviewer.fixes)

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.column, self.rule_id, self.span, self.message)

    @property
    def fingerprint(self) -> str:
        """A content fingerprint that survives lines moving: rule, path and the normalized flagged source."""
        normalized = "\n".join(" ".join(line.split()) for line in self.snippet)
        digest = hashlib.sha256(f"{self.rule_id}\0{self.path}\0{normalized}".encode()).hexdigest()
        return digest[:32]


def redacted(secret: str) -> str:
    """How every output shows a secret: a prefix only long secrets can spare (token formats announce themselves
    there: ``ghp_``, ``AKIA``), then the length. Never enough to use or guess the value."""
    shown = secret[:4] if len(secret) >= 20 else secret[:2] if len(secret) >= 12 else ""
    return f"{shown}…[redacted, {len(secret)} chars]"


def redact_secrets(text: str, secrets: tuple[str, ...]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, redacted(secret))
    return text


class NoticeKind(str, Enum):
    """Why a file (or part of its analysis) was skipped."""

    UNREADABLE = "unreadable"
    NOT_A_FILE = "not-a-file"
    TOO_LARGE = "too-large"
    DECODE_ERROR = "decode-error"
    SYNTAX_ERROR = "syntax-error"
    SYMLINK_LOOP = "symlink-loop"
    CHECK_ERROR = "check-error"
    TIMEOUT = "timeout"
    INTERNAL_ERROR = "internal-error"


@dataclass(frozen=True)
class Notice:
    """A file that could not be (fully) analyzed. ``rule_id`` is set when one check failed on the file."""

    path: str
    kind: NoticeKind
    message: str
    line: int | None = None
    rule_id: str | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.kind.value, self.rule_id or "", self.message)

    @property
    def skipped_file(self) -> bool:
        """True when no rule ran on the file at all (as opposed to one check failing on it)."""
        return self.kind is not NoticeKind.CHECK_ERROR


@dataclass(frozen=True)
class Candidate:
    """A finding that needs project-wide facts to be decided; resolved in the join step.

    ``requires`` names the fact that must hold, e.g. ``("django-model", "shop.models.Order")``.
    """

    finding: Finding
    requires: tuple[str, str]


@dataclass
class FileResult:
    """What the map step learns from one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    # Project facts: kind -> list of records, merged across files by the join step.
    facts: dict[str, list[tuple]] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    parsed: bool = False
    suppressed: int = 0  # findings silenced by inline suppressions
    # The silenced findings themselves, kept only when the plan asks (SARIF ``suppressions``).
    suppressed_findings: list[Finding] = field(default_factory=list)
    suppressed_candidates: list[Candidate] = field(default_factory=list)
    # What the candidates of a file holding nothing else require, when the map step left out their positions: few
    # are confirmed, and positions are most of the cost of a file with reports. If the join confirms one, the
    # file is analyzed again with positions (see reviewer.engine).
    unplaced: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ScanResult:
    """The outcome of a whole scan, ready for reporters."""

    root: str  # absolute path that finding paths are relative to
    findings: list[Finding]
    notices: list[Notice]
    files_scanned: int
    elapsed: float
    suppressed: int = 0
    suppressed_findings: list[Finding] = field(default_factory=list)  # only when the scan was asked to keep them
    files_cached: int = 0  # files whose map result came from the cache

    @property
    def files_skipped(self) -> int:
        return len({n.path for n in self.notices if n.skipped_file})
