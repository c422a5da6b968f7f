"""Line and column positions of a parsed module's nodes, the way libcst's ``PositionProvider`` computes them, for
a tenth of its cost.

Positions come from generating the module's code and counting lines and columns as tokens are added, exactly
as libcst's provider does (the same hooks: ``before_codegen``/``after_codegen`` around every node, and
``record_syntactic_position`` where a node's syntactic extent differs from the code it owns). What makes libcst's
provider slow is around that pass: a metadata wrapper visit of the whole tree and a ``CodeRange`` object built for
every node. Here every node gets a pair of tuples, and a ``CodeRange`` is only built for a node that is asked for:
the few a file reports. And only the statements that hold those nodes are generated (see :class:`Positions`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange

from reviewer.checks.base import children, descendants
from reviewer.source import Outline, StatementLine

NEWLINE = re.compile(r"\r\n?|\n")
Point = tuple[int, int]  # (line, 1-based; column, 0-based)


class _SyntacticExtent:
    """``record_syntactic_position``'s context: the node spans what its body generates, or is hoisted to the
    start of ``start_node`` and the end of ``end_node``. A plain class, cheaper than a generator context manager."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(self, state: _PositionState, node: cst.CSTNode, start_node: Any, end_node: Any) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exc_info: object) -> bool:
        state = self.state
        start = state.spans[self.start_node][0] if self.start_node is not None else self.start
        end = state.spans[self.end_node][1] if self.end_node is not None else (state.line, state.column)
        state.spans[self.node] = (start, end)
        return False


@dataclass
class _PositionState(CodegenState):
    line: int = 1
    column: int = 0
    stack: list[Point] = field(default_factory=list)
    spans: dict[cst.CSTNode, tuple[Point, Point]] = field(default_factory=dict)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        if node not in self.spans:  # a syntactic position recorded inside the node wins
            self.spans[node] = (start, (self.line, self.column))

    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> _SyntacticExtent:
        return _SyntacticExtent(self, node, start_node, end_node)


class _Placement(NamedTuple):
    """Where a statement not generated yet goes."""

    line: int  # the line its generated code starts on
    statement_line: int  # the line libcst's position of the statement starts on (after decorators)
    anchor: cst.CSTNode  # a node of it whose line the stdlib parser gives (to check the placement against)
    anchor_line: int
    indents: tuple[str, ...]  # the indentation of the blocks it is in
    body: list[StatementLine] | None  # for a def or class: where the statements of its body are


