"""The engine's positions are exactly libcst's PositionProvider's, for every node of real and tricky code."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from reviewer.positions import Positions
from reviewer.source import Parsed, SourceError, parse

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


def assert_same_positions(parsed: Parsed) -> None:
    """Every node, asked for one at a time in an order unrelated to the source's, so that statements are generated
    one by one, out of order."""
    expected = MetadataWrapper(parsed.module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = Positions(*parsed)
    nodes = sorted(expected, key=lambda node: hash(type(node).__name__) ^ id(node))
    assert all(ours[node] == expected[node] for node in nodes)


def generates_whole_module(parsed: Parsed) -> bool:
    ours = Positions(*parsed)
    ours.require([parsed.module.body[-1]] if parsed.module.body else [])
    return all(statement in ours._spans for statement in parsed.module.body)


@pytest.mark.parametrize("code", TRICKY)
def test_tricky_code(code: str) -> None:
    assert_same_positions(parse(code, "m.py"))


def test_statements_are_generated_only_when_asked_for() -> None:
    code = "import os\n\n\n# about f\n@decorator\n\n# more\n@other(\n  1)\ndef f():\n    pass\nx = 1; y = 2\n"
    parsed = parse(code, "m.py")
    ours = Positions(*parsed)
    assignment = parsed.module.body[2].body[1]
    assert ours[assignment].start.line == 12
    assert parsed.module.body[1] not in ours._spans
    assert not generates_whole_module(parsed)


@pytest.mark.parametrize("code", [
    "type Alias = list[int]\nx = 1\n",  # newer syntax than the stdlib parser of Python 3.11 knows
    "x = 1\n# trailing comment\n",  # a node outside every statement: the module's footer
])
def test_the_whole_module_is_generated_where_statements_cannot_be_placed(code: str) -> None:
    assert_same_positions(parse(code, "m.py"))


def test_a_misplaced_statement_falls_back_to_the_whole_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the stdlib parser's lines and libcst's ever disagree, the check on each generated statement catches
    it and the positions are still exact."""
    import reviewer.positions as positions

    placed = positions._placements

    def one_line_off(statements, lines, indents):
        return {statement: placement._replace(line=placement.line + 1)
                for statement, placement in placed(statements, lines, indents).items()}

    monkeypatch.setattr(positions, "_placements", one_line_off)
    parsed = parse("x = 1\n\ndef f():\n    return 2\n", "m.py")
    assert generates_whole_module(parsed)
    assert_same_positions(parsed)
    # In a def's body too: the return statement alone is asked for, and lands a line off.
    ours = Positions(*parsed)
    returned = parsed.module.body[1].body.body[0]
    assert ours[returned] == MetadataWrapper(parsed.module, unsafe_skip_copy=True).resolve(PositionProvider)[returned]
    assert all(statement in ours._spans for statement in parsed.module.body)


MODEL = """\
import models


@register
class Order(models.Model):
    \"\"\"An order.\"\"\"

    total = models.IntegerField()

    # Lines of it.
    class Meta:
        ordering = ["-id"]

    def paid(self):
        return self.total > 0

    @property
    def lines(self):
        if self.total:
            return [line for line in self.items.all()]  # the node asked for
        return []
"""


def test_only_the_statements_of_a_class_body_holding_the_nodes_are_generated() -> None:
    parsed = parse(MODEL, "m.py")
    order = parsed.module.body[1]
    meta, paid, lines = order.body.body[2:]
    comprehension = lines.body.body[0].body.body[0].body[0].value
    ours = Positions(*parsed)
    expected = MetadataWrapper(parsed.module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert ours[comprehension] == expected[comprehension]
    assert ours[comprehension].start.line == 20
    for statement in (order, meta, paid, lines):
        assert statement not in ours._spans
    # Asking for the class's own decorator afterwards generates the class, not the module.
    decorator = order.decorators[0].decorator
    assert ours[decorator] == expected[decorator]
    assert order in ours._spans and parsed.module.body[0] not in ours._spans
    assert_same_positions(parsed)


def test_the_first_line_of_a_def_or_class_is_the_stdlib_parsers() -> None:
    parsed = parse(MODEL, "m.py")
    order = parsed.module.body[1]
    lines = order.body.body[4]
    ours = Positions(*parsed)
    ours.require([lines.body.body[0]])
    assert (ours.first_line(order), ours.first_line(lines)) == (5, 18)
    assert order not in ours._spans and lines not in ours._spans  # neither was generated for it
    assert (ours[order].start.line, ours[lines].start.line) == (5, 18)


def test_a_node_of_the_class_itself_generates_the_whole_class() -> None:
    parsed = parse(MODEL, "m.py")
    order = parsed.module.body[1]
    base = order.bases[0].value
    inner = order.body.body[3].body.body[0]
    ours = Positions(*parsed)
    ours.require([base, inner])
    assert order in ours._spans and parsed.module.body[0] not in ours._spans


def test_every_fixture_file() -> None:
    files = sorted(FIXTURES.rglob("*.py"))
    assert len(files) > 100
    for path in files:
        try:
            parsed = parse(path.read_text(encoding="utf-8"), path.name)
        except (SourceError, UnicodeDecodeError):
            continue  # the hostile-input fixtures
        assert_same_positions(parsed)


def test_positions_by_type() -> None:
    parsed = parse("class A:\n    def f(self):\n        pass\nclass B:\n    pass\n", "m.py")
    positions = Positions(*parsed)
    positions.require([parsed.module.body[0]])
    found = {node.name.value: where.start.line for node, where in positions.of_type(cst.FunctionDef, cst.ClassDef)}
    assert found == {"A": 1, "f": 2}  # B's statement holds nothing asked for

