"""Line and column positions of a parsed module's nodes, the way libcst's ``PositionProvider`` computes them, for
a tenth of its cost.

Positions come from generating the module's code once and counting lines and columns as tokens are added, exactly
as libcst's provider does (the same hooks: ``before_codegen``/``after_codegen`` around every node, and
``record_syntactic_position`` where a node's syntactic extent differs from the code it owns). What makes libcst's
provider slow is around that pass: a metadata wrapper visit of the whole tree and a ``CodeRange`` object built for
every node. Here every node gets a pair of tuples, and a ``CodeRange`` is only built for a node that is asked for:
the few a file reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange

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


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node -> ``CodeRange``, as libcst's ``PositionProvider`` would give, built on access."""

    def __init__(self, module: cst.Module) -> None:
        state = _PositionState(default_indent=module.default_indent, default_newline=module.default_newline)
        module._codegen(state)
        self._spans = state.spans

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        (start_line, start_column), (end_line, end_column) = self._spans[node]
        return CodeRange(CodePosition(start_line, start_column), CodePosition(end_line, end_column))

    def __contains__(self, node: object) -> bool:
        return node in self._spans

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def of_type(self, *types: type) -> Iterator[tuple[cst.CSTNode, CodeRange]]:
        """The positions of the nodes of some exact types only (cheaper than ``items()`` over the whole tree; a type
        test, not ``isinstance``, which is slow for libcst's abstract node classes)."""
        for node in self._spans:
            if type(node) in types:
                yield node, self[node]
