"""Settings: built-in defaults < ``[tool.reviewer]`` in the nearest ``pyproject.toml`` (or ``--config``) < CLI flags.

Every mistake in a configuration is a :class:`ConfigError` whose message names the key and what is allowed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.catalog import RuleSpec
from reviewer.findings import Severity
from reviewer.plan import DEFAULT_FILE_TIMEOUT, ScanPlan

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", ".eggs", "*.egg-info", "__pycache__",
    "__pypackages__", "node_modules", "build", "dist", "site-packages", "_build", "buck-out", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".reviewer_cache", ".direnv", ".ipynb_checkpoints",
)
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024
# Test code: most rules judge production code, and tests hold the fixtures, fakes and shortcuts they would report.
DEFAULT_TEST_CODE = (
    "tests/", "test/", "testing/", "testutils/", "test_utils/", "tests.py", "test_*.py", "*_test.py", "*_tests.py",
    "conftest.py",
)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
# A ``[tool.reviewer]`` (or ``[tool.reviewer.rules...]``) table header, or a dotted ``tool.reviewer.x = ...`` key.
REVIEWER_TABLE = re.compile(r"^\s*\[*\s*tool\s*\.\s*reviewer\b", re.MULTILINE)
SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}

TOP_LEVEL_KEYS = {
    "select": "a list of rule ids, id prefixes or categories",
    "extend-select": "a list of rule ids, id prefixes or categories (added to the selection)",
    "ignore": "a list of rule ids, id prefixes or categories",
    "exclude": "a list of gitignore-style patterns (replaces the default excludes)",
    "extend-exclude": "a list of gitignore-style patterns (added to the default excludes)",
    "per-file-ignores": "a table of gitignore-style pattern = list of rule selectors",
    "test-code": "a list of gitignore-style patterns naming test code (only rules marked for tests report there)",
    "respect-gitignore": "true or false",
    "max-file-size": 'a size in bytes (5242880) or with a unit ("5 MB")',
    "file-timeout": "the seconds one file's analysis may take (a number above 0)",
    "rules": "a table of per-rule tables, e.g. [tool.reviewer.rules.RV201]",
}


class ConfigError(Exception):
    """A user mistake in configuration or flags: reported as one line, exit code 2."""

    def __init__(self, message: str) -> None:
        # A quoted TOML key or a flag can hold any character; the error stays one readable line.
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


@dataclass
class Settings:
    select: list[str] | None = None  # None: the rules enabled by default
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    test_code: list[str] = field(default_factory=lambda: list(DEFAULT_TEST_CODE))
    respect_gitignore: bool = True
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_file: Path | None = None

    @property
    def all_excludes(self) -> list[str]:
        return [*self.exclude, *self.extend_exclude]


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.reviewer]`` table."""
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                raw = candidate.read_bytes()
            except OSError:
                continue  # someone else's unreadable pyproject above us is not our configuration
            # Our own table is in there: using a parent's configuration instead would be a silent surprise.
            ours = bool(REVIEWER_TABLE.search(raw.decode("latin-1")))
            try:
                data = tomllib.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                if ours:
                    raise ConfigError(f"{candidate}: not UTF-8 (TOML must be): {exc.reason} at byte {exc.start}"
                                      ) from None
                continue
            except tomllib.TOMLDecodeError as exc:
                if ours:
                    raise ConfigError(f"{candidate}: invalid TOML: {exc}") from None
                continue  # someone else's broken pyproject above us is not our configuration
            except RecursionError:
                if ours:
                    raise ConfigError(f"{candidate}: invalid TOML: nested too deeply") from None
                continue
            tool = data.get("tool")
            if isinstance(tool, dict) and "reviewer" in tool:
                return candidate
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The reviewer table of a TOML file: ``[tool.reviewer]`` if present, else the whole document."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    table = data.get("tool", {}).get("reviewer") if isinstance(data.get("tool"), dict) else None
    if table is None:
        if path.name == "pyproject.toml":
            return {}
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.reviewer] must be a table")
    return table


def _string_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        key = where.rsplit(": ", 1)[-1]
        raise ConfigError(f"{where} must be a list of strings, e.g. {key} = [\"RV201\"]")
    return list(value)


