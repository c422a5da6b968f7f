"""The scan plan: what every file's analysis needs from the configuration, and the key its cached results carry."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from reviewer import __version__
from reviewer.cache import Cache, stamp_of
from reviewer.catalog import RuleSpec, rules_dir
from reviewer.findings import Severity

UNUSED_SUPPRESSION_RULE = "RV001"
# A pathological file (a generated module, code crafted to make some analysis slow) must not stall the scan.
DEFAULT_FILE_TIMEOUT = 60.0


@dataclass
class ScanPlan:
    """Everything a worker needs to analyze a file; picklable, sent once to each worker process."""

    specs: dict[str, RuleSpec]  # enabled rules only
    options: dict[str, dict[str, Any]]
    severities: dict[str, Severity]
    per_file_ignores: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    max_file_size: int = 5 * 1024 * 1024
    all_rule_ids: frozenset[str] = frozenset()
    keep_suppressed: bool = False  # keep findings silenced by inline suppressions (not just count them)
    cache_dir: str | None = None  # where map results are cached between runs (None: no cache)
    file_timeout: float | None = DEFAULT_FILE_TIMEOUT  # seconds one file's analysis may take

    def __post_init__(self) -> None:
        self._ignore_specs = [
            (pathspec.GitIgnoreSpec.from_lines([pattern]), frozenset(ids)) for pattern, ids in self.per_file_ignores
        ]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_ignore_specs", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @functools.cached_property
    def cache_key(self) -> str:
        """Everything besides a file that its map result depends on: the analyzer's code and rules, and this
        plan's rules, options, severities and limits."""
        plan = json.dumps({
            "rules": {rule_id: [spec.name, self.options[rule_id], self.severities[rule_id].value]
                      for rule_id, spec in sorted(self.specs.items())},
            "per_file_ignores": self.per_file_ignores,
            "max_file_size": self.max_file_size,
            "all_rule_ids": sorted(self.all_rule_ids),
            "keep_suppressed": self.keep_suppressed,
        }, sort_keys=True, default=str)
        return hashlib.sha256(f"{code_version()}\0{plan}".encode()).hexdigest()

    def cache(self, root: str) -> Cache | None:
        """The cache of this plan's results for the project at ``root``, if the plan has one."""
        return Cache(Path(self.cache_dir), self.cache_key, root) if self.cache_dir else None

    def rules_for(self, rel: str) -> list[str]:
        """Enabled rules minus this file's per-file ignores."""
        ignored: set[str] = set()
        for spec, ids in self._ignore_specs:
            if spec.match_file(rel):
                ignored |= ids
        return [rule_id for rule_id in self.specs if rule_id not in ignored]


@functools.cache
def code_version() -> str:
    """The installed analyzer's version and the size and time of every module and rule file: a development
    checkout whose checks change between runs must not reuse what the old checks found."""
    package = Path(__file__).parent
    stamp = stamp_of(sorted([*package.rglob("*.py"), *rules_dir().glob("*.yaml")]))
    return hashlib.sha256(f"{__version__}{stamp}".encode()).hexdigest()

