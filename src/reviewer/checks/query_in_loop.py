"""RV101 query-in-loop: a database round trip made once per iteration of a loop or comprehension.

A query is recognized by the qualified name the shared resolver gives, never by source text:

- the Django ORM: a query method on a chain rooted at a model's manager (``Order.objects.filter().first()``),
  ``save()``/``delete()``/``refresh_from_db()`` on instances fetched from a manager, iterated from a queryset or
  constructed (``Order(...)``, confirmed as a model by the join), and querysets built and evaluated in the loop;
- SQLAlchemy sessions: names resolving to a ``Session()``/``sessionmaker()()``/``AsyncSession()``, parameters
  annotated with those classes, and receivers conventionally named ``session``/``db_session``/``db.session``/``db``
  (the ``session-names`` option), with ``Model.query....first()`` for Flask-SQLAlchemy;
- DB-API, asyncpg and MongoDB clients through the ``query-calls`` patterns.

A call to a project function that runs a query (directly or through up to three project functions) is a candidate
that the join step confirms from the ``query-function`` and ``calls`` facts, completing the message with the chain.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    bound_names,
    chained_calls,
    descendants,
    dotted_name,
    last_name,
    pattern_to_regex,
    positional_arguments,
    shape,
    string_value,
    subscript_index,
)
from reviewer.checks.django_orm import (
    ITEM_OF,
    OrmValue,
    is_class_name,
    orm_value,
    queryset_value,
    split_at_manager,
)
from reviewer.checks.sensitive import name_words

# Manager/queryset methods that run one query each time they are called.
DJANGO_QUERY_METHODS = frozenset({
    "get", "first", "last", "count", "exists", "aggregate", "create", "get_or_create", "update_or_create",
    "update", "delete", "earliest", "latest", "in_bulk", "contains",
})
DJANGO_WRITES = frozenset({"create", "get_or_create", "update_or_create", "update", "delete"})
DJANGO_INSTANCE_QUERIES = frozenset({"save", "delete", "refresh_from_db"})
# Builtins that evaluate a queryset passed to them.
EVALUATING_BUILTINS = frozenset({"list", "tuple", "set", "len", "bool", "sorted", "sum", "min", "max", "any"})

SQLALCHEMY_QUERY_TERMINALS = frozenset({"all", "first", "one", "one_or_none", "scalar", "count", "get"})
SQLALCHEMY_SESSION_METHODS = frozenset({"execute", "scalars", "scalar"})
# What a session resolves to when its type is known (created from these, or a parameter annotated with them).
SESSION_TYPES = re.compile(pattern_to_regex(
    "{sqlalchemy.orm.{Session,session.Session,scoped_session,sessionmaker()},"
    "sqlalchemy.ext.asyncio.{AsyncSession,async_scoped_session,async_sessionmaker()},"
    "sqlmodel.Session,sqlmodel.ext.asyncio.session.AsyncSession,flask_sqlalchemy.SQLAlchemy().session}"
))
# Awaited connections the shared resolver does not name (it leaves awaited values unnamed).
AWAITED_CONNECTIONS = re.compile(pattern_to_regex("asyncpg.{connect,create_pool,pool.create_pool}()"))

DEFAULT_MAX_LITERAL_ITEMS = 10
# What a loop calls to sleep or to wait for an event (`time.sleep()`, `await asyncio.sleep()`, `event.wait()`,
# `self.sleep()`): a `while` loop that does is a polling or worker loop.
WAITING_CALLS = frozenset({"sleep", "wait", "wait_for"})
# Words of a loop variable or of the function a loop iterates that say each item is a batch of rows
# (``for batch in batched(ids, 500)``, ``for chunk in in_chunks(rows)``, ``for group in grouper(ids, 100)``: the
# itertools recipe, also in more-itertools).
BATCH_WORDS = frozenset({"batch", "batches", "batched", "chunk", "chunks", "chunked", "ichunked", "grouper"})

DJANGO_READ_ADVICE = (
    "fetch the rows once before the loop (`filter(pk__in=...)`, `in_bulk()`) or with `select_related()`/"
    "`prefetch_related()` on the iterated queryset"
)
DJANGO_WRITE_ADVICE = "batch the writes with `bulk_create()`/`bulk_update()` or one `update()`/`delete()` on a filtered queryset"
SQLALCHEMY_ADVICE = (
    "load the rows once with `select(...).where(Model.id.in_(...))`, or `selectinload()` on the query that produced "
    "the loop's rows"
)
PROJECT_ADVICE = "fetch what the loop needs in one query before it (an `IN` lookup over all the keys)"


@dataclass(frozen=True)
class QueryGroup:
    matcher: re.Pattern[str]
    advice: str


@dataclass(frozen=True)
class CompiledOptions:
    groups: tuple[QueryGroup, ...]
    session_names: frozenset[str]
    max_literal_items: int

    def advice_for(self, name: str) -> str | None:
        for group in self.groups:
            if group.matcher.fullmatch(name):
                return group.advice
        return None


@functools.lru_cache(maxsize=16)
def _compile(options_json: str) -> CompiledOptions:
    options = json.loads(options_json)
    groups = []
    for number, entry in enumerate(options.get("query-calls") or [], start=1):
        calls = entry.get("calls") if isinstance(entry, dict) else None
        advice = entry.get("use") if isinstance(entry, dict) else None
        if not (isinstance(calls, list) and calls and all(isinstance(c, str) for c in calls) and isinstance(advice, str)):
            raise ValueError(f"query-calls entry {number} must be a table with `calls` (patterns) and `use` (a string)")
        groups.append(QueryGroup(re.compile("|".join(f"(?:{pattern_to_regex(c)})" for c in calls)), advice))
    names = options.get("session-names") or []
    if not all(isinstance(name, str) for name in names):
        raise ValueError("session-names must be a list of strings")
    limit = options.get("max-literal-items", DEFAULT_MAX_LITERAL_ITEMS)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError("max-literal-items must be a non-negative integer")
    return CompiledOptions(tuple(groups), frozenset(names), limit)


def compile_options(options: dict[str, Any]) -> CompiledOptions:
    return _compile(json.dumps(options, sort_keys=True))


def _prefetchable_relation(name: str | None) -> bool:
    """``order.lines.all()`` / ``order.lines``: a related manager used as is, which ``prefetch_related()`` on the
    loop's queryset may already have filled, so whether it queries is a question for RV102 (lazy relations). A
    related manager narrowed by ``filter()``, ``order_by()``... always queries and stays with this rule."""
    chain = split_at_manager(name) if name else None
    if chain is None:
        return False
    steps = chain[1]
    relations = [index for index, step in enumerate(steps) if "(" not in step and "[" not in step]
    if not relations:
        return False  # no attribute of an instance on the way: a manager's own queryset
    return all(step == "all()" for step in steps[relations[-1] + 1 :])


def _annotation_type(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """``Session`` for ``Annotated[Session, Depends(get_db)]``, ``Optional[Session]`` or ``Session | None``."""
    if isinstance(annotation, cst.Subscript) and annotation.slice:
        first = annotation.slice[0].slice
        if isinstance(first, cst.Index):
            return _annotation_type(first.value)
    if isinstance(annotation, cst.BinaryOperation):
        return _annotation_type(annotation.left)
    return annotation


class _LoopExits(cst.CSTVisitor):
    """Finds a ``break`` or ``return`` that leaves the visited loop body (a ``break`` of a nested loop leaves that
    loop only; nested functions do not run here)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self._nested_loops = 0

    def visit_Break(self, node: cst.Break) -> None:
        self.found = self.found or not self._nested_loops

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_For(self, node: cst.For) -> None:
        self._nested_loops += 1

    def leave_For(self, original_node: cst.For) -> None:
        self._nested_loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._nested_loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self._nested_loops -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_NOT_FILLING = object()