class Positions:
    """Node -> ``CodeRange``, as libcst's ``PositionProvider`` would give, built on access.

    Only the statements holding the nodes asked for are generated, each from the line the stdlib parser puts it on
    (the file's :class:`~reviewer.source.Outline`, which the parse gives): a file reports on a few statements, and
    generating all of its code costs half its parse. Inside a def or class, only the statements of its body that
    hold those nodes are, and so on down (a finding in a method of a 1,000-line model class generates the statement
    of that method it is in). Where the stdlib parser cannot place the statements (syntax newer than the running
    Python), or a generated statement does not land where it says, the whole module is generated instead.
    """

    def __init__(self, module: cst.Module, outline: Outline | None) -> None:
        self._module = module
        self._spans: dict[cst.CSTNode, tuple[Point, Point]] = {}
        # Statements not generated yet: the module's, and those of the bodies of defs and classes generated in parts.
        self._pending = _placements(module.body, outline.statements, ()) if outline is not None else None
        # Defs and classes whose bodies were generated in parts: their own nodes are generated only if asked for.
        self._in_parts: dict[cst.CSTNode, _Placement] = {}
        if self._pending is None:
            self._generate_module()

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        if node not in self._spans:
            self.require((node,))
        (start_line, start_column), (end_line, end_column) = self._spans[node]
        return CodeRange(CodePosition(start_line, start_column), CodePosition(end_line, end_column))

    def get(self, node: cst.CSTNode) -> CodeRange | None:
        return self[node] if node in self else None

    def __contains__(self, node: object) -> bool:
        if node not in self._spans and isinstance(node, cst.CSTNode):
            self.require((node,))
        return node in self._spans

    def require(self, nodes: Iterable[cst.CSTNode]) -> None:
        """Generate the statements holding ``nodes``, with one pass over the statements not generated yet."""
        wanted = {id(node): node for node in nodes if node not in self._spans}
        if not wanted or self._pending is None:
            return
        # (statement, where it goes, whether it is known to hold a node asked for)
        work = [(statement, placement, False) for statement, placement in self._pending.items()]
        while work:
            statement, placement, holds = work.pop()
            if statement in self._spans:
                continue  # generated with the def or class it is in
            # A def or class is split before it is searched: its parts are searched one by one anyway.
            parts = self._parts(statement, placement, wanted)
            if parts is not None:
                holding = [(part, where, True) for part, where in parts.items() if _holds(part, wanted)]
                if holding:
                    del self._pending[statement]
                    self._in_parts[statement] = placement
                    self._pending.update(parts)
                    work += holding
                continue
            if not (holds or _holds(statement, wanted)):
                continue
            wanted = self._generate_for(statement, placement, wanted)
            if not wanted:
                return
        # A node of a def or class generated in parts (its decorators, signature or bases), ...
        for statement, placement in list(self._in_parts.items()):
            if statement not in self._spans and _holds(statement, wanted):
                wanted = self._generate_for(statement, placement, wanted)
                if not wanted:
                    return
        # ... else the module itself, its header or footer comments, or a node from elsewhere.
        self._generate_module()

    def first_line(self, node: cst.CSTNode) -> int:
        """The line ``node`` starts on. A def or class not generated yet is not generated for it: the stdlib parser
        gives it the line libcst does, and a finding made in a class's own scope (about the class) needs the
        class's first line to match suppression comments, not the code of all its methods."""
        if self._pending is not None and node not in self._spans and type(node) in (cst.FunctionDef, cst.ClassDef):
            placement = self._pending.get(node) or self._in_parts.get(node)
            if placement is not None:
                return placement.statement_line
        return self[node].start.line

    def of_type(self, *types: type) -> Iterator[tuple[cst.CSTNode, CodeRange]]:
        """The positions of the nodes of some exact types (a type test, not ``isinstance``, which is slow for
        libcst's abstract node classes) among the statements generated so far: those holding the nodes asked for."""
        for node in self._spans:
            if type(node) in types:
                yield node, self[node]

    def _parts(
        self, statement: cst.CSTNode, placement: _Placement, wanted: dict[int, cst.CSTNode]
    ) -> dict[cst.CSTNode, _Placement] | None:
        """Where the statements of a def's or class's body go, to generate those holding the nodes asked for instead
        of all of it. None when it is generated whole: not a def or class with an indented body the stdlib parser
        places, or a node asked for is the statement itself or in its decorators, signature or bases."""
        body = getattr(statement, "body", None)
        if placement.body is None or not isinstance(body, cst.IndentedBlock):
            return None
        if id(statement) in wanted or id(body) in wanted:
            return None
        for child in children(statement):
            if child is not body and _holds(child, wanted):
                return None
        indent = self._module.default_indent if body.indent is None else body.indent
        return _placements(body.body, placement.body, (*placement.indents, indent))

    def _generate_for(
        self, statement: cst.CSTNode, placement: _Placement, wanted: dict[int, cst.CSTNode]
    ) -> dict[int, cst.CSTNode]:
        """Generate a statement holding nodes asked for; the nodes still wanted after it (none once the whole
        module had to be generated)."""
        if not self._generate(statement, placement):
            return {}
        return {key: node for key, node in wanted.items() if node not in self._spans}

    def _generate(self, statement: cst.CSTNode, placement: _Placement) -> bool:
        """Generate one statement from its line; False (and the whole module generated) when it does not land where
        the stdlib parser put it."""
        assert self._pending is not None
        self._pending.pop(statement, None)
        self._in_parts.pop(statement, None)
        state = _PositionState(
            default_indent=self._module.default_indent, default_newline=self._module.default_newline,
            line=placement.line, indent_tokens=list(placement.indents),
        )
        statement._codegen(state)
        anchor_span = state.spans.get(placement.anchor)
        if anchor_span is None or anchor_span[0][0] != placement.anchor_line:
            self._generate_module()
            return False
        self._spans.update(state.spans)
        return True

    def _generate_module(self) -> None:
        state = _PositionState(default_indent=self._module.default_indent, default_newline=self._module.default_newline)
        self._module._codegen(state)
        self._spans = state.spans
        self._pending = None
        self._in_parts = {}


def _holds(statement: cst.CSTNode, wanted: dict[int, cst.CSTNode]) -> bool:
    return id(statement) in wanted or any(id(node) in wanted for node in descendants(statement))


def _placements(
    statements: Sequence[cst.BaseStatement], lines: list[StatementLine], indents: tuple[str, ...]
) -> dict[cst.CSTNode, _Placement] | None:
    """Per statement of a block: where its generated code starts, and a node of it with the line the stdlib parser
    gives that node (to check the placement against). None when the stdlib parser counts the statements
    differently."""
    placements: dict[cst.CSTNode, _Placement] = {}
    index = 0
    for statement in statements:
        if index >= len(lines):
            return None
        line, decorator_line, body = lines[index]
        lines_before = len(statement.leading_lines)
        if isinstance(statement, cst.SimpleStatementLine):
            anchor: cst.CSTNode = statement.body[0]
            anchor_line = line
            index += len(statement.body)
        elif getattr(statement, "decorators", ()):
            if decorator_line is None:
                return None
            first = statement.decorators[0]  # type: ignore[attr-defined]
            anchor, anchor_line = first.decorator, decorator_line
            lines_before += len(first.leading_lines)
            index += 1
        else:
            anchor, anchor_line = statement, line
            index += 1
        placements[statement] = _Placement(anchor_line - lines_before, line, anchor, anchor_line, indents, body)
    return placements if index == len(lines) else None
