"""The README stays true: its rule table is the catalog's, and CI runs its test command verbatim."""

from __future__ import annotations

from pathlib import Path

from reviewer.catalog import load_catalog, markdown_table

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_catalog() -> None:
    start = README.index("<!-- rules-table -->\n") + len("<!-- rules-table -->\n")
    end = README.index("<!-- end-rules-table -->")
    assert README[start:end] == markdown_table(list(load_catalog().values())), (
        "regenerate with: reviewer rules --markdown"
    )


def test_ci_runs_the_readme_test_command() -> None:
    ci_commands = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                   if line and not line.startswith(("#", "set ", "cd "))]
    assert len(ci_commands) == 1
    assert ci_commands[0] in README