def _tested_for_absence(test: cst.BaseExpression) -> list[str]:
    """What an ``if`` test checks to be unset: ``x is None``, ``x == None``, ``not x``, ``not hasattr(obj, "x")``
    (``obj.x``), also as an operand of ``and``/``or``."""
    if isinstance(test, cst.BooleanOperation):
        return [*_tested_for_absence(test.left), *_tested_for_absence(test.right)]
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        if isinstance(comparison.operator, (cst.Is, cst.Equal)) and isinstance(comparison.comparator, cst.Name) \
                and comparison.comparator.value == "None":
            dotted = dotted_name(test.left)
            return [dotted] if dotted else []
        return []
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        operand = test.expression
        if isinstance(operand, cst.Call) and isinstance(operand.func, cst.Name) and operand.func.value == "hasattr" \
                and len(operand.args) == 2:
            named = _attribute_named(operand)
            return [named] if named else []
        dotted = dotted_name(operand)
        return [dotted] if dotted else []
    return []


def _assigns(body: cst.BaseSuite, dotted: str) -> bool:
    """Whether ``body`` assigns ``dotted`` (``x = ...``, ``self.x: T = ...``, ``setattr(self, "x", ...)``)."""
    for node in descendants(body, skip=NESTED_SCOPES):
        if type(node) in (cst.Assign, cst.AnnAssign):
            targets = [target.target for target in node.targets] if type(node) is cst.Assign else [node.target]
            if any(dotted_name(target) == dotted for target in targets):
                return True
        elif type(node) is cst.Call and isinstance(node.func, cst.Name) and node.func.value == "setattr" \
                and len(node.args) >= 2 and _attribute_named(node) == dotted:
            return True
    return False


