"""The rule catalog: ``rules/*.yaml`` loaded into :class:`RuleSpec` objects.

One YAML file per rule holds its identity, default severity, documentation and options. The same documentation
feeds ``reviewer explain``, SARIF ``help.markdown`` and the README's rule table.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.cache import stamp_of, write_file
from reviewer.findings import Severity

# The parsed rule files kept in a scan's cache directory (see load_catalog).
PARSED_FILE = "catalog.json"
PARSED_FORMAT = "reviewer-catalog/1"

RULE_ID = re.compile(r"^RV\d{3}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PRECISIONS = ("very-high", "high", "medium", "low")
DOC_SECTIONS = (
    ("what-it-does", "What it does"),
    ("why-is-this-bad", "Why is this bad?"),
    ("example", "Example"),
    ("use-instead", "Use instead"),
)
REQUIRED_KEYS = {
    "id", "name", "category", "severity", "precision", "summary", "docs", "examples",
}
OPTIONAL_KEYS = {"cwe", "security-severity", "enabled-by-default", "in-tests", "options", "tags"}


class CatalogError(Exception):
    """A rule file is malformed. Raised for the project's own catalog, so it is a packaging bug."""


@dataclass(frozen=True)
class RuleOption:
    name: str
    description: str
    default: Any


@dataclass(frozen=True)
class RuleSpec:
    id: str
    name: str
    category: str
    severity: Severity
    precision: str
    summary: str
    docs: dict[str, str]
    references: tuple[tuple[str, str], ...]  # (title, url)
    examples_bad: str
    examples_good: str
    cwe: tuple[int, ...] = ()
    security_severity: float | None = None
    enabled_by_default: bool = True
    in_tests: bool = False  # also reports in test code (the `test-code` setting)
    tags: tuple[str, ...] = ()
    options: dict[str, RuleOption] = field(default_factory=dict)

    @property
    def is_security(self) -> bool:
        return self.security_severity is not None

    @property
    def markdown(self) -> str:
        """The rule's documentation as Markdown: What it does / Why is this bad? / Example / Use instead / ..."""
        parts = [f"# {self.id} {self.name}", "", self.summary, ""]
        for key, title in DOC_SECTIONS:
            parts += [f"## {title}", "", self.docs[key].strip(), ""]
        if self.options:
            parts += ["## Options", ""]
            for option in self.options.values():
                parts.append(f"- `{option.name}`: {option.description.strip()}")
            parts += [
                "",
                f"Set them under `[tool.reviewer.rules.{self.id}]`; list options also accept an "
                "`extend-<option>` key that adds to the default.",
                "",
            ]
        parts += ["## References", ""]
        parts += [f"- [{title}]({url})" for title, url in self.references]
        return "\n".join(parts).rstrip() + "\n"

    @property
    def text(self) -> str:
        """Plain-text help (SARIF ``help.text``)."""
        return f"{self.summary}\n\n{self.docs['what-it-does'].strip()}\n\n{self.docs['why-is-this-bad'].strip()}"


def rules_dir() -> Path:
    """Where the catalog is: inside the installed package, or the repository's top-level ``rules/``."""
    packaged = Path(__file__).parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


def _fail(path: Path, message: str) -> CatalogError:
    return CatalogError(f"{path.name}: {message}")


def parse_rule(path: Path) -> RuleSpec:
    return rule_from_document(path, _read_document(path))


def _read_document(path: Path) -> Any:
    # Imported here: loading PyYAML and running it on every rule file is a fifth of a scan the cache serves.
    import yaml

    # libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one: both
    # construct plain data only.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise _fail(path, f"invalid YAML: {exc}") from None


