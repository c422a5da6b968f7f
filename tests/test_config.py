"""Configuration: every mistake is a one-line ConfigError naming the key; selection and option semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import make_spec

from reviewer.config import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_FILE_SIZE,
    ConfigError,
    Settings,
    enabled_rule_ids,
    find_config,
    read_config_file,
    rule_options,
    rule_severity,
    settings_from_table,
)
from reviewer.findings import Severity

# A catalog of our own, so these tests do not depend on the real rules' content.
CATALOG = {
    spec.id: spec
    for spec in (
        make_spec("RV001", "unused-suppression", category="meta", enabled_by_default=False),
        make_spec("RV101", "hardcoded-secret", category="security", severity=Severity.ERROR, options={
            "names": ["password", "secret"],
            "min-length": 8,
            "entropy": 3.5,
            "strict": False,
            "mode": "fast",
            "aliases": {"pwd": "password"},
        }),
        make_spec("RV102", "weak-hash", category="security"),
        make_spec("RV201", "blocking-call", category="async"),
        make_spec("RV301", "n-plus-one", category="Django", enabled_by_default=False),
    )
}
SOURCE = "pyproject.toml [tool.reviewer]"


def _settings(table: dict[str, Any]) -> Settings:
    return settings_from_table(table, CATALOG, SOURCE)


def _error(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        _settings(table)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(SOURCE)
    return message


def _enabled(**fields: Any) -> list[str]:
    return enabled_rule_ids(Settings(**fields), CATALOG)


# -- mistakes ------------------------------------------------------------------------------------------------------

def test_defaults() -> None:
    settings = _settings({})
    assert settings.select is None and settings.ignore == [] and settings.extend_select == []
    assert settings.all_excludes == list(DEFAULT_EXCLUDE)
    assert settings.respect_gitignore is True
    assert settings.max_file_size == DEFAULT_MAX_FILE_SIZE


def test_unknown_top_level_key() -> None:
    message = _error({"selct": ["RV101"]})
    assert "unknown key 'selct'" in message
    assert "select" in message  # lists what is allowed


@pytest.mark.parametrize(("table", "key"), [
    ({"select": "RV201"}, "select"),
    ({"ignore": ["RV201", 3]}, "ignore"),
    ({"exclude": "build"}, "exclude"),
    ({"extend-exclude": [["x"]]}, "extend-exclude"),
    ({"per-file-ignores": ["tests/**"]}, "per-file-ignores"),
    ({"per-file-ignores": {"tests/**": "RV201"}}, "per-file-ignores"),
    ({"respect-gitignore": "yes"}, "respect-gitignore"),
    ({"respect-gitignore": 1}, "respect-gitignore"),
    ({"rules": ["RV101"]}, "rules"),
])
def test_wrong_types(table: dict[str, Any], key: str) -> None:
    assert f"{SOURCE}: {key}" in _error(table)


def test_list_type_error_gives_a_usable_example() -> None:
    assert _error({"select": "RV201"}) == (
        f'{SOURCE}: select must be a list of strings, e.g. select = ["RV201"]'
    )


@pytest.mark.parametrize("value", [-1, 0, "0", "0 MB", "-5 MB", "5 XB", "lots", True, 1.5, [1]])
def test_bad_max_file_size(value: Any) -> None:
    message = _error({"max-file-size": value})
    assert "max-file-size" in message


@pytest.mark.parametrize(("value", "expected"), [
    (1024, 1024), ("5 MB", 5_000_000), ("1 KiB", 1024), ("2mib", 2 * 1024**2), ("1.5 kb", 1500), ("300", 300),
])
def test_max_file_size(value: Any, expected: int) -> None:
    assert _settings({"max-file-size": value}).max_file_size == expected


@pytest.mark.parametrize(("key", "selector"), [
    ("select", "RV9"), ("select", "nope"), ("ignore", "RV1011"), ("select", ""), ("select", "  "),
    ("per-file-ignores", "RV999"),
])
def test_unknown_selector(key: str, selector: str) -> None:
    table: dict[str, Any] = {key: [selector]} if key != "per-file-ignores" else {key: {"tests/**": [selector]}}
    message = _error(table)
    assert f"unknown rule selector {selector!r}" in message
    assert key in message


def test_unknown_rule_id_in_rules() -> None:
    message = _error({"rules": {"RV999": {"severity": "error"}}})
    assert "rules.RV999" in message
    assert "unknown rule id 'RV999'" in message


def test_rule_table_must_be_a_table() -> None:
    assert "rules.RV101 must be a table" in _error({"rules": {"RV101": "error"}})


def test_unknown_option() -> None:
    message = _error({"rules": {"RV101": {"nmes": ["x"]}}})
    assert "rules.RV101: unknown key 'nmes'" in message
    assert "extend-names" in message and "min-length" in message and "severity" in message
    assert "extend-min-length" not in message  # only list and table options can be extended


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("min-length", "8", "min-length must be an integer, got string"),
    ("min-length", True, "min-length must be an integer, got boolean"),
    ("min-length", 8.5, "min-length must be an integer, got number"),
    ("entropy", "3", "entropy must be a number, got string"),
    ("entropy", True, "entropy must be a number, got boolean"),
    ("strict", "yes", "strict must be a boolean, got string"),
    ("mode", 1, "mode must be a string, got integer"),
    ("names", "password", "names must be a list, got string"),
    ("names", [1, 2], "names must be a list of strings"),
    ("extend-names", ["token", 3], "extend-names must be a list of strings"),
    ("aliases", ["pwd"], "aliases must be a table, got list"),
    ("extend-aliases", "x", "extend-aliases must be a table, got string"),
])
def test_wrong_option_type(key: str, value: Any, expected: str) -> None:
    message = _error({"rules": {"RV101": {key: value}}})
    assert f"rules.RV101.{expected}" in message


def test_extend_on_a_scalar_option() -> None:
    message = _error({"rules": {"RV101": {"extend-min-length": 3}}})
    assert "rules.RV101.extend-min-length" in message
    assert "set min-length instead" in message


@pytest.mark.parametrize("severity", ["fatal", "ERROR", 1, ["error"], {"level": "error"}])
def test_bad_severity(severity: Any) -> None:
    message = _error({"rules": {"RV101": {"severity": severity}}})
    assert "rules.RV101.severity must be one of error, warning, note" in message


def test_integer_for_a_number_option_is_accepted() -> None:
    settings = _settings({"rules": {"RV101": {"entropy": 4}}})
    assert rule_options(CATALOG["RV101"], settings)["entropy"] == 4.0


def test_rule_ids_in_rules_are_case_insensitive() -> None:
    settings = _settings({"rules": {"rv101": {"severity": "note"}}})
    assert rule_severity(CATALOG["RV101"], settings) is Severity.NOTE


# -- selection -----------------------------------------------------------------------------------------------------

def test_default_selection_skips_default_disabled_rules() -> None:
    assert _enabled() == ["RV101", "RV102", "RV201"]


@pytest.mark.parametrize(("select", "expected"), [
    (["RV101"], ["RV101"]),
    (["rv101"], ["RV101"]),
    (["RV1"], ["RV101", "RV102"]),
    (["security"], ["RV101", "RV102"]),
    (["django"], ["RV301"]),  # categories are case-insensitive, and selecting enables default-disabled rules
    (["weak-hash", "async"], ["RV102", "RV201"]),
    (["RV0"], ["RV001"]),
    (["meta"], ["RV001"]),
    (["ALL"], ["RV001", "RV101", "RV102", "RV201", "RV301"]),
    (["all"], ["RV001", "RV101", "RV102", "RV201", "RV301"]),
    ([], []),
])
def test_select(select: list[str], expected: list[str]) -> None:
    assert _enabled(select=select) == expected


def test_ignore_wins() -> None:
    assert _enabled(select=["ALL"], ignore=["RV1", "meta"]) == ["RV201", "RV301"]
    assert _enabled(select=["RV101"], ignore=["hardcoded-secret"]) == []
    assert _enabled(ignore=["security"]) == ["RV201"]


def test_extend_select_adds_to_the_selection() -> None:
    assert _enabled(extend_select=["RV001"]) == ["RV001", "RV101", "RV102", "RV201"]
    assert _enabled(select=["RV201"], extend_select=["RV301"]) == ["RV201", "RV301"]
    assert _enabled(extend_select=["RV301"], ignore=["RV301"]) == ["RV101", "RV102", "RV201"]


def test_selection_from_a_table() -> None:
    settings = _settings({"select": ["security", "RV301"], "ignore": ["RV102"]})
    assert enabled_rule_ids(settings, CATALOG) == ["RV101", "RV301"]


# -- options -------------------------------------------------------------------------------------------------------

def test_options_default() -> None:
    assert rule_options(CATALOG["RV101"], Settings()) == {
        "names": ["password", "secret"], "min-length": 8, "entropy": 3.5, "strict": False, "mode": "fast",
        "aliases": {"pwd": "password"},
    }


def test_plain_key_replaces_and_extend_appends() -> None:
    replaced = _settings({"rules": {"RV101": {"names": ["token"], "min-length": 12}}})
    assert rule_options(CATALOG["RV101"], replaced)["names"] == ["token"]
    assert rule_options(CATALOG["RV101"], replaced)["min-length"] == 12
    extended = _settings({"rules": {"RV101": {"extend-names": ["token"], "extend-aliases": {"pw": "password"}}}})
    options = rule_options(CATALOG["RV101"], extended)
    assert options["names"] == ["password", "secret", "token"]
    assert options["aliases"] == {"pwd": "password", "pw": "password"}
    both = _settings({"rules": {"RV101": {"names": ["a"], "extend-names": ["b"]}}})
    assert rule_options(CATALOG["RV101"], both)["names"] == ["a", "b"]


def test_extending_does_not_change_the_catalog_default() -> None:
    extended = _settings({"rules": {"RV101": {"extend-names": ["token"]}}})
    rule_options(CATALOG["RV101"], extended)
    assert CATALOG["RV101"].options["names"].default == ["password", "secret"]


def test_severity_override() -> None:
    assert rule_severity(CATALOG["RV101"], Settings()) is Severity.ERROR
    assert rule_severity(CATALOG["RV101"], _settings({"rules": {"RV101": {"severity": "note"}}})) is Severity.NOTE


# -- files ---------------------------------------------------------------------------------------------------------

def _pyproject(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(text)
    return path


def test_read_config_file_tool_table(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[project]\nname = "x"\n\n[tool.reviewer]\nselect = ["RV1"]\n')
    assert read_config_file(path) == {"select": ["RV1"]}


def test_pyproject_without_our_table_is_empty(tmp_path: Path) -> None:
    assert read_config_file(_pyproject(tmp_path, '[tool.black]\nline-length = 100\n')) == {}


def test_plain_toml_file_is_the_table(tmp_path: Path) -> None:
    (tmp_path / "reviewer.toml").write_text('select = ["RV1"]\n')
    assert read_config_file(tmp_path / "reviewer.toml") == {"select": ["RV1"]}


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[tool.reviewer]\nselect = ["RV1"\n')
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert str(path) in str(caught.value) and "invalid TOML" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "nope.toml")


def test_reviewer_table_that_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[tool.reviewer\] must be a table"):
        read_config_file(_pyproject(tmp_path, '[tool]\nreviewer = "all"\n'))


def test_find_config_picks_the_nearest_with_our_table(tmp_path: Path) -> None:
    top = _pyproject(tmp_path, "[tool.reviewer]\n")
    _pyproject(tmp_path / "svc", '[project]\nname = "svc"\n')  # no [tool.reviewer]: skipped
    inner = _pyproject(tmp_path / "svc" / "api", '[tool.reviewer]\nselect = ["RV1"]\n')
    (tmp_path / "svc" / "api" / "deep").mkdir()
    (tmp_path / "svc" / "api" / "deep" / "m.py").write_text("")
    assert find_config(tmp_path / "svc" / "api" / "deep") == inner
    assert find_config(tmp_path / "svc" / "api" / "deep" / "m.py") == inner
    assert find_config(tmp_path / "svc") == top


def test_find_config_with_dotted_keys(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, 'tool.reviewer.select = ["RV1"]\n')
    assert find_config(tmp_path) == path


def test_find_config_skips_someone_elses_broken_or_odd_pyproject(tmp_path: Path) -> None:
    top = _pyproject(tmp_path, "[tool.reviewer]\n")
    _pyproject(tmp_path / "a", "[project\nname = \n")  # broken, but not ours
    _pyproject(tmp_path / "a" / "b", "tool = 1\n")  # odd, not ours
    (tmp_path / "a" / "b" / "c").mkdir()
    assert find_config(tmp_path / "a" / "b" / "c") == top


def test_find_config_reports_our_own_broken_pyproject(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.reviewer]\n")
    broken = _pyproject(tmp_path / "svc", '[tool.reviewer]\nselect = ["RV1"\n')
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path / "svc")
    assert str(broken) in str(caught.value) and "\n" not in str(caught.value)


def test_find_config_none(tmp_path: Path) -> None:
    _pyproject(tmp_path / "x", '[project]\nname = "x"\n')
    found = find_config(tmp_path / "x")
    assert found is None or tmp_path not in found.parents


# -- test code ---------------------------------------------------------------------------------------------------------

TEST_CODE_SAMPLE = """\
import time

