"""What every check stands on: the per-file context (import table, scopes, enclosing statements) and the
:class:`Check` base class.

Names are resolved through a light import table that the :class:`ScopeTracker` fills while the single batched
traversal walks the tree, instead of libcst's ``ScopeProvider`` (which costs several times the parse). Resolution is
syntactic and flow-insensitive within a scope, which is what a reviewer reading the code would assume:

- ``import requests as r`` makes ``r.get`` resolve to ``requests.get``;
- ``from os import path`` makes ``path.join`` resolve to ``os.path.join``; relative imports use the module's package;
- ``s = requests.Session()`` (or ``with requests.Session() as s``) makes ``s.get`` resolve to
  ``requests.Session().get``: a ``()`` segment marks "the result of calling"; ``[]`` marks a subscript;
- ``self.client = httpx.Client()`` in any method makes ``self.client`` resolve in the class's other methods;
- a parameter, loop target or other local binding shadows an import, so ``def f(requests): requests.get()``
  resolves to nothing; an unbound name that is a builtin resolves to ``builtins.<name>``.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import re
import traceback
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.fixes import NodeFix

BUILTIN_NAMES = frozenset(dir(builtins))


def _concrete_subclasses(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | _concrete_subclasses(sub)
    return found


# Nodes that are statements: a finding inside one can be suppressed by a comment on the statement's first line.
STATEMENT_TYPES = frozenset({cst.SimpleStatementLine} | _concrete_subclasses(cst.BaseCompoundStatement))
UNKNOWN = None  # a binding whose value cannot be resolved: it shadows outer names
_NO_LOOP = object()


@dataclass
class Frame:
    kind: str  # "module", "class", "function", "lambda", "comprehension"
    node: cst.CSTNode | None
    is_async: bool = False
    bindings: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Report:
    """A finding as a check sees it: a node, not yet a position."""

    rule_id: str
    node: cst.CSTNode
    statement: cst.CSTNode | None
    message: str
    requires: tuple[str, str] | None = None
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    redact: tuple[str, ...] = ()  # secret values the finding's snippet must never show
    fix: NodeFix | None = None


class FileContext:
    """What the checks of one file share: where they are, how names resolve, and what they report."""

    def __init__(self, path: str, module: str, is_package: bool, source: str) -> None:
        self.path = path
        self.module = module
        self.is_package = is_package
        self.source = source
        self.frames: list[Frame] = [Frame("module", None)]
        self.statements: list[cst.CSTNode] = []
        # Enclosing loops (For, While, or a comprehension node), innermost last; None marks a scope boundary (a
        # function body does not run per iteration of a loop it is defined in).
        self.loops: list[cst.CSTNode | None] = []
        self.reports: list[Report] = []
        self.facts: dict[str, list[tuple]] = {}
        # Facts that end with where they are: the engine appends the node's span (see add_fact).
        self.located_facts: list[tuple[str, tuple, cst.CSTNode]] = []
        self.failures: list[tuple[str, str]] = []  # (rule id, error)
        # qualified_name's answers by node identity, while no binding changes: a dozen checks ask about the same
        # call in a row. Only the methods below change bindings, and each clears it.
        self._qualified: dict[int, str | None] = {}

    # -- where we are ---------------------------------------------------------------------------------------------

    @property
    def function_frame(self) -> Frame | None:
        """The innermost function or lambda, unless a class body is nearer (a class body runs at definition).
        Comprehensions run in their function, so their frames are looked through."""
        for frame in reversed(self.frames):
            if frame.kind in ("function", "lambda"):
                return frame
            if frame.kind == "class":
                return None
        return None

    @property
    def function_node(self) -> cst.CSTNode | None:
        """The node of :attr:`function_frame`, or None: what checks key per-function state by."""
        frame = self.function_frame
        return frame.node if frame is not None else None

    @property
    def in_async_function(self) -> bool:
        """Directly inside an ``async def``: nested sync ``def``s, lambdas and class bodies are not async context."""
        frame = self.function_frame
        return frame is not None and frame.is_async

    @property
    def current_loop(self) -> cst.CSTNode | None:
        """The innermost loop whose every iteration runs the current node: the body of a ``for`` (not its
        iterable, evaluated once), a ``while``'s test and body, a comprehension's element, conditions and inner
        iterables; or None. ``else`` blocks run once and are not in the loop."""
        return self.loops[-1] if self.loops else None

    @property
    def at_module_level(self) -> bool:
        return len(self.frames) == 1

    @property
    def in_module_class_body(self) -> bool:
        """Directly in the body of a module-level class (where models, serializers and views declare fields)."""
        return len(self.frames) == 2 and self.frames[1].kind == "class"

    @property
    def statement(self) -> cst.CSTNode | None:
        return self.statements[-1] if self.statements else None

    # -- names ------------------------------------------------------------------------------------------------------

    def qualify(self, name: str) -> str:
        """The qualified name of a module-level definition in this file."""
        return f"{self.module}.{name}" if self.module else name

    def push_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._qualified.clear()

    def pop_frame(self) -> None:
        self.frames.pop()
        self._qualified.clear()

    def bind(self, name: str, value: str | None) -> None:
        self.frames[-1].bindings[name] = value
        self._qualified.clear()

    def bind_attribute_of_self(self, attribute: str, value: str | None) -> None:
        """``self.x = ...`` in a method: visible as ``self.x`` in every method of the class."""
        self._qualified.clear()
        for frame in reversed(self.frames):
            if frame.kind == "class":
                frame.bindings[f"self.{attribute}"] = value
                return

    def lookup(self, dotted: str) -> tuple[bool, str | None]:
        """Find the binding of a plain or ``self.``-dotted name, following Python's scoping (class bodies are not
        enclosing scopes of their methods, except for the ``self.x`` attributes recorded on them)."""
        if dotted.startswith("self."):
            for frame in reversed(self.frames):
                if frame.kind == "class":
                    return (True, frame.bindings[dotted]) if dotted in frame.bindings else (False, None)
            return False, None
        innermost = len(self.frames) - 1
        for index in range(innermost, -1, -1):
            frame = self.frames[index]
            if frame.kind == "class" and index != innermost:
                continue
            if dotted in frame.bindings:
                return True, frame.bindings[dotted]
        return False, None

    def qualified_name(
        self, node: cst.BaseExpression, unresolved: Callable[[cst.Name], str | None] | None = None
    ) -> str | None:
        """The canonical dotted name of an expression, or None when it cannot be resolved.

        ``unresolved`` lets a check name the root of a chain that the import table cannot (a rule that knows what
        some local values are); it is called with the root ``Name`` only when normal resolution gives nothing."""
        if unresolved is None:
            key = id(node)
            if key in self._qualified:
                return self._qualified[key]
            found = self._qualified[key] = self._qualified_name(node, None)
            return found
        return self._qualified_name(node, unresolved)

    def _qualified_name(
        self, node: cst.BaseExpression, unresolved: Callable[[cst.Name], str | None] | None
    ) -> str | None:
        # Here and in the other name readers below, exact types rather than isinstance: libcst's node classes are
        # abstract base classes, so an isinstance that fails goes through ABCMeta (these readers run for nearly
        # every expression), and none of these classes has subclasses.
        if type(node) is cst.Name:
            found, value = self.lookup(node.value)
            if not found and node.value in BUILTIN_NAMES:
                value = f"builtins.{node.value}"
            return value if value is not None or unresolved is None else unresolved(node)
        if type(node) is cst.Attribute:
            dotted = dotted_name(node)
            if dotted is not None and dotted.startswith("self."):
                # ``self.client.get``: the longest recorded ``self.x`` prefix wins.
                parts = dotted.split(".")
                for cut in range(len(parts), 1, -1):
                    found, value = self.lookup(".".join(parts[:cut]))
                    if found and value is not None:
                        return ".".join([value, *parts[cut:]])
                    if found:
                        break
            base = self.qualified_name(node.value, unresolved)
            return None if base is None else f"{base}.{node.attr.value}"
        if type(node) is cst.Call:
            base = self.qualified_name(node.func, unresolved)
            return None if base is None else f"{base}()"
        if type(node) is cst.Subscript:
            base = self.qualified_name(node.value, unresolved)
            return None if base is None else f"{base}[]"
        return None

    def may_derive_from(self, node: cst.ClassDef, libraries: tuple[str, ...], name_part: str) -> bool:
        """Whether the join step could find that class ``node`` derives from a class of ``libraries``: a base of
        theirs, a base named with ``name_part``, or a base this project defines (the same top-level package), whose
        own bases the join follows. Lets a check skip classes that cannot qualify before positions are paid for."""
        package = self.module.split(".", 1)[0]
        for arg in node.bases:
            base = self.qualified_name(arg.value) if arg.keyword is None else None
            if base is not None and (base.startswith(libraries) or name_part in base.rsplit(".", 1)[-1]
                                     or base.split(".", 1)[0] == package):
                return True
        return False

    def resolve_relative(self, relative_dots: int, module: str | None) -> str | None:
        """The absolute module named by ``from <dots><module> import ...``."""
        if relative_dots == 0:
            return module
        package_parts = self.module.split(".") if self.module else []
        if not self.is_package:
            package_parts = package_parts[:-1]
        up = relative_dots - 1
        if up > len(package_parts) or (up and up == len(package_parts)):
            return None  # above the top-level package
        base = package_parts[: len(package_parts) - up] if up else package_parts
        return ".".join([*base, *([module] if module else [])]) or None

    # -- results ----------------------------------------------------------------------------------------------------

    def add_fact(self, kind: str, record: tuple, at: cst.CSTNode | None = None) -> None:
        """Tell the rest of the project something. With ``at``, the record is completed with the node's position
        as a last element ``(line, column, end_line, end_column)`` so that a finding in another file can point
        here (only files with such facts or with reports pay for positions)."""
        if at is None:
            self.facts.setdefault(kind, []).append(record)
        else:
            self.located_facts.append((kind, record, at))


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


# -- reading code -------------------------------------------------------------------------------------------------


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a string literal, implicitly concatenated ones included (not f-strings, not bytes)."""
    if isinstance(node, cst.SimpleString):
        text = node.value
        # Most literals need no evaluation: no escapes, no prefix (libcst's evaluated_value compiles each one).
        if "\\" not in text and "\r" not in text and text[0] in "'\"":
            quote = text[:3] if text[:3] in ('"""', "'''") else text[0]
            return text[len(quote):-len(quote)]
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def subscript_index(node: cst.Subscript) -> cst.BaseExpression | None:
    """The one plain index of ``x[index]`` (not a slice, not a tuple of indices), or None."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return node.slice[0].slice.value
    return None


def subscript_key(node: cst.Subscript) -> str | None:
    """The string key of ``x["key"]``, or None."""
    return string_value(subscript_index(node))


def positional_arguments(call: cst.Call) -> list[cst.BaseExpression]:
    """The values passed by position (not ``*args``, not keywords)."""
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    """The ``name=...`` argument itself (to remove or replace it), or None."""
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == name), None)


def argument(call: cst.Call, position: int | None, *keywords: str) -> cst.BaseExpression | None:
    """An argument of ``call`` by one of its keyword names, else by its position among the positional ones."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    if position is not None:
        positional = positional_arguments(call)
        if position < len(positional):
            return positional[position]
    return None