def rule_from_document(path: Path, data: Any) -> RuleSpec:
    """The rule a parsed rule file describes, checked key by key."""
    if not isinstance(data, dict):
        raise _fail(path, "must be a mapping")
    missing = REQUIRED_KEYS - data.keys()
    if missing:
        raise _fail(path, f"missing keys: {', '.join(sorted(missing))}")
    unknown = data.keys() - REQUIRED_KEYS - OPTIONAL_KEYS
    if unknown:
        raise _fail(path, f"unknown keys: {', '.join(sorted(unknown))}")
    rule_id, name = data["id"], data["name"]
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise _fail(path, f"id {rule_id!r} is not RV followed by three digits")
    if path.stem != rule_id:
        raise _fail(path, f"file name must be {rule_id}.yaml")
    if not isinstance(name, str) or not RULE_NAME.match(name):
        raise _fail(path, f"name {name!r} is not kebab-case")
    try:
        severity = Severity(data["severity"])
    except ValueError:
        raise _fail(path, "severity must be error, warning or note") from None
    if data["precision"] not in PRECISIONS:
        raise _fail(path, f"precision must be one of {', '.join(PRECISIONS)}")
    docs = data["docs"]
    if not isinstance(docs, dict):
        raise _fail(path, "docs must be a mapping")
    for key, _ in DOC_SECTIONS:
        if not isinstance(docs.get(key), str) or not docs[key].strip():
            raise _fail(path, f"docs.{key} is missing or empty")
    references = docs.get("references")
    if not isinstance(references, list) or not references:
        raise _fail(path, "docs.references must be a non-empty list of {title, url}")
    refs = []
    for ref in references:
        if not isinstance(ref, dict) or not {"title", "url"} <= ref.keys():
            raise _fail(path, "each docs.references entry needs title and url")
        refs.append((str(ref["title"]), str(ref["url"])))
    examples = data["examples"]
    if not isinstance(examples, dict) or not isinstance(examples.get("bad"), str) or not isinstance(
        examples.get("good"), str
    ):
        raise _fail(path, "examples needs 'bad' and 'good' code blocks")
    options = {}
    for option_name, option in (data.get("options") or {}).items():
        if not isinstance(option, dict) or "default" not in option or "description" not in option:
            raise _fail(path, f"option {option_name!r} needs description and default")
        options[option_name] = RuleOption(option_name, option["description"], option["default"])
    security_severity = data.get("security-severity")
    if security_severity is not None:
        security_severity = float(security_severity)
        if not 0.0 <= security_severity <= 10.0:
            raise _fail(path, "security-severity must be between 0 and 10")
    return RuleSpec(
        id=rule_id,
        name=name,
        category=str(data["category"]),
        severity=severity,
        precision=data["precision"],
        summary=str(data["summary"]).strip(),
        docs={key: str(docs[key]) for key, _ in DOC_SECTIONS},
        references=tuple(refs),
        examples_bad=examples["bad"],
        examples_good=examples["good"],
        cwe=tuple(int(c) for c in data.get("cwe") or ()),
        security_severity=security_severity,
        enabled_by_default=bool(data.get("enabled-by-default", True)),
        in_tests=bool(data.get("in-tests", False)),
        tags=tuple(data.get("tags") or ()),
        options=options,
    )


@functools.cache
def load_catalog(directory: str | None = None, cache_directory: str | None = None) -> dict[str, RuleSpec]:
    """All rules, keyed and ordered by id.

    With ``cache_directory``, the rule files are parsed once and kept there as JSON, with the names, sizes and
    modification times of the files they came from (as the results cache keys the analyzer's code): reading them
    back is a fraction of loading PyYAML and parsing. The kept copy is checked like the files themselves; one that
    does not match the files or fails the checks is replaced."""
    folder = Path(directory) if directory else rules_dir()
    files = sorted(folder.glob("RV*.yaml"))
    if not files:
        raise CatalogError(f"no rule files found in {folder}")
    key = stamp_of(files)
    parsed_file = Path(cache_directory) / PARSED_FILE if cache_directory else None
    if parsed_file is not None:
        kept = _kept_documents(parsed_file, key, {path.name for path in files})
        if kept is not None:
            with contextlib.suppress(CatalogError):
                return _catalog(files, kept)
    documents = {path.name: _read_document(path) for path in files}
    catalog = _catalog(files, documents)
    if parsed_file is not None:
        _keep_documents(parsed_file, key, documents)
    return catalog


def markdown_table(specs: list[RuleSpec]) -> str:
    """The README's rule table."""
    rows = ["| id | name | category | severity | enabled by default | summary |", "|---|---|---|---|---|---|"]
    for spec in specs:
        summary = spec.summary.replace("|", "\\|")
        default = "yes" if spec.enabled_by_default else "no"
        rows.append(f"| {spec.id} | {spec.name} | {spec.category} | {spec.severity.value} | {default} | {summary} |")
    return "\n".join(rows) + "\n"


def _catalog(files: list[Path], documents: dict[str, Any]) -> dict[str, RuleSpec]:
    specs: dict[str, RuleSpec] = {}
    names: set[str] = set()
    for path in files:
        spec = rule_from_document(path, documents[path.name])
        if spec.id in specs or spec.name in names:
            raise _fail(path, f"duplicate rule id or name {spec.id} {spec.name}")
        specs[spec.id] = spec
        names.add(spec.name)
    return specs


def _kept_documents(parsed_file: Path, key: str, names: set[str]) -> dict[str, Any] | None:
    try:
        kept = json.loads(parsed_file.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != PARSED_FORMAT or kept.get("key") != key:
        return None
    documents = kept.get("documents")
    return documents if isinstance(documents, dict) and documents.keys() == names else None


def _keep_documents(parsed_file: Path, key: str, documents: dict[str, Any]) -> None:
    """Best effort: a directory that cannot be written, or YAML that JSON cannot hold the same (dates, number
    keys), only costs the next scan the parse."""
    try:
        payload = json.dumps({"format": PARSED_FORMAT, "key": key, "documents": documents})
        if json.loads(payload)["documents"] == documents:
            write_file(parsed_file.parent, parsed_file.name, payload)
    except (TypeError, ValueError, OSError):
        pass
