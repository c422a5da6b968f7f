"""The engine's positions are exactly libcst's PositionProvider's, for every node of real and tricky code."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from reviewer.positions import Positions

FIXTURES = Path(__file__).parent / "fixtures"
TRICKY = [
    "x = 1\r\ny = (\r\n  2)\r\n",
    "x = 1\ry = 2\r",
    "@decorator\n# comment\nasync def f(a, /, *, b=1) -> int:\n    '''doc'''\n    return [i async for i in a]\n",
    "class A(B, metaclass=M):\n\tdef f(self): pass\n",
    'x = f"{a!r:>{width}}" "plain" \\\n    "next"\nif (y := 2) and not x: pass\n',
    "try:\n    pass\nexcept* ValueError as e:\n    raise\nfinally:\n    del x[1:2, ::3]\n",
    "match p:\n    case {'k': [1, *rest]} if rest:\n        pass\n    case _:\n        pass\n",
    "",
    "# only a comment",
]


def assert_same_positions(module: cst.Module) -> None:
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = Positions(module)
    assert len(ours) == len(expected)
    assert all(ours[node] == where for node, where in expected.items())


@pytest.mark.parametrize("code", TRICKY)
def test_tricky_code(code: str) -> None:
    assert_same_positions(cst.parse_module(code))


def test_every_fixture_file() -> None:
    files = sorted(FIXTURES.rglob("*.py"))
    assert len(files) > 100
    for path in files:
        try:
            module = cst.parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue  # the hostile-input fixtures
        assert_same_positions(module)


def test_positions_by_type() -> None:
    module = cst.parse_module("class A:\n    def f(self):\n        pass\n")
    found = {node.name.value: where.start.line for node, where in Positions(module).of_type(cst.FunctionDef,
                                                                                            cst.ClassDef)}
    assert found == {"A": 1, "f": 2}