def parse_size(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f'{key} must be a size in bytes or a string like "5 MB"')
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str):
        match = SIZE.match(value)
        if match:
            size = int(float(match.group(1)) * SIZE_UNITS[(match.group(2) or "b").lower()])
            if size > 0:
                return size
    raise ConfigError(f'{key} must be a positive size in bytes or a string like "5 MB", got {value!r}')


def settings_from_table(table: dict[str, Any], catalog: dict[str, RuleSpec], source: str) -> Settings:
    settings = Settings()
    for key, value in table.items():
        where = f"{source}: {key}"
        if key not in TOP_LEVEL_KEYS:
            allowed = ", ".join(TOP_LEVEL_KEYS)
            raise ConfigError(f"{source}: unknown key {key!r}; allowed keys: {allowed}")
        if key == "select":
            settings.select = check_selectors(_string_list(value, where), catalog, where)
        elif key == "extend-select":
            settings.extend_select = check_selectors(_string_list(value, where), catalog, where)
        elif key == "ignore":
            settings.ignore = check_selectors(_string_list(value, where), catalog, where)
        elif key == "exclude":
            settings.exclude = _string_list(value, where)
        elif key == "extend-exclude":
            settings.extend_exclude = _string_list(value, where)
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f'{where} must be a table, e.g. "tests/**" = ["RV301"]')
            settings.per_file_ignores = {
                pattern: check_selectors(_string_list(codes, f"{where}.{pattern!r}"), catalog, where)
                for pattern, codes in value.items()
            }
        elif key == "test-code":
            settings.test_code = _string_list(value, where)
        elif key == "respect-gitignore":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false")
            settings.respect_gitignore = value
        elif key == "max-file-size":
            settings.max_file_size = parse_size(value, where)
        elif key == "file-timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{where} must be a number of seconds above 0, e.g. 60")
            settings.file_timeout = float(value)
        elif key == "rules":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} must be a table of rule tables, e.g. [tool.reviewer.rules.RV201]")
            settings.rules = {
                rule_id.upper(): check_rule_table(rule_id, rule_table, catalog, f"{where}.{rule_id}")
                for rule_id, rule_table in value.items()
            }
    return settings


def check_rule_table(rule_id: str, table: Any, catalog: dict[str, RuleSpec], where: str) -> dict[str, Any]:
    spec = catalog.get(rule_id.upper())
    if spec is None:
        raise ConfigError(f"{where}: unknown rule id {rule_id!r}; run `reviewer rules` to list them")
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    checked: dict[str, Any] = {}
    for key, value in table.items():
        if key == "severity":
            if not isinstance(value, str) or value not in {s.value for s in Severity}:
                raise ConfigError(f"{where}.severity must be one of error, warning, note; got {value!r}")
            checked[key] = value
            continue
        name = key.removeprefix("extend-")
        option = spec.options.get(name)
        if option is None:
            allowed = ["severity", *spec.options, *(f"extend-{n}" for n, o in spec.options.items()
                                                   if isinstance(o.default, (list, dict)))]
            raise ConfigError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")
        expected = type(option.default)
        if key.startswith("extend-") and not isinstance(option.default, (list, dict)):
            raise ConfigError(f"{where}.{key}: {name} is not a list or table, set {name} instead")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # TOML writes 1 for 1.0
        if not isinstance(value, expected) or (expected in (int, float) and isinstance(value, bool)):
            word = _type_word(expected)
            article = "an" if word[0] in "aeiou" else "a"
            raise ConfigError(f"{where}.{key} must be {article} {word}, got {_type_word(type(value))}")
        strings = isinstance(option.default, list) and option.default and all(isinstance(v, str) for v in option.default)
        if strings and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}.{key} must be a list of strings")
        checked[key] = value
    return checked


def _type_word(kind: type) -> str:
    return {list: "list", dict: "table", str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        kind, kind.__name__
    )


def selector_matches(selector: str, spec: RuleSpec) -> bool:
    selector = selector.strip()
    upper = selector.upper()
    return (
        upper == "ALL"
        or spec.id.startswith(upper)
        or selector.lower() == spec.category.lower()
        or selector.lower() == spec.name
    )


