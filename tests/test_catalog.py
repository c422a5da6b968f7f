"""The rule catalog: every rules/*.yaml is well-formed, documented, and bound to a check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewer.catalog import CatalogError, load_catalog, parse_rule, rules_dir
from reviewer.checks import check_classes
from reviewer.plan import UNUSED_SUPPRESSION_RULE

CATALOG = load_catalog()
RESERVED = {
    "RV101": "query-in-loop", "RV102": "lazy-relation-in-loop", "RV103": "unpaginated-list-endpoint",
    "RV104": "unbounded-load", "RV105": "sql-injection", "RV106": "unindexed-foreign-key",
    "RV107": "mass-assignment", "RV201": "blocking-call-in-async", "RV301": "hardcoded-secret",
    "RV302": "plaintext-password", "RV303": "weak-cryptography", "RV304": "sensitive-data-in-logs",
    "RV305": "jwt-verification-disabled", "RV401": "error-details-in-response", "RV402": "missing-timeout",
    "RV403": "permissive-cors", "RV404": "debug-enabled", "RV405": "unthrottled-auth-endpoint",
}


@pytest.mark.parametrize("rule_id", list(CATALOG))
def test_rule_is_complete(rule_id: str) -> None:
    spec = CATALOG[rule_id]
    assert spec.summary and not spec.summary.endswith("\n")
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
        assert f"## {section}" in spec.markdown
    assert all(url.startswith("https://") for _, url in spec.references)
    if spec.is_security:
        assert spec.cwe, "security rules name their CWE"
    # The reserved numbering keeps ids and names stable across releases.
    if rule_id in RESERVED:
        assert spec.name == RESERVED[rule_id]


@pytest.mark.parametrize("rule_id", list(CATALOG))
def test_examples_compile(rule_id: str) -> None:
    spec = CATALOG[rule_id]
    for kind, code in (("bad", spec.examples_bad), ("good", spec.examples_good)):
        compile(code, f"{rule_id}-{kind}", "exec")
    assert re.search(r"#\s*expect:", spec.examples_bad), "the bad example marks what must be reported"
    assert not re.search(r"#\s*expect:", spec.examples_good)


def test_every_rule_has_a_check_and_every_check_a_rule() -> None:
    checks = set(check_classes())
    rules = set(CATALOG) - {UNUSED_SUPPRESSION_RULE}  # reported by the engine itself
    assert checks == rules


def test_catalog_is_what_the_package_ships() -> None:
    assert rules_dir().is_dir()
    assert sorted(p.stem for p in rules_dir().glob("RV*.yaml")) == list(CATALOG)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


VALID = (Path(rules_dir()) / "RV001.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("id: RV001", "id: RX001"), "not RV followed by three digits"),
        (lambda t: t.replace("name: unused-suppression", "name: Unused_Suppression"), "kebab-case"),
        (lambda t: t.replace("severity: warning", "severity: fatal"), "severity"),
        (lambda t: t.replace("precision: very-high", "precision: great"), "precision"),
        (lambda t: t.replace("  what-it-does:", "  what-it-did:"), "what-it-does"),
        (lambda t: t + "colour: blue\n", "unknown keys: colour"),
        (lambda t: t.replace("examples:", "samples:"), "missing keys: examples"),
        (lambda t: t.replace("id: RV001\n", "id: RV001\n  oops: [\n"), "invalid YAML"),
    ],
)
def test_malformed_rule_files_are_rejected(tmp_path: Path, change, message: str) -> None:
    path = _write(tmp_path, "RV001.yaml", change(VALID))
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_rule(path)


def test_file_name_must_match_id(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"RV001\.yaml"):
        parse_rule(_write(tmp_path, "RV002.yaml", VALID))


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "RV001.yaml", VALID)
    _write(tmp_path, "RV002.yaml", VALID.replace("id: RV001", "id: RV002"))
    with pytest.raises(CatalogError, match="duplicate"):
        load_catalog.__wrapped__(str(tmp_path))


# -- the parsed catalog kept in the cache directory -------------------------------------------------------------------


def _rules_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    _write(folder, "RV001.yaml", VALID)
    _write(folder, "RV002.yaml", VALID.replace("id: RV001", "id: RV002").replace("unused-suppression", "other"))
    return folder


def _load(folder: Path, cache: Path | None) -> dict:
    return load_catalog.__wrapped__(str(folder), str(cache) if cache else None)


def _unparsable(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> None:
        raise AssertionError(f"{path.name} was parsed")

    monkeypatch.setattr("reviewer.catalog._read_document", refuse)


def test_a_kept_catalog_is_read_back_without_parsing_the_rule_files(tmp_path: Path, monkeypatch) -> None:
    folder, cache = _rules_folder(tmp_path), tmp_path / "cache"
    parsed = _load(folder, cache)
    assert (cache / "catalog.json").is_file() and (cache / ".gitignore").is_file()
    assert parsed == _load(folder, None)
    _unparsable(monkeypatch)
    assert _load(folder, cache) == parsed


def test_an_edited_rule_file_is_parsed_again(tmp_path: Path) -> None:
    folder, cache = _rules_folder(tmp_path), tmp_path / "cache"
    _load(folder, cache)
    _write(folder, "RV002.yaml", (folder / "RV002.yaml").read_text().replace("severity: warning", "severity: error"))
    assert _load(folder, cache)["RV002"].severity.value == "error"
    (folder / "RV002.yaml").unlink()
    assert list(_load(folder, cache)) == ["RV001"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.replace('"severity": "warning"', '"severity": "fatal"'),  # fails the rule checks
        lambda text: text.replace('"enabled-by-default"', '"enabled-by-defaults"'),  # an unknown key
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: '{"format": "reviewer-catalog/1", "key": "x", "documents": {}}',
    ],
)
def test_a_damaged_or_edited_kept_catalog_is_replaced(tmp_path: Path, monkeypatch, tamper) -> None:
    folder, cache = _rules_folder(tmp_path), tmp_path / "cache"
    expected = _load(folder, cache)
    kept = cache / "catalog.json"
    kept.write_text(tamper(kept.read_text()))
    assert _load(folder, cache) == expected
    _unparsable(monkeypatch)  # the copy was written again from the rule files
    assert _load(folder, cache) == expected