GITHUB_TOKEN = "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"  # a provider key: reported in tests too


async def handler():
    time.sleep(1)
"""


def rules_reported(rel: str, table: dict[str, Any] | None = None) -> set[str]:
    from reviewer.analysis import analyze_text
    from reviewer.catalog import load_catalog
    from reviewer.config import build_plan, settings_from_table

    catalog = load_catalog()
    plan = build_plan(settings_from_table(table or {}, catalog, "pyproject.toml"), catalog)
    module = rel.removesuffix(".py").replace("/", ".")
    return {finding.rule_id for finding in analyze_text(TEST_CODE_SAMPLE, rel, module, False, plan).findings}


@pytest.mark.parametrize("rel", ["tests/test_handlers.py", "app/tests/helpers.py", "app/conftest.py",
                                 "app/handlers_test.py"])
def test_test_code_is_judged_only_by_rules_marked_for_it(rel: str) -> None:
    assert rules_reported("app/handlers.py") == {"RV201", "RV301"}
    assert rules_reported(rel) == {"RV301"}


def test_test_code_patterns_are_configurable() -> None:
    assert rules_reported("tests/test_handlers.py", {"test-code": []}) == {"RV201", "RV301"}
    assert rules_reported("app/handlers.py", {"test-code": ["app/"]}) == {"RV301"}
    with pytest.raises(ConfigError, match="test-code"):
        rules_reported("app/handlers.py", {"test-code": "tests/"})


def test_file_timeout() -> None:
    from reviewer.catalog import load_catalog
    from reviewer.config import build_plan, settings_from_table

    catalog = load_catalog()
    assert build_plan(settings_from_table({"file-timeout": 5}, catalog, "pyproject.toml"), catalog).file_timeout == 5
    for bad in (0, -1, "60", True):
        with pytest.raises(ConfigError, match="file-timeout"):
            settings_from_table({"file-timeout": bad}, catalog, "pyproject.toml")
