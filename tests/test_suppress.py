"""Inline suppressions: which comments count, where they apply, and unused ones reported as RV001."""

from __future__ import annotations

import pytest
from conftest import FlagCalls, FlagTarget

from reviewer.analysis import analyze_text
from reviewer.suppress import find_suppressions


def _codes(text: str) -> dict[int, frozenset[str] | None]:
    return {line: s.codes for line, s in find_suppressions(text).items()}


# -- finding the comments ---------------------------------------------------------------------------------------

def test_bare_suppression() -> None:
    found = find_suppressions("x = 1\ny = 2  # reviewer: ignore\n")
    assert list(found) == [2]
    assert found[2].codes is None
    assert found[2].column == 8  # 1-based column of the '#'
    assert found[2].covers("RV201") and found[2].covers("RV999")


def test_with_ids() -> None:
    found = find_suppressions("x = 1  # reviewer: ignore[RV201]\n")
    assert found[1].codes == {"RV201"}
    assert found[1].covers("RV201") and not found[1].covers("RV301")


@pytest.mark.parametrize("comment", [
    "# reviewer: ignore[RV201, RV301]",
    "# reviewer: ignore[RV201,RV301,]",
    "# reviewer: ignore[ RV201 RV301 ]",
    "#reviewer:ignore[rv201, Rv301]",
    "# REVIEWER: IGNORE[rv201, RV301]",
    "# noqa  # Reviewer: Ignore[RV201,RV301]",
])
def test_several_ids_in_any_case(comment: str) -> None:
    assert _codes(f"x = 1  {comment}\n") == {1: {"RV201", "RV301"}}


def test_not_suppressions() -> None:
    text = (
        "a = 1  # reviewer: ignored because reasons\n"
        "b = 2  # reviewer: ignore-next-line\n"
        "c = 3  # reviewer: ignore[RV201\n"  # an unclosed bracket must not become a blanket suppression
        "d = 4  # reviewer ignore\n"
    )
    assert find_suppressions(text) == {}


def test_inside_string_literals_does_not_count() -> None:
    text = (
        's = "# reviewer: ignore"\n'
        "doc = '''\n"
        "# reviewer: ignore[RV201]\n"
        "'''\n"
        "f = f'{x} # reviewer: ignore'\n"
        "t = 1  # reviewer: ignore[RV301]\n"
    )
    assert _codes(text) == {6: {"RV301"}}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["x = 1", "y = 2  # reviewer: ignore[RV201]", "z = 3", ""])
    found = find_suppressions(text)
    assert list(found) == [2]
    assert found[2].column == 8


def test_broken_tokenization_keeps_what_was_found() -> None:
    assert _codes("x = 1  # reviewer: ignore\ny = (\n") == {1: None}


# -- applying them in the engine -----------------------------------------------------------------------------------

def test_suppressed_finding_is_counted_not_reported(stand_ins) -> None:
    text = "a = target  # reviewer: ignore[RV901]\nb = target  # reviewer: ignore[RV902]\nc = target  # reviewer: ignore\n"
    result = analyze_text(text, "m.py", "m", False, stand_ins())
    assert [f.span.line for f in result.findings] == [2]  # RV902 does not cover RV901
    assert result.suppressed == 2


def test_case_insensitive_ids_suppress(stand_ins) -> None:
    result = analyze_text("a = target  # reviewer: ignore[rv901]\n", "m.py", "m", False, stand_ins())
    assert result.findings == [] and result.suppressed == 1


def test_first_line_of_a_multiline_statement_covers_the_statement(stand_ins) -> None:
    text = (
        "value = compute(  # reviewer: ignore[RV901]\n"
        "    target,\n"
        "    other=target,\n"
        ")\n"
        "again = compute(\n"
        "    target,  # reviewer: ignore[RV901]\n"
        "    target,\n"
        ")  # reviewer: ignore[RV901]\n"
    )
    result = analyze_text(text, "m.py", "m", False, stand_ins())
    # Lines 2-3 are covered by line 1; line 6 by its own comment; line 7 by nothing (a comment on the last line
    # of a statement is not its first line).
    assert [f.span.line for f in result.findings] == [7]
    assert result.suppressed == 3