def keyword_argument(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return argument(call, None, name)


def last_name(node: cst.BaseExpression) -> str | None:
    """The name a reader sees last: ``password`` in ``form.password``, ``user`` in ``request.user``."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return node.attr.value
    return None




def pattern_to_regex(pattern: str) -> str:
    """The regular expression for one ``blocking-calls`` / ``offload-wrappers`` pattern.

    ``*`` matches within one dotted segment, ``**`` across segments, ``{a,b}`` either alternative (alternatives may
    nest and contain dots); everything else, including the ``()`` and ``[]`` markers, is literal.
    """
    parts: list[str] = []
    depth = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^.]*")
        elif char == "{":
            depth += 1
            parts.append("(?:")
        elif char == "}":
            if not depth:
                raise ValueError(f"unmatched '}}' in pattern {pattern!r}")
            depth -= 1
            parts.append(")")
        elif char == "," and depth:
            parts.append("|")
        else:
            parts.append(re.escape(char))
        index += 1
    if depth:
        raise ValueError(f"unmatched '{{' in pattern {pattern!r}")
    return "".join(parts)


def shape(node: cst.BaseExpression) -> str:
    """How an expression reads, with call arguments and subscripts elided: ``Order.objects.filter().first``."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return f"{shape(node.value)}.{node.attr.value}"
    if type(node) is cst.Call:
        return f"{shape(node.func)}()"
    if type(node) is cst.Subscript:
        return f"{shape(node.value)}[...]"
    return "(...)"


def chained_calls(call: cst.Call) -> list[cst.Call]:
    """The calls inside a call's own chain: ``smtplib.SMTP(host)`` in ``smtplib.SMTP(host).sendmail()``."""
    found = []
    node: cst.BaseExpression = call.func
    while True:
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            found.append(node)
            node = node.func
        else:
            return found


def bound_names(target: cst.BaseExpression) -> list[str]:
    """The plain names an assignment or loop target binds."""
    return [name.value for name in _target_names(target)]


def _target_names(target: cst.BaseExpression) -> list[cst.Name]:
    if type(target) is cst.Name:
        return [target]
    if type(target) in (cst.Tuple, cst.List):
        names: list[cst.Name] = []
        for element in target.elements:
            names += _target_names(element.value)
        return names
    if type(target) is cst.StarredElement:
        return _target_names(target.value)
    return []


def _is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def _assign_targets(node: cst.Assign | cst.AnnAssign) -> list[cst.BaseExpression]:
    return [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]


def _self_assignments(suite: cst.BaseSuite) -> list[cst.Assign | cst.AnnAssign]:
    """Assignments in a function body, including nested blocks but not nested functions or classes."""
    found: list[cst.Assign | cst.AnnAssign] = []
    pending: list[cst.CSTNode] = list(suite.body) if isinstance(suite, cst.IndentedBlock) else [suite]
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            found += [s for s in node.body if isinstance(s, (cst.Assign, cst.AnnAssign)) and s.value is not None]
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(node, cst.BaseCompoundStatement):
            for field_name in ("body", "orelse", "handlers", "finalbody", "cases"):
                child = getattr(node, field_name, None)
                if isinstance(child, (list, tuple)):
                    pending += child
                elif isinstance(child, cst.IndentedBlock):
                    pending += child.body
                elif child is not None:
                    pending.append(child)
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler, cst.Else, cst.Finally, cst.MatchCase)):
            body = node.body
            pending += body.body if isinstance(body, cst.IndentedBlock) else [body]
    return found