def check_selectors(selectors: list[str], catalog: dict[str, RuleSpec], where: str) -> list[str]:
    for selector in selectors:
        # An empty selector would be a prefix of every rule id.
        if not selector.strip() or not any(selector_matches(selector, spec) for spec in catalog.values()):
            categories = sorted({spec.category for spec in catalog.values()})
            raise ConfigError(
                f"{where}: unknown rule selector {selector!r}; use ALL, a rule id (RV201), an id prefix (RV2), "
                f"a rule name or a category ({', '.join(categories)})"
            )
    return selectors


def enabled_rule_ids(settings: Settings, catalog: dict[str, RuleSpec]) -> list[str]:
    """Rules selected (explicitly, or enabled by default) and not ignored, in id order."""
    enabled = []
    for spec in catalog.values():
        if settings.select is None:
            selected = spec.enabled_by_default
        else:
            selected = any(selector_matches(s, spec) for s in settings.select)
        selected = selected or any(selector_matches(s, spec) for s in settings.extend_select)
        if selected and not any(selector_matches(s, spec) for s in settings.ignore):
            enabled.append(spec.id)
    return enabled


def rule_severity(spec: RuleSpec, settings: Settings) -> Severity:
    override = settings.rules.get(spec.id, {}).get("severity")
    return Severity(override) if override else spec.severity


def rule_options(spec: RuleSpec, settings: Settings) -> dict[str, Any]:
    """The rule's options: defaults from its YAML, replaced by ``option = ...`` or extended by ``extend-option``."""
    configured = settings.rules.get(spec.id, {})
    options: dict[str, Any] = {}
    for name, option in spec.options.items():
        value = configured.get(name, option.default)
        extra = configured.get(f"extend-{name}")
        if extra is not None:
            value = [*value, *extra] if isinstance(value, list) else {**value, **extra}
        options[name] = value
    return options


def _validate_extensions(check: Any, spec: RuleSpec, settings: Settings, where: str) -> None:
    """Each ``extend-<option>`` on its own, so that a bad entry is named as the user wrote it (``extend-x entry
    1``) rather than by its place in the merged list."""
    configured = settings.rules.get(spec.id, {})
    for name in spec.options:
        extra = configured.get(f"extend-{name}")
        if extra is None:
            continue
        alone = {key: value.default for key, value in spec.options.items()}
        alone[name] = extra
        try:
            check.validate_options(alone)
        except ValueError as exc:
            raise ConfigError(f"{where}: {str(exc).replace(name, f'extend-{name}', 1)}") from None


def per_file_ignores(settings: Settings, catalog: dict[str, RuleSpec]) -> list[tuple[str, tuple[str, ...]]]:
    """(gitignore pattern, rule ids it turns off): the configured per-file ignores, and test code for every rule not
    marked ``in-tests``."""
    return [
        *((pattern, tuple(spec.id for spec in catalog.values() if any(selector_matches(s, spec) for s in selectors)))
          for pattern, selectors in settings.per_file_ignores.items()),
        *((pattern, tuple(spec.id for spec in catalog.values() if not spec.in_tests)) for pattern in settings.test_code),
    ]


def build_plan(settings: Settings, catalog: dict[str, RuleSpec]) -> ScanPlan:
    """What the workers need from the configuration: enabled rules with their options and severities. The options
    are checked by :func:`check_options`, before any file is analyzed."""
    enabled = enabled_rule_ids(settings, catalog)
    return ScanPlan(
        specs={rule_id: catalog[rule_id] for rule_id in enabled},
        options={rule_id: rule_options(catalog[rule_id], settings) for rule_id in enabled},
        severities={rule_id: rule_severity(catalog[rule_id], settings) for rule_id in enabled},
        per_file_ignores=per_file_ignores(settings, catalog),
        max_file_size=settings.max_file_size,
        file_timeout=settings.file_timeout,
        all_rule_ids=frozenset(catalog),
    )


def check_options(settings: Settings, catalog: dict[str, RuleSpec]) -> None:
    """Raise ConfigError for an enabled rule's option that its check class cannot use."""
    # Here rather than at the top: the checks bring in libcst, which a scan served from the cache never needs.
    from reviewer.checks import check_classes

    classes = check_classes()
    for rule_id in enabled_rule_ids(settings, catalog):
        if rule_id in classes:
            where = f"{settings.config_file or 'configuration'} [tool.reviewer.rules.{rule_id}]"
            _validate_extensions(classes[rule_id], catalog[rule_id], settings, where)
            try:
                classes[rule_id].validate_options(rule_options(catalog[rule_id], settings))
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from None
