"""Baselines: record the findings a codebase has today, then report only new ones.

The file (``.reviewer-baseline.json`` by convention) is JSON, one entry per line so reviews of a refreshed baseline
read well::

    {
      "format": "reviewer-baseline",
      "version": 1,
      "tool": {"name": "reviewer", "version": "0.1.0"},
      "entries": [
        {"rule": "RV201", "name": "blocking-call-in-async", "path": "api/main.py", "line": 36, "scope": "fetch", "fingerprint": "9f2c…"}
      ]
    }

An entry matches a finding with the same ``rule``, ``path``, ``scope`` and ``fingerprint``; ``line`` and ``name``
are for people reading the file and are never used to match. ``path`` is relative to the folder holding the
baseline file, so a baseline works whatever folder is scanned and from wherever reviewer runs. ``scope`` is the
qualified name of the function or class around the finding; ``fingerprint`` hashes the rule and the flagged
source *as reports show it* (secrets already masked) with all whitespace removed, so reformatting and re-indenting
keep it. The file holds no source, no messages and nothing from which a secret could be recovered or guessed.
Matching counts: N identical entries match at most N findings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from reviewer.config import ConfigError
from reviewer.findings import Finding

FORMAT = "reviewer-baseline"
FORMAT_VERSION = 1
DEFAULT_FILE = ".reviewer-baseline.json"
FINGERPRINT = re.compile(r"[0-9a-f]{32}")
ENTRY_FIELDS = {"rule": str, "name": str, "path": str, "line": int, "scope": str, "fingerprint": str}


class BaselineError(ConfigError):
    """A baseline file that is missing, unreadable, not JSON, or not a reviewer baseline: one error line."""


@dataclass(frozen=True)
class Entry:
    rule: str
    name: str
    path: str  # relative to the baseline file's folder, '/'-separated
    line: int  # for people only
    scope: str
    fingerprint: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rule, self.path, self.scope, self.fingerprint)


@dataclass
class Baseline:
    file: Path
    entries: list[Entry]

    @property
    def anchor(self) -> Path:
        """The folder entry paths are relative to (symlinks resolved, so every way of naming it agrees)."""
        return Path(os.path.realpath(self.file.parent))


@dataclass
class Matched:
    new: list[Finding]  # findings no entry accounts for
    known: list[Finding]  # findings the baseline accounts for
    unmatched: list[Entry]  # entries no finding used, in file order


def fingerprint(finding: Finding) -> str:
    """The rule and the flagged source without whitespace. Unlike :attr:`Finding.fingerprint` it leaves out the path,
    which depends on the folder scanned (the entry keys on its own, anchored path)."""
    source = "".join("".join(line.split()) for line in finding.snippet)
    return hashlib.sha256(f"{finding.rule_id}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def anchored_path(root: str, rel: str, anchor: Path) -> str:
    """A finding's path (``rel`` under the scan ``root``) relative to the baseline's folder, '/'-separated."""
    return Path(os.path.relpath(os.path.join(os.path.realpath(root), rel), anchor)).as_posix()


def entries_for(findings: Iterable[Finding], root: str, anchor: Path) -> list[Entry]:
    entries = [Entry(f.rule_id, f.rule_name, anchored_path(root, f.path, anchor), f.span.line, f.scope, fingerprint(f))
               for f in findings]
    return sorted(entries, key=lambda e: (e.path, e.line, e.rule, e.scope, e.fingerprint))


def render(entries: list[Entry], tool_version: str) -> str:
    header = {"format": FORMAT, "version": FORMAT_VERSION, "tool": {"name": "reviewer", "version": tool_version}}
    lines = ["{", *(f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in header.items())]
    if entries:
        rows = [json.dumps({name: getattr(entry, name) for name in ENTRY_FIELDS}, ensure_ascii=False)
                for entry in entries]
        lines += ['  "entries": [', ",\n".join(f"    {row}" for row in rows), "  ]"]
    else:
        lines.append('  "entries": []')
    return "\n".join([*lines, "}"]) + "\n"


def write_baseline(file: Path, findings: Iterable[Finding], root: str, tool_version: str) -> list[Entry]:
    """Record ``findings`` in ``file``; returns the entries written."""
    entries = entries_for(findings, root, Path(os.path.realpath(file.parent)))
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(render(entries, tool_version), encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {file}: {exc.strerror or exc}") from None
    return entries


def load_baseline(file: Path) -> Baseline:
    """Read and validate a baseline; anything wrong is a :class:`BaselineError` naming the file and the problem."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline {file} does not exist (create it with `reviewer baseline -o {file}`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {file}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {file} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                            ) from None
    except RecursionError:
        raise BaselineError(f"baseline {file} is nested too deeply to be a baseline") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(f'{file} is not a reviewer baseline (no "format": "{FORMAT}"); '
                            "create one with `reviewer baseline`")
    version = document.get("version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise BaselineError(f"baseline {file} has format version {version}, newer than this reviewer reads "
                                f"({FORMAT_VERSION}): upgrade reviewer")
        raise BaselineError(f"baseline {file} has an invalid format version {version!r} (expected {FORMAT_VERSION})")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise BaselineError(f'baseline {file}: "entries" must be a list')
    return Baseline(file, [_entry(raw, number, file) for number, raw in enumerate(raw_entries, 1)])


def _entry(raw: object, number: int, file: Path) -> Entry:
    where = f"baseline {file}: entry {number}"
    if not isinstance(raw, dict):
        raise BaselineError(f"{where} must be an object")
    for name, kind in ENTRY_FIELDS.items():
        value = raw.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BaselineError(f'{where}: "{name}" must be a {"string" if kind is str else "number"}')
    if not FINGERPRINT.fullmatch(raw["fingerprint"]):
        raise BaselineError(f'{where}: "fingerprint" must be 32 lowercase hex digits')
    return Entry(**{name: raw[name] for name in ENTRY_FIELDS})


def match(baseline: Baseline, findings: list[Finding], root: str) -> Matched:
    """Split findings into new and known. Each entry accounts for one finding at most; among entries with the same
    key, the one nearest in line is used, so the entries left over point at the right place."""
    available: dict[tuple[str, str, str, str], list[Entry]] = defaultdict(list)
    for entry in baseline.entries:
        available[entry.key].append(entry)
    used: set[int] = set()
    new, known = [], []
    for finding in findings:
        key = (finding.rule_id, anchored_path(root, finding.path, baseline.anchor), finding.scope, fingerprint(finding))
        candidates = available.get(key)
        if not candidates:
            new.append(finding)
            continue
        nearest = min(candidates, key=lambda entry: abs(entry.line - finding.span.line))
        candidates.remove(nearest)
        used.add(id(nearest))
        known.append(finding)
    return Matched(new, known, [entry for entry in baseline.entries if id(entry) not in used])


def stale_entries(matched: Matched, baseline: Baseline, checked: Callable[[str, str], bool]) -> list[Entry]:
    """Unmatched entries that can no longer match: their file is gone, or it was scanned with their rule
    (``checked(anchored path, rule)``) and nothing matched. Entries for files this scan did not cover are not
    stale, only unchecked."""
    return [entry for entry in matched.unmatched
            if checked(entry.path, entry.rule) or not (baseline.anchor / entry.path).exists()]