class ScopeTracker:
    """Maintains a :class:`FileContext` during the batched traversal.

    It runs before a node's ``visit_X`` methods and after its ``leave_X`` methods, so a check sees the scope the
    node is in, and bindings made by a statement are visible from the next statement on. A ``FunctionDef``,
    ``Lambda`` or ``ClassDef`` node itself is in the enclosing scope; its body is in its own.
    """

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        # Bodies whose entry opens a scope, by node identity -> the function, lambda or class they belong to.
        self._scope_bodies: dict[int, cst.CSTNode] = {}
        # Nodes evaluated once per iteration of a loop, by node identity -> the loop.
        self._loop_regions: dict[int, cst.CSTNode] = {}

    # The hooks run for every node of every parsed file, so they dispatch on the exact node type with one dict
    # lookup: ``isinstance`` against libcst's abstract base classes is an order of magnitude slower.
    def enter(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind in STATEMENT_TYPES:
            self.ctx.statements.append(node)
        handler = _ON_ENTER.get(kind)
        if handler is not None:
            handler(self, node)
        scope = self._scope_bodies.get(id(node))
        if scope is not None:
            self._open_scope(scope)
            self.ctx.loops.append(None)
        if id(node) in self._loop_regions:
            self.ctx.loops.append(self._loop_regions[id(node)])

    def leave(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind in STATEMENT_TYPES:
            self.ctx.statements.pop()
        if self._loop_regions.pop(id(node), _NO_LOOP) is not _NO_LOOP:
            self.ctx.loops.pop()
        if self._scope_bodies.pop(id(node), None) is not None:
            self.ctx.pop_frame()
            self.ctx.loops.pop()
        handler = _ON_LEAVE.get(kind)
        if handler is not None:
            handler(self, node)

    # A function's or class's own scope starts at its body: decorators, parameter defaults, annotations and class
    # bases are evaluated in the enclosing scope.
    def _enter_function(self, node: cst.FunctionDef) -> None:
        self.ctx.bind(node.name.value, self.ctx.qualify(node.name.value) if self.ctx.at_module_level else UNKNOWN)
        self._scope_bodies[id(node.body)] = node

    def _enter_lambda(self, node: cst.Lambda) -> None:
        self._scope_bodies[id(node.body)] = node

    def _enter_class(self, node: cst.ClassDef) -> None:
        self.ctx.bind(node.name.value, self.ctx.qualify(node.name.value) if self.ctx.at_module_level else UNKNOWN)
        self._scope_bodies[id(node.body)] = node

    def _open_scope(self, owner: cst.CSTNode) -> None:
        ctx = self.ctx
        if isinstance(owner, cst.FunctionDef):
            ctx.push_frame(Frame("function", owner, is_async=owner.asynchronous is not None))
            self._bind_parameters(owner.params)
        elif isinstance(owner, cst.Lambda):
            ctx.push_frame(Frame("lambda", owner))
            self._bind_parameters(owner.params)
        else:
            ctx.push_frame(Frame("class", owner))
            self._bind_attributes_of_self(owner)

    def _bind_attributes_of_self(self, node: cst.ClassDef) -> None:
        """``self.x = ...`` anywhere in the class's methods, resolved up front so that every method sees it, whatever
        the order of the methods (the assignment itself rebinds it when reached, with what it knows by then)."""
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef):
                for assigned in _self_assignments(statement.body):
                    value = self.ctx.qualified_name(assigned.value)
                    if value is not None:
                        for target in _assign_targets(assigned):
                            if isinstance(target, cst.Attribute) and _is_self(target.value):
                                self.ctx.bind_attribute_of_self(target.attr.value, value)

    def _enter_comprehension(self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp) -> None:
        # The element is visited before the ``for`` clauses: bind every clause's target up front.
        self.ctx.push_frame(Frame("comprehension", node))
        per_item: list[cst.CSTNode] = (
            [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        )
        clause = node.for_in
        while clause is not None:
            self._bind_target(clause.target, UNKNOWN)
            per_item += clause.ifs
            if clause is not node.for_in:
                per_item.append(clause.iter)  # only the outermost iterable is evaluated once
            clause = clause.inner_for_in
        for part in per_item:
            self._loop_regions[id(part)] = node

    def _enter_for(self, node: cst.For) -> None:
        # A loop target shadows outer bindings; bound on entry so the body sees it.
        self._bind_target(node.target, UNKNOWN)
        self._loop_regions[id(node.body)] = node

    def _enter_while(self, node: cst.While) -> None:
        self._loop_regions[id(node.test)] = node
        self._loop_regions[id(node.body)] = node

    def _leave_comprehension(self, node: cst.CSTNode) -> None:
        self.ctx.pop_frame()

    def _leave_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.ctx.bind(alias.asname.name.value, full)
            else:
                head = full.split(".")[0]
                self.ctx.bind(head, head)

    def _leave_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module) if node.module is not None else None
        absolute = self.ctx.resolve_relative(len(node.relative), module)
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.ctx.bind(local, f"{absolute}.{alias.name.value}" if absolute else UNKNOWN)

    def _leave_assign(self, node: cst.Assign) -> None:
        value = self.ctx.qualified_name(node.value)
        for target in node.targets:
            self._bind_target(target.target, value)

    def _leave_annotated_assign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target, self.ctx.qualified_name(node.value) if node.value else UNKNOWN)

    def _leave_augmented_assign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target, UNKNOWN)

    def _leave_named_expr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, self.ctx.qualified_name(node.value))

    def _leave_with_item(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, self.ctx.qualified_name(node.item))

    def _leave_except_handler(self, node: cst.CSTNode) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, UNKNOWN)

    def _bind_parameters(self, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.ctx.bind(param.name.value, UNKNOWN)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.ctx.bind(star.name.value, UNKNOWN)

    def _bind_target(self, target: cst.BaseExpression, value: str | None) -> None:
        if isinstance(target, cst.Attribute) and _is_self(target.value):
            self.ctx.bind_attribute_of_self(target.attr.value, value)
            return
        names = _target_names(target)
        # Unpacking gives each name one element of the value: its name is unknown.
        for name in names:
            self.ctx.bind(name.value, value if isinstance(target, cst.Name) else UNKNOWN)


# The tracker's hooks by exact node type: plain functions of (tracker, node). Bound methods kept on the tracker would
# make it refer to itself, and that cycle would keep each file's tree alive until the garbage collector ran.
_ON_ENTER: dict[type, Callable[[ScopeTracker, Any], None]] = {
    cst.FunctionDef: ScopeTracker._enter_function,
    cst.Lambda: ScopeTracker._enter_lambda,
    cst.ClassDef: ScopeTracker._enter_class,
    cst.For: ScopeTracker._enter_for,
    cst.While: ScopeTracker._enter_while,
    cst.ListComp: ScopeTracker._enter_comprehension,
    cst.SetComp: ScopeTracker._enter_comprehension,
    cst.DictComp: ScopeTracker._enter_comprehension,
    cst.GeneratorExp: ScopeTracker._enter_comprehension,
}
_ON_LEAVE: dict[type, Callable[[ScopeTracker, Any], None]] = {
    cst.ListComp: ScopeTracker._leave_comprehension,
    cst.SetComp: ScopeTracker._leave_comprehension,
    cst.DictComp: ScopeTracker._leave_comprehension,
    cst.GeneratorExp: ScopeTracker._leave_comprehension,
    cst.Import: ScopeTracker._leave_import,
    cst.ImportFrom: ScopeTracker._leave_import_from,
    cst.Assign: ScopeTracker._leave_assign,
    cst.AnnAssign: ScopeTracker._leave_annotated_assign,
    cst.AugAssign: ScopeTracker._leave_augmented_assign,
    cst.NamedExpr: ScopeTracker._leave_named_expr,
    cst.WithItem: ScopeTracker._leave_with_item,
    cst.ExceptHandler: ScopeTracker._leave_except_handler,
    cst.ExceptStarHandler: ScopeTracker._leave_except_handler,
}

# Whitespace, comments and punctuation: no check looks at them as nodes (suppression comments are found with the
# tokenizer), and they are a large share of a tree's nodes.
UNVISITED_NODE_TYPES = (
    cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Newline, cst.Comment,
    cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.LeftParen, cst.RightParen,
    cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace,
)


@functools.cache
def _child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that can hold a visited node, going by libcst's annotations: whitespace and
    punctuation fields, most of a node's fields, are not read at all."""
    try:
        hints = typing.get_type_hints(node_type)
    except Exception:  # an annotation that does not resolve: read every field
        hints = {}
    return tuple(f.name for f in dataclasses.fields(node_type)
                 if f.name not in hints or _may_hold_visited(hints[f.name]))


def _may_hold_visited(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is not None:  # a union, a sequence...
        return any(_may_hold_visited(argument) for argument in typing.get_args(annotation))
    if not isinstance(annotation, type):
        return True  # a type variable or an unresolved name: cannot tell
    return issubclass(annotation, cst.CSTNode) and not issubclass(annotation, UNVISITED_NODE_TYPES)


_NODE, _SEQUENCE, _OTHER = 0, 1, 2
# Per value type: a node to visit, a sequence to look into, or anything else (values, skipped node types). A dict
# lookup instead of ``isinstance(value, cst.CSTNode)``: CSTNode is an abstract base class, and the check ran
# millions of times per project.
_VALUE_KINDS: dict[type, int] = {list: _SEQUENCE, tuple: _SEQUENCE}


def _value_kind(value_type: type) -> int:
    kind = _VALUE_KINDS.get(value_type)
    if kind is None:
        visited = issubclass(value_type, cst.CSTNode) and not issubclass(value_type, UNVISITED_NODE_TYPES)
        kind = _VALUE_KINDS[value_type] = _NODE if visited else _OTHER
    return kind


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children that the traversal visits (not whitespace or punctuation), in field order: source order
    except that decorators and class bases come after the body."""
    found: list[cst.CSTNode] = []
    for field_name in _child_fields(type(node)):
        value = getattr(node, field_name)
        kind = _VALUE_KINDS.get(type(value))
        if kind is None:
            kind = _value_kind(type(value))
        if kind == _NODE:
            found.append(value)
        elif kind == _SEQUENCE:
            found += [item for item in value if _value_kind(type(item)) == _NODE]
    return found


def walk(module: cst.Module, visitors: list[cst.BatchableCSTVisitor], tracker: ScopeTracker) -> None:
    """One traversal of ``module`` calling every visitor's ``visit_<Node>`` / ``leave_<Node>`` methods, with the
    tracker's hooks around them.

    The same contract as libcst's batched visit (visit methods cannot prune children, no ``visit_<Node>_<attr>``
    hooks), without its cost: libcst rebuilds and revalidates every node while visiting, which takes about half
    the parse time; reading the dataclass fields takes a tenth. Children are visited in field order, which is
    source order except that decorators and class bases come after the body.
    """
    methods: dict[str, list[Callable[[Any], Any]]] = {}
    for visitor in visitors:
        for name, method in visitor.get_visitors().items():
            methods.setdefault(name, []).append(method)
    dispatch: dict[type, tuple[tuple[Callable[[Any], Any], ...], tuple[Callable[[Any], Any], ...]]] = {}
    enter, leave = tracker.enter, tracker.leave

    def visit(node: cst.CSTNode) -> None:
        node_type = type(node)
        handlers = dispatch.get(node_type)
        if handlers is None:
            name = node_type.__name__
            handlers = dispatch[node_type] = (
                tuple(methods.get(f"visit_{name}", ())), tuple(methods.get(f"leave_{name}", ()))
            )
        enter(node)
        for method in handlers[0]:
            method(node)
        # children(node), inlined: building its list for each of a project's nodes costs a tenth of the walk.
        for field_name in _child_fields(node_type):
            value = getattr(node, field_name)
            kind = _VALUE_KINDS.get(type(value))
            if kind is None:
                kind = _value_kind(type(value))
            if kind == _NODE:
                visit(value)
            elif kind == _SEQUENCE:
                for item in value:
                    if _value_kind(type(item)) == _NODE:
                        visit(item)
        for method in handlers[1]:
            method(node)
        leave(node)

    try:
        visit(module)
    finally:
        # ``visit`` calls itself through its closure: a cycle that would keep the visitors, and with them the file's
        # tree, alive until the garbage collector ran. Clearing the name breaks it.
        visit = None  # type: ignore[assignment]


def descendants(node: cst.CSTNode, skip: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """The nodes below ``node`` that the traversal visits (not whitespace or punctuation), in its order: parents
    first, statements in source order, decorators and class bases after the body. Nodes of the ``skip`` types are
    yielded, their children are not. For a check that looks inside a subtree: libcst's ``visit`` rebuilds every
    node it passes."""
    pending = [node]
    while pending:
        current = pending.pop()
        if current is not node:
            yield current
            if type(current) in skip:
                continue
        pending += reversed(children(current))


class GuardedVisitor(cst.BatchableCSTVisitor):
    """A visitor whose failure is contained: an exception disables it for the current file and is recorded as a
    failure of ``owner``, and the other visitors of the batched traversal go on."""

    owner: ClassVar[str] = ""
    triggers: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def may_apply(cls, text: str, rel: str, options: dict[str, Any]) -> bool:
        """Whether this visitor can find anything in a file, judged from its text before it is parsed (a file no
        enabled visitor may apply to is not parsed): by default, whether it contains one of ``triggers``."""
        return not cls.triggers or any(trigger in text for trigger in cls.triggers)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.failed = False

    def get_visitors(self):
        # libcst finds the methods with inspect.getmembers, a few milliseconds per instance: once per class here.
        return {name: self._guarded(getattr(self, name)) for name in self._visitor_method_names()}

    @classmethod
    @functools.cache
    def _visitor_method_names(cls) -> tuple[str, ...]:
        """Visitor methods the check's own classes define (libcst's base classes declare one stub per node type)."""
        names: set[str] = set()
        for klass in cls.__mro__:
            if klass is GuardedVisitor:
                break
            names |= {name for name, member in vars(klass).items()
                      if name.startswith(("visit_", "leave_")) and callable(member)}
        return tuple(sorted(names))

    def _guarded(self, method):
        def run(node: cst.CSTNode) -> Any:
            if self.failed:
                return None
            try:
                return method(node)
            except RecursionError:
                raise
            except Exception as exc:
                self.failed = True
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.ctx.failures.append(
                    (self.owner, f"{type(exc).__name__}: {exc} (in {where.name}, line {where.lineno})")
                )
                return None

        return run


class FactCollector(GuardedVisitor):
    """Records what a file tells the rest of the project (``ctx.add_fact``) for the join step. Runs only when an
    enabled check lists its ``kind`` in ``requires_facts``."""

    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.owner = f"facts:{cls.kind}"


class Check(GuardedVisitor):
    """One rule: a libcst visitor bound to its :class:`RuleSpec` and options.

    Subclasses set ``rule_id``; ``triggers`` when the rule can only fire on files containing certain text (a file
    containing none of the enabled visitors' triggers is not parsed); and ``requires_facts`` naming the
    :class:`FactCollector` kinds whose project-wide facts their ``report(..., requires=...)`` calls rely on.
    Positions are computed after the traversal, only for files that have something to report.
    """

    rule_id: ClassVar[str]
    requires_facts: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.owner = getattr(cls, "rule_id", "")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx)
        self.spec = spec
        self.options = options
        self._compiled_options: Any = None

    # Turns the options into what the check works with (compiled patterns...), raising ValueError that names a
    # bad option; it should cache its result, since every file's check instance calls it.
    options_compiler: ClassVar[Callable[[dict[str, Any]], Any] | None] = None

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        """Raise ValueError, naming the option, for a configured value the check cannot use. Called once per
        scan, before any file is read, so a bad option is a configuration error rather than a failure per file."""
        if cls.options_compiler is not None:
            cls.options_compiler(options)

    def compiled_options(self) -> Any:
        """The options as ``options_compiler`` made them, once per instance. A method, not a property: libcst
        lists a visitor's members with getattr, outside the failure guard."""
        if self._compiled_options is None:
            self._compiled_options = type(self).options_compiler(self.options)
        return self._compiled_options

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        requires: tuple[str, str] | None = None,
        related: tuple[tuple[cst.CSTNode, str], ...] = (),
        redact: tuple[str, ...] = (),
        fix: NodeFix | None = None,
    ) -> None:
        """Report ``node``; with ``requires=(fact kind, key)`` only if the project's facts confirm it. ``related``
        names other nodes of the file that explain the finding, each with a message. ``redact`` lists secret
        values: every output shows them masked (see :func:`reviewer.findings.redacted`), never raw, and the
        message must not contain them. ``fix`` describes, in nodes of this tree, an edit that resolves the finding
        without changing anything else (see :mod:`reviewer.fixes`); offer one only when it is safe and mechanical."""
        self.ctx.reports.append(
            Report(self.rule_id, node, self.ctx.statement, message, requires, related, redact, fix)
        )