def _attribute_named(call: cst.Call) -> str | None:
    """``obj.x`` for ``hasattr(obj, "x")`` or ``setattr(obj, "x", ...)``."""
    owner, attribute = dotted_name(call.args[0].value), string_value(call.args[1].value)
    return f"{owner}.{attribute}" if owner and attribute else None


def _leaves_early(loop: cst.For | cst.While) -> bool:
    finder = _LoopExits()
    loop.body.visit(finder)
    return finder.found


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.found.add(node.value)


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


class QueryInLoop(Check):
    rule_id = "RV101"
    # A file without functions or loops can neither run a query per iteration nor define a query function.
    triggers = ("def", "for", "while")
    requires_facts = ("class-bases",)
    options_compiler = staticmethod(compile_options)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        # Per function (None: module level): local names the shared resolver leaves unnamed -> what they hold
        # (loop targets over querysets, awaited asyncpg connections, parameters annotated as sessions).
        self._locals: dict[cst.CSTNode | None, dict[str, str]] = {}
        # Per function: names bound to a queryset inside a loop -> that loop (evaluating them there runs a query
        # per iteration; a queryset bound before the loop is evaluated once and cached).
        self._querysets_built_in: dict[cst.CSTNode | None, dict[str, cst.CSTNode]] = {}
        # Calls inside a reported call's own chain: one finding per chain.
        self._inside_reported: set[cst.CSTNode] = set()
        # Loops that end on a condition found inside them (`while` loops with a break/return or a query in their
        # test, `for _ in range(n)` with a break/return): retry-until-unique, polling and paging loops, whose
        # number of iterations is not the number of rows.
        self._open_ended_loops: set[cst.For | cst.While] = set()
        # The blocks being visited, innermost last: (the loop they run in, whether they end by leaving it).
        self._blocks: list[tuple[cst.CSTNode | None, bool]] = []
        # Per function (None: module level): names bound to a small literal collection or integer.
        self._small_literals: dict[cst.CSTNode | None, set[str]] = {}
        # Bodies of `if` statements that fill a cached value -> the function they are in; the functions of those
        # being visited; and per function, the names it declares global or nonlocal.
        self._cache_fills: dict[cst.BaseSuite, cst.CSTNode | None] = {}
        self._filling: list[cst.CSTNode | None] = []
        self._outer_names: dict[cst.FunctionDef, set[str]] = {}


    # -- names ----------------------------------------------------------------------------------------------------

    def _name_of(self, node: cst.BaseExpression) -> str | None:
        return self.ctx.qualified_name(node, self._root_name)

    def _root_name(self, node: cst.Name) -> str | None:
        found, _ = self.ctx.lookup(node.value)
        if not found:
            return node.value if is_class_name(node.value) else None
        return self._locals.get(self.ctx.function_node, {}).get(node.value)

    def _owning_function(self) -> str | None:
        """The qualified name of the module-level function, or method of a module-level class, whose own body we
        are in (``shop.services.price``, ``shop.services.Pricing.price``); nested defs are not attributed: they may
        never be called."""
        frame = self.ctx.function_frame
        frames = self.ctx.frames
        if frame is None or not isinstance(frame.node, cst.FunctionDef):
            return None
        if len(frames) >= 2 and frames[1] is frame:
            return self.ctx.qualify(frame.node.name.value)
        if len(frames) >= 3 and frames[1].kind == "class" and frames[2] is frame:
            return self.ctx.qualify(f"{frames[1].node.name.value}.{frame.node.name.value}")
        return None

    def _own_method(self, func: cst.BaseExpression) -> str | None:
        """``self.load_prices`` called in a method of a module-level class: that class's method, by qualified name
        (a method the class inherits is not found in the project's facts, and so is not followed)."""
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"):
            return None
        frames = self.ctx.frames
        if len(frames) < 3 or frames[1].kind != "class" or self.ctx.function_frame is not frames[2]:
            return None
        found, _ = self.ctx.lookup(f"self.{func.attr.value}")
        if found:
            return None  # an attribute assigned on the instance, not a method
        return self.ctx.qualify(f"{frames[1].node.name.value}.{func.attr.value}")

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        typed: dict[str, str] = {}
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in params:
            if param.annotation is None:
                continue
            annotated = self.ctx.qualified_name(_annotation_type(param.annotation.annotation))
            if annotated is not None and SESSION_TYPES.fullmatch(annotated):
                typed[param.name.value] = f"{annotated}()"
        if typed:
            self._locals[node] = typed

    def visit_While(self, node: cst.While) -> None:
        test_calls = _Calls()
        node.test.visit(test_calls)
        if _leaves_early(node) or any(self._query(call, self._name_of(call.func)) for call in test_calls.found) \
                or self._waits(node):
            self._open_ended_loops.add(node)

    def _waits(self, loop: cst.While) -> bool:
        """Whether the loop sleeps or waits each time round: a polling or worker loop, whose iterations are ticks of
        time or events as they come (``while not self.stopping: self.beat(); time.sleep(period)``), not rows."""
        for node in descendants(loop.body, skip=NESTED_SCOPES):
            if type(node) is cst.Call and (
                last_name(node.func) in WAITING_CALLS or self.ctx.qualified_name(node.func) == "select.select"
            ):
                return True
        return False

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        last = node.body[-1] if node.body else None
        exits = isinstance(last, cst.SimpleStatementLine) and any(
            isinstance(statement, (cst.Break, cst.Return, cst.Raise)) for statement in last.body
        )
        self._blocks.append((self.ctx.current_loop, exits))
        self._enter_suite(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._blocks.pop()
        self._leave_suite(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_suite(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave_suite(original_node)

    def visit_If(self, node: cst.If) -> None:
        if any(_assigns(node.body, cached) and self._outlives_call(cached) for cached in _tested_for_absence(node.test)):
            self._cache_fills[node.body] = self.ctx.function_node

    def _enter_suite(self, node: cst.BaseSuite) -> None:
        if node in self._cache_fills:
            self._filling.append(self._cache_fills[node])

    def _leave_suite(self, node: cst.BaseSuite) -> None:
        if self._cache_fills.pop(node, _NOT_FILLING) is not _NOT_FILLING:
            self._filling.pop()

    def leave_Assign(self, original_node: cst.Assign) -> None:
        value = original_node.value
        built = self._querysets_built_in.setdefault(self.ctx.function_node, {})
        literals = self._small_literals.setdefault(self.ctx.function_node, set())
        for target in original_node.targets:
            if isinstance(target.target, cst.Name):
                literals.discard(target.target.value)
                if self._small_literal(value):
                    literals.add(target.target.value)
                built.pop(target.target.value, None)
                if self.ctx.current_loop is not None and queryset_value(self._name_of(value)):
                    built[target.target.value] = self.ctx.current_loop
        if not isinstance(value, cst.Await):
            return
        awaited = self.ctx.qualified_name(value.expression)
        if awaited is None or not AWAITED_CONNECTIONS.fullmatch(awaited):
            return
        for target in original_node.targets:
            if isinstance(target.target, cst.Name):
                self._locals.setdefault(self.ctx.function_node, {})[target.target.value] = awaited

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        if isinstance(original_node.target, cst.Name):
            self._small_literals.get(self.ctx.function_node, set()).discard(original_node.target.value)

    def visit_For(self, node: cst.For) -> None:
        # `for attempt in range(20): ... break`: a bounded retry, not a loop over rows.
        if (
            isinstance(node.iter, cst.Call)
            and self.ctx.qualified_name(node.iter.func) == "builtins.range"
            and all(isinstance(arg.value, cst.Integer) for arg in node.iter.args)
            and _leaves_early(node)
        ):
            self._open_ended_loops.add(node)
        self._check_evaluation(node.iter)
        iterated = self._name_of(node.iter)
        if isinstance(node.target, cst.Name) and queryset_value(iterated):
            self._locals.setdefault(self.ctx.function_node, {})[node.target.value] = f"{iterated}{ITEM_OF}"

    def leave_For(self, original_node: cst.For) -> None:
        if isinstance(original_node.target, cst.Name):
            self._locals.get(self.ctx.function_node, {}).pop(original_node.target.value, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._check_evaluation(node.iter)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        """``Order.objects.filter(...)[0]``: indexing a queryset with an integer runs a query."""
        if isinstance(subscript_index(node), cst.Integer):
            self._check_evaluation(node.value, f"`{shape(node.value)}[...]`")

    # -- queries --------------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if node in self._inside_reported:
            return
        name = self._name_of(node.func)
        builtin = name.removeprefix("builtins.") if name is not None else None
        if builtin != name:
            if builtin in EVALUATING_BUILTINS and node.args and node.args[0].keyword is None:
                self._check_evaluation(node.args[0].value, f"`{builtin}({shape(node.args[0].value)})`")
            return
        query = self._query(node, name)
        owner = self._owning_function()
        if query is not None:
            if self._fills_cache():
                self._skip_inner_calls(node)
                return
            written, advice, requires = query
            if owner is not None and requires is None:
                self.ctx.add_fact("query-function", (owner, written))
            if self._in_repeating_loop():
                self.report(node, f"`{written}` runs a query per iteration of the loop: {advice}", requires=requires)
            self._skip_inner_calls(node)
            return
        name = self._own_method(node.func) or name
        if name is None or "." not in name or "()" in name or "[]" in name:
            return  # not a plain module-level function of some module
        if self._fills_cache():
            return
        if owner is not None:
            self.ctx.add_fact("calls", (owner, name))
        if self._in_repeating_loop():
            self.report(
                node,
                f"`{shape(node.func)}()` runs a query per iteration of the loop ({{via}}): {PROJECT_ADVICE}",
                requires=("query-function", name),
            )

    def _fills_cache(self) -> bool:
        """Whether the code being visited is in the branch that fills a cached value, which runs once whatever loop
        calls it: ``if _default is None: _default = Domain.objects.get(...)`` for a module global (declared
        ``global``), an attribute of ``self`` or ``cls``, or an attribute of a module-level object. A cache keyed
        per row (``if key not in cache``) still runs once per row, and an attribute of a row is per row too."""
        function = self.ctx.function_node
        return any(filling is function for filling in self._filling)

    def _outlives_call(self, dotted: str) -> bool:
        """Whether ``dotted`` names something that keeps its value between calls of the current function."""
        function = self.ctx.function_node
        root, _, attribute = dotted.partition(".")
        if not attribute:
            if not isinstance(function, cst.FunctionDef):
                return False
            if function not in self._outer_names:
                self._outer_names[function] = {
                    item.name.value for node in descendants(function.body, skip=NESTED_SCOPES)
                    if type(node) in (cst.Global, cst.Nonlocal) for item in node.names  # type: ignore[attr-defined]
                }
            return root in self._outer_names[function]
        if root in ("self", "cls"):
            return True
        frame = self.ctx.function_frame
        found, _ = self.ctx.lookup(root)
        return found and (frame is None or root not in frame.bindings)

    def _query(self, call: cst.Call, name: str | None) -> tuple[str, str, tuple[str, str] | None] | None:
        """(the query as written, how to batch it, the project fact it depends on) for a call that runs a query."""
        written = f"{shape(call.func)}()"
        if name is None:
            return (written, SQLALCHEMY_ADVICE, None) if self._sqlalchemy_query(call) else None
        method = name.rsplit(".", 1)[-1]
        if method in ("bulk_create", "bulk_update", "executemany", "insert_many"):
            return None
        advice = self.compiled_options().advice_for(name)
        if advice is not None:
            return written, advice, None
        chain = split_at_manager(name)
        if chain is not None and chain[1] and method.isidentifier():
            if _prefetchable_relation(name.rpartition(".")[0]):
                return None
            state = orm_value(chain[1][:-1])
            bare = method[1:] if method.startswith("a") and method[1:] in DJANGO_QUERY_METHODS else method
            if state is OrmValue.QUERYSET and bare in DJANGO_QUERY_METHODS and not self._chunked(call):
                return written, DJANGO_WRITE_ADVICE if bare in DJANGO_WRITES else DJANGO_READ_ADVICE, None
            if state is OrmValue.INSTANCE and method.removeprefix("a") in DJANGO_INSTANCE_QUERIES:
                return written, DJANGO_WRITE_ADVICE, None
            return None
        model = self._model_constructed(name)
        if model is not None:
            return written, DJANGO_WRITE_ADVICE, ("django-model", model)
        if self._sqlalchemy_query(call):
            return written, SQLALCHEMY_ADVICE, None
        return None

    @staticmethod
    def _model_constructed(name: str) -> str | None:
        """``shop.models.Order().save`` -> ``shop.models.Order``, to be confirmed as a model by the join."""
        segments = name.split(".")
        if len(segments) < 3 or segments[-1] not in DJANGO_INSTANCE_QUERIES or not segments[-2].endswith("()"):
            return None
        class_name = segments[-2].removesuffix("()")
        return ".".join([*segments[:-2], class_name]) if is_class_name(class_name) else None

    def _is_session(self, receiver: cst.BaseExpression, typed_only: bool) -> bool:
        resolved = self.ctx.qualified_name(receiver, self._root_name)
        if resolved is not None and resolved.endswith("()") and SESSION_TYPES.fullmatch(resolved[:-2]):
            return True
        if resolved is not None and SESSION_TYPES.fullmatch(resolved):  # flask_sqlalchemy's `db.session`
            return True
        if typed_only:
            return False
        # `session`, `self.session`, `db.session`, `current_app.appbuilder.session`: named like a session.
        written = shape(receiver)
        names = self.compiled_options().session_names
        return written in names or any(written.endswith(f".{name}") for name in names)

    def _sqlalchemy_query(self, call: cst.Call) -> bool:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        if method in SQLALCHEMY_SESSION_METHODS and self._is_session(func.value, typed_only=False):
            return True
        if method == "exec":  # SQLModel's select runner: too common a name to take from an untyped receiver
            return self._is_session(func.value, typed_only=True)
        if method == "get":
            # `session.get(Author, author_id)` reads as SQLAlchemy on any session; `session.get(url)` may be HTTP,
            # so an untyped receiver needs the model-class first argument.
            positional = positional_arguments(call)
            model_first = len(positional) >= 2 and isinstance(positional[0], cst.Name) and is_class_name(positional[0].value)
            return self._is_session(func.value, typed_only=not model_first)
        if method not in SQLALCHEMY_QUERY_TERMINALS:
            return False
        # Down the chain to `session.query(...)` or Flask-SQLAlchemy's `Model.query`.
        node: cst.BaseExpression = func.value
        while isinstance(node, (cst.Call, cst.Attribute)):
            inner = node.func if isinstance(node, cst.Call) else node
            if not isinstance(inner, cst.Attribute):
                return False
            if inner.attr.value == "query":
                if isinstance(node, cst.Call):
                    return self._is_session(inner.value, typed_only=False)
                return isinstance(inner.value, cst.Name) and is_class_name(inner.value.value)
            node = inner.value
        return False

    def _check_evaluation(self, value: cst.BaseExpression, written: str | None = None) -> None:
        """A queryset built in the loop and evaluated there (iterated, ``list()``, ``len()``, indexed)."""
        name = self._name_of(value)
        if not self._in_repeating_loop() or not queryset_value(name) or _prefetchable_relation(name):
            return
        root = value
        while isinstance(root, cst.Subscript):  # a slice of a queryset is a new queryset
            root = root.value
        if isinstance(root, cst.Name):
            built_in = self._querysets_built_in.get(self.ctx.function_node, {}).get(root.value)
            if built_in is None or built_in not in self.ctx.loops:
                return  # a queryset built before the loop is evaluated once (and cached)
        elif not isinstance(root, cst.Call) or self._chunked(root):
            return
        what = written or f"iterating `{shape(value)}`"
        self.report(value, f"{what} runs a query per iteration of the loop: {DJANGO_READ_ADVICE}")

    def _chunked(self, call: cst.Call) -> bool:
        """``for chunk in chunks(ids, 1000): Order.objects.filter(pk__in=chunk)``: a lookup over the loop's items
        with ``__in`` is the batched form, one query per chunk rather than per row."""
        loop = self.ctx.current_loop
        if isinstance(loop, cst.For):
            targets = set(bound_names(loop.target))
        else:
            clause = getattr(loop, "for_in", None)
            targets = set()
            while clause is not None:
                targets |= set(bound_names(clause.target))
                clause = clause.inner_for_in
        node: cst.BaseExpression = call
        while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(node, cst.Call):
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value.endswith("__in"):
                        names = _Names()
                        arg.value.visit(names)
                        if names.found & targets:
                            return True
                node = node.func
            else:
                node = node.value
        return False

    # -- loops ----------------------------------------------------------------------------------------------------

    def _in_repeating_loop(self) -> bool:
        loop = self.ctx.current_loop
        if loop is None:
            return False
        if any(exits and block_loop is loop for block_loop, exits in self._blocks):
            return False  # the block ends with break/return/raise: what it runs, it runs once
        if isinstance(loop, cst.For):
            return loop not in self._open_ended_loops and not self._small_literal(loop.iter) \
                and not self._over_batches(loop)
        if isinstance(loop, cst.While):
            return loop not in self._open_ended_loops
        clause = getattr(loop, "for_in", None)
        iterables = []
        while clause is not None:
            iterables.append(clause.iter)
            clause = clause.inner_for_in
        return not all(self._small_literal(iterable) for iterable in iterables)

    def _over_batches(self, loop: cst.For) -> bool:
        """A loop over batches of rows: a query per iteration is a query per batch, which is the cure for a query
        per row, not the disease. Told by the loop variable's name or by the function iterated (through
        ``enumerate``); a loop over a queryset iterates rows whatever its variable is called (``for batch in
        ImportBatch.objects.all()``)."""
        iterable = loop.iter
        if queryset_value(self._name_of(iterable)):
            return False
        if isinstance(loop.target, cst.Tuple):
            targets = [element.value for element in loop.target.elements]
        else:
            targets = [loop.target]
        if any(isinstance(target, cst.Name) and BATCH_WORDS.intersection(name_words(target.value))
               for target in targets):
            return True
        while isinstance(iterable, cst.Call):
            called = last_name(iterable.func)
            if called is not None and BATCH_WORDS.intersection(name_words(called)):
                return True
            if called != "enumerate" or not iterable.args:
                return False
            iterable = iterable.args[0].value
        return False

    def _small_literal(self, iterable: cst.BaseExpression) -> bool:
        """A literal collection of at most ``max-literal-items`` items, ``range()`` over such a span, a small integer
        literal, or a name bound to one of these (``for field in FIELDS``, ``for name, f in CHECKS.items()``)."""
        limit = self.compiled_options().max_literal_items
        if isinstance(iterable, (cst.Tuple, cst.List, cst.Set, cst.Dict)):
            return len(iterable.elements) <= limit and not any(
                isinstance(element, (cst.StarredElement, cst.StarredDictElement)) for element in iterable.elements
            )
        if isinstance(iterable, cst.Integer):
            return int(iterable.value, 0) <= limit
        if isinstance(iterable, cst.Name):
            return self._names_small_literal(iterable.value)
        if not isinstance(iterable, cst.Call):
            return False
        func = iterable.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("items", "keys", "values") and not iterable.args:
            return isinstance(func.value, cst.Name) and self._names_small_literal(func.value.value)
        if self.ctx.qualified_name(func) == "builtins.range" and 1 <= len(iterable.args) <= 2:
            bounds = [self._small_integer(arg.value) for arg in iterable.args]
            if all(bound is not None for bound in bounds):
                return bounds[-1] - (bounds[0] if len(bounds) == 2 else 0) <= limit
        return False

    def _small_integer(self, node: cst.BaseExpression) -> int | None:
        if isinstance(node, cst.Integer):
            return int(node.value, 0)
        if isinstance(node, cst.Name) and self._names_small_literal(node.value):
            return 0  # bound to a small integer or collection: bounded by the limit either way
        return None

    def _names_small_literal(self, name: str) -> bool:
        """Whether ``name`` is bound, in the current function or at module level, to a small literal."""
        if name in self._small_literals.get(self.ctx.function_node, ()):
            return True
        found, _ = self.ctx.lookup(name)
        frame = self.ctx.function_frame
        local = frame is not None and name in frame.bindings
        return found and not local and name in self._small_literals.get(None, ())

    def _skip_inner_calls(self, call: cst.Call) -> None:
        self._inside_reported.update(chained_calls(call))
