"""Shared helpers of the checks: literal values read without compiling them."""

from __future__ import annotations

import libcst as cst
import pytest

from reviewer.checks.base import string_value


@pytest.mark.parametrize("literal", ['"abc"', "'abc'", '"""a\nb"""', "'''x'''", 'r"a\\b"', '"a\\nb"', '""', "''",
                                     'u"x"', '"""a\r\nb"""', '""""""', "'\"'"])
def test_string_values_without_evaluation_match_python(literal: str) -> None:
    node = cst.parse_expression(literal) if "\r" not in literal else \
        cst.parse_module(f"x = {literal}\n").body[0].body[0].value
    assert string_value(node) == node.evaluated_value