def test_suppression_in_a_string_does_not_suppress(stand_ins) -> None:
    result = analyze_text('x = (target, "# reviewer: ignore")\n', "m.py", "m", False, stand_ins())
    assert [f.rule_id for f in result.findings] == ["RV901"]
    assert result.suppressed == 0


def test_cr_only_file_suppression_positions(stand_ins) -> None:
    text = "x = 1\rtarget = 2  # reviewer: ignore[RV901]\rtarget = 3\r"
    result = analyze_text(text, "m.py", "m", False, stand_ins(with_unused_suppressions=True))
    assert [(f.rule_id, f.span.line) for f in result.findings] == [("RV901", 3)]
    assert result.suppressed == 1


# -- unused suppressions (RV001) -----------------------------------------------------------------------------------

def test_unused_suppressions_are_reported_when_rv001_is_enabled(stand_ins) -> None:
    text = (
        "a = target  # reviewer: ignore[RV901]\n"  # used
        "b = 1  # reviewer: ignore[RV901]\n"  # unused
        "c = 2  # reviewer: ignore\n"  # unused, bare
        "d = 3  # reviewer: ignore[RV999]\n"  # unknown id
        "e = target  # reviewer: ignore\n"  # used, bare
        "f = 4  # reviewer: ignore[RV902]\n"  # RV902 is not enabled: not known to be unused
    )
    result = analyze_text(text, "m.py", "m", False, stand_ins((FlagTarget,), with_unused_suppressions=True))
    reported = sorted((f.span.line, f.message) for f in result.findings)
    assert reported == [
        (2, "Unused suppression: no RV901 finding on this line"),
        (3, "Unused suppression: no finding on this line"),
        (4, "Suppression names unknown rule id(s): RV999"),
    ]
    assert {f.rule_id for f in result.findings} == {"RV001"}
    span = next(f.span for f in result.findings if f.span.line == 2)
    assert (span.column, span.end_column) == (8, len("b = 1  # reviewer: ignore[RV901]") + 1)


def test_unused_suppressions_are_silent_without_rv001(stand_ins) -> None:
    result = analyze_text("b = 1  # reviewer: ignore[RV901]\n", "m.py", "m", False, stand_ins())
    assert result.findings == []


def test_unused_suppression_in_a_file_that_is_not_parsed(stand_ins) -> None:
    plan = stand_ins((FlagCalls,), with_unused_suppressions=True)
    result = analyze_text("x = 1  # reviewer: ignore[RV902]\n", "m.py", "m", False, plan)
    assert not result.parsed
    assert [f.message for f in result.findings] == ["Unused suppression: no RV902 finding on this line"]



def test_a_suppression_naming_rv001_is_kept_on_purpose() -> None:
    from conftest import build_plan

    from reviewer.analysis import analyze_text

    plan = build_plan(with_unused_suppressions=True)
    kept = analyze_text("x = 1  # reviewer: ignore[RV201, RV001]\n", "a.py", "a", False, plan)
    assert kept.findings == []
    reported = analyze_text("x = 1  # reviewer: ignore[RV901]\n", "a.py", "a", False, plan)
    assert [f.rule_id for f in reported.findings] == ["RV001"]


def test_a_comment_on_the_class_line_covers_a_finding_about_the_class() -> None:
    """The finding is made in the class's own scope, on a line of its ``Meta``: the class's first line, found
    without generating the class, matches the comment."""
    from conftest import rule_plan

    text = (
        "from rest_framework import serializers\n"
        "\n"
        "class OrderSerializer(serializers.ModelSerializer):  # reviewer: ignore[RV107]\n"
        "    class Meta:\n"
        "        model = Order\n"
        "        fields = '__all__'\n"
        "\n"
        "    def total(self):\n"
        "        return 1\n"
        "\n"
        "class LineSerializer(serializers.ModelSerializer):\n"
        "    class Meta:\n"
        "        fields = '__all__'\n"
    )
    result = analyze_text(text, "m.py", "m", False, rule_plan("RV107"))
    assert result.suppressed == 1
    assert [candidate.finding.span.line for candidate in result.candidates] == [13]
