"""RV201 blocking-call-in-async: a call that blocks the event loop, made directly inside an ``async def``.

Everything is recognized by the qualified names the shared resolver gives (``requests.Session().get``,
``psycopg2.connect().cursor().execute``), never by source text:

- calls matching the ``blocking-calls`` option's patterns (sleep, sync HTTP, subprocesses, file I/O, sockets, sync
  database and cache clients, password hashing, ...), each group naming its async alternative;
- the sync Django ORM where Django has an async twin: queryset methods that hit the database on a chain rooted at a
  model's manager (``Order.objects.filter().first()``), iterating such a queryset, and ``save()``/``delete()``/
  ``refresh_from_db()`` on model instances;
- any of these whose *result* is handed to an offload wrapper (``asyncio.to_thread(requests.get(url))``): the call
  has already run on the loop by the time the wrapper gets it.

Calls in a nested ``def``, ``lambda`` or class body are not async context (the shared context tracks that), and a
call that is awaited is not a sync call: ``await Order.objects.get()`` is some async ORM that shares Django's names.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    Frame,
    bound_names,
    chained_calls,
    dotted_name,
    pattern_to_regex,
    shape,
)
from reviewer.checks.django_orm import (
    ASYNC_INSTANCE_GETTERS,
    ASYNC_PAIR_GETTERS,
    FIRST_OF,
    ITEM_OF,
    OrmValue,
    is_class_name,
    orm_value,
    queryset_value,
    split_at_manager,
)
from reviewer.fixes import NodeFix, add_import, insert_before, replace

DEFAULT_ADVICE = "its async counterpart, or `await asyncio.to_thread()`"

# -- patterns -----------------------------------------------------------------------------------------------------


def _alternation(patterns: Iterable[str]) -> re.Pattern[str] | None:
    sources = [pattern_to_regex(pattern) for pattern in patterns]
    return re.compile("|".join(f"(?:{source})" for source in sources)) if sources else None


@dataclass(frozen=True)
class BlockingGroup:
    matcher: re.Pattern[str]
    advice: str  # what to use instead; "{name}" stands for the called function's own name


@dataclass(frozen=True)
class CompiledOptions:
    """The rule's options, compiled once per distinct configuration."""

    any_blocking: re.Pattern[str] | None  # every group's patterns at once: most calls fail this single test
    groups: tuple[BlockingGroup, ...]
    offload_wrappers: re.Pattern[str] | None
    django_orm: bool

    def advice_for(self, name: str) -> str | None:
        if self.any_blocking is None or not self.any_blocking.fullmatch(name):
            return None
        for group in self.groups:
            if group.matcher.fullmatch(name):
                return group.advice.replace("{name}", name.rsplit(".", 1)[-1])
        return None


def _blocking_groups(entries: Any) -> list[tuple[list[str], str]]:
    groups = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            groups.append(([entry], DEFAULT_ADVICE))
            continue
        calls = entry.get("calls") if isinstance(entry, dict) else None
        advice = entry.get("use", DEFAULT_ADVICE) if isinstance(entry, dict) else None
        if not (isinstance(calls, list) and calls and all(isinstance(c, str) for c in calls) and isinstance(advice, str)):
            raise ValueError(
                f"blocking-calls entry {number} must be a pattern string or a table with `calls` (a list of "
                "patterns) and `use` (a string)"
            )
        groups.append((calls, advice))
    return groups


@functools.lru_cache(maxsize=16)
def _compile(options_json: str) -> CompiledOptions:
    options = json.loads(options_json)
    groups = _blocking_groups(options.get("blocking-calls") or [])
    wrappers = options.get("offload-wrappers") or []
    if not all(isinstance(wrapper, str) for wrapper in wrappers):
        raise ValueError("offload-wrappers must be a list of pattern strings")
    return CompiledOptions(
        any_blocking=_alternation(pattern for patterns, _ in groups for pattern in patterns),
        groups=tuple(BlockingGroup(_alternation(patterns), advice) for patterns, advice in groups),
        offload_wrappers=_alternation(wrappers),
        django_orm=bool(options.get("django-orm", True)),
    )


def compile_options(options: dict[str, Any]) -> CompiledOptions:
    """The rule's options, compiled (patterns into regular expressions) and cached by content."""
    return _compile(json.dumps(options, sort_keys=True))


# Calls that take awaitables: what is passed to them returns one, so it is an async API that shares a blocking
# API's names (`asyncio.gather(Book.objects.create(...))` is ormar, not Django), just like an awaited call.
AWAITABLE_TAKERS = re.compile(pattern_to_regex(
    "{asyncio.{gather,create_task,ensure_future,wait_for,shield,run_coroutine_threadsafe},**.create_task}"
))

# -- Django ORM methods with an async twin ---------------------------------------------------------------------

# Manager and queryset methods that run a query and have an ``a``-prefixed twin (Django 4.1; the user manager's
# acreate_user/acreate_superuser 5.2).
QUERYSET_METHODS_WITH_TWIN = frozenset({
    "get", "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update", "count", "in_bulk",
    "iterator", "latest", "earliest", "first", "last", "aggregate", "exists", "contains", "update", "delete",
    "explain", "create_user", "create_superuser",
})

# Model instance methods with an async twin (save/delete/refresh_from_db: Django 4.2; check_password: 5.0).
INSTANCE_METHODS_WITH_TWIN = frozenset({"save", "delete", "refresh_from_db", "check_password"})

# Builtins that evaluate a queryset passed to them (QuerySet.__iter__ fetches every row at once).
CONSUMING_BUILTINS = frozenset({
    "list", "tuple", "set", "frozenset", "dict", "sorted", "reversed", "len", "bool", "sum", "min", "max", "any",
    "all", "iter", "enumerate", "zip", "map", "filter",
})

# -- the check ------------------------------------------------------------------------------------------------------


class BlockingCallInAsync(Check):
    rule_id = "RV201"
    triggers = ("async",)
    requires_facts = ("class-bases",)  # `Order(...).save()` counts only if the project says Order is a model
    options_compiler = staticmethod(compile_options)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._awaited: set[cst.CSTNode] = set()
        # Calls inside a reported call's own chain (`smtplib.SMTP(host)` in `smtplib.SMTP(host).sendmail()`):
        # one finding per chain.
        self._inside_reported: set[cst.CSTNode] = set()
        # A call whose result is an argument of an offload wrapper -> the wrapper as written.
        self._offloaded: dict[cst.CSTNode, str] = {}
        # ORM values the shared resolver leaves unnamed, per async function: `order = await Order.objects.aget()`
        # (it does not name awaited values) and chains rooted at a model it cannot resolve.
        self._orm_locals: dict[cst.CSTNode | None, dict[str, str]] = {}


    # -- names ----------------------------------------------------------------------------------------------------

    def _name_of(self, node: cst.BaseExpression) -> str | None:
        """The shared resolver's qualified name, completed with what this rule knows about ORM values."""
        if not self.compiled_options().django_orm:
            return self.ctx.qualified_name(node)
        return self.ctx.qualified_name(node, self._orm_root_name)

    def _orm_root_name(self, node: cst.Name) -> str | None:
        """A name for a chain root the shared resolver leaves unnamed: an unbound CapWords name (a model class), or
        a local recorded in ``_orm_locals``."""
        found, _ = self.ctx.lookup(node.value)
        if not found:
            # Bound nowhere the tracker sees: a star import, or a class defined further down the module.
            return node.value if is_class_name(node.value) else None
        frame = self.ctx.function_frame
        if frame is not None and node.value in frame.bindings:
            return self._orm_locals.get(frame.node, {}).get(node.value)
        return None

    def _async_frame(self) -> Frame | None:
        """The current frame if it is an async function's own (where this rule records ORM values)."""
        frame = self.ctx.function_frame
        return frame if frame is not None and frame.is_async and self.compiled_options().django_orm else None

    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        """Update the ORM values of the names ``target`` binds to ``value`` (None: to something else)."""
        frame = self._async_frame()
        if frame is None:
            return
        names = bound_names(target)
        recorded = self._orm_locals.setdefault(frame.node, {})
        for name in names:
            recorded.pop(name, None)
        if value is None or not names:
            return
        if isinstance(value, cst.Await):
            awaited = self._name_of(value.expression)
            chain = split_at_manager(awaited) if awaited else None
            if chain is None or not chain[1]:
                return
            method = chain[1][-1].removesuffix("()")
            if method in ASYNC_INSTANCE_GETTERS and isinstance(target, cst.Name):
                recorded[target.value] = awaited
            elif method in ASYNC_PAIR_GETTERS and isinstance(target, (cst.Tuple, cst.List)):
                first = target.elements[0].value if target.elements else None
                if isinstance(first, cst.Name):
                    recorded[first.value] = f"{awaited}{FIRST_OF}"
        elif isinstance(target, cst.Name) and self.ctx.qualified_name(value) is None:
            name = self._name_of(value)
            if name is not None and split_at_manager(name) is not None:
                recorded[target.value] = name

    # -- visitors -------------------------------------------------------------------------------------------------

    def visit_Await(self, node: cst.Await) -> None:
        if self.ctx.in_async_function:
            self._awaited.add(node.expression)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.in_async_function or node in self._inside_reported:
            return
        name = self._name_of(node.func)
        self._note_argument_roles(node, name)
        if name is None or node in self._awaited:
            return
        diagnosis = self._diagnose(node, name)
        if diagnosis is None:
            return
        message, requires = diagnosis
        wrapper = self._offloaded.get(node)
        if wrapper is not None:
            message = (
                f"`{shape(node.func)}()` blocks the event loop: it is called before being passed to `{wrapper}`; "
                "pass the function and its arguments instead"
            )
        fix = self._sleep_fix(node) if name == "time.sleep" and wrapper is None else None
        self.report(node, message, requires=requires, fix=fix)
        self._skip_inner_calls(node)

    def visit_For(self, node: cst.For) -> None:
        if not self.ctx.in_async_function:
            return
        self._record(node.target, None)  # the tracker has just rebound the loop target
        if node.asynchronous is None:
            self._check_iteration(node.iter, "use `async for`")
            return
        # `async for order in Order.objects.filter()`: `order` is a model instance.
        frame = self._async_frame()
        iterated = self._name_of(node.iter)
        chain = split_at_manager(iterated) if iterated else None
        if (
            frame is not None
            and isinstance(node.target, cst.Name)
            and chain is not None
            and chain[1]
            and orm_value(chain[1]) in (OrmValue.QUERYSET, OrmValue.ITERATOR)
        ):
            self._orm_locals.setdefault(frame.node, {})[node.target.value] = f"{iterated}{ITEM_OF}"

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if self.ctx.in_async_function and node.asynchronous is None:
            self._check_iteration(node.iter, "use `async for` in the comprehension")

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._record(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._record(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._record(original_node.target, None)

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        self._record(original_node.target, original_node.value)

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        if original_node.asname is not None:
            self._record(original_node.asname.name, None)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        if original_node.name is not None:
            self._record(original_node.name.name, None)

    # -- diagnoses ------------------------------------------------------------------------------------------------

    def _diagnose(self, call: cst.Call, name: str) -> tuple[str, tuple[str, str] | None] | None:
        """The message (and the project fact it depends on, if any) for a blocking call, else None."""
        advice = self.compiled_options().advice_for(name)
        if advice is not None:
            return self._blocking_message(call, name, advice), None
        if not self.compiled_options().django_orm:
            return None
        message = self._orm_call_message(call, name)
        if message is not None:
            return message, None
        model = self._model_constructed(name)
        if model is not None:
            method = name.rsplit(".", 1)[-1]
            return self._twin_message(call, method), ("django-model", model)
        message = self._consumed_queryset_message(call, name)
        return None if message is None else (message, None)

    def _blocking_message(self, call: cst.Call, name: str, advice: str) -> str:
        written = shape(call.func)
        resolved = "" if name in (written, f"builtins.{written}") else f" (`{name}`)"
        return f"`{written}()`{resolved} blocks the event loop: use {advice}"

    def _twin_message(self, call: cst.Call, method: str) -> str:
        func = call.func
        receiver = shape(func.value) if isinstance(func, cst.Attribute) else "..."
        if method == "iterator":
            return f"`{shape(func)}()` blocks the event loop: use `async for ... in {receiver}.aiterator()`"
        return f"`{shape(func)}()` blocks the event loop: use `await {receiver}.a{method}()`"

    def _orm_call_message(self, call: cst.Call, name: str) -> str | None:
        """``Order.objects.filter().first()``, ``order.save()`` on an instance fetched from a manager."""
        chain = split_at_manager(name)
        if chain is None or not chain[1]:
            return None
        *steps, method = chain[1]
        if not method.isidentifier():
            return None
        state = orm_value(steps)
        if (state is OrmValue.QUERYSET and method in QUERYSET_METHODS_WITH_TWIN) or (
            state is OrmValue.INSTANCE and method in INSTANCE_METHODS_WITH_TWIN
        ):
            return self._twin_message(call, method)
        return None

    @staticmethod
    def _model_constructed(name: str) -> str | None:
        """For ``shop.models.Order().save``: ``shop.models.Order``, a class that must be a model for the call to
        hit the database. Only names the import table resolved (they have a module part) can be confirmed."""
        segments = name.split(".")
        if len(segments) < 3 or segments[-1] not in INSTANCE_METHODS_WITH_TWIN or not segments[-2].endswith("()"):
            return None
        class_name = segments[-2].removesuffix("()")
        return ".".join([*segments[:-2], class_name]) if is_class_name(class_name) else None

    def _consumed_queryset_message(self, call: cst.Call, name: str) -> str | None:
        """``list(qs)``, ``len(qs)``: a builtin that evaluates a queryset."""
        builtin = name.removeprefix("builtins.")
        if builtin == name or builtin not in CONSUMING_BUILTINS:
            return None
        for arg in call.args:
            if arg.keyword is not None or arg.star:
                continue
            if queryset_value(self._name_of(arg.value)):
                written = shape(arg.value)
                if builtin == "len":
                    advice = f"`await {written}.acount()`"
                elif builtin == "bool":
                    advice = f"`await {written}.aexists()`"
                else:
                    advice = f"`[item async for item in {written}]`"
                return f"`{shape(call.func)}({written})` runs a blocking query: use {advice}"
        return None

    def _check_iteration(self, iterable: cst.BaseExpression, advice: str) -> None:
        name = self._name_of(iterable)
        if not queryset_value(name):
            return
        written = shape(iterable)
        resolved = f" (`{name}`)" if isinstance(iterable, cst.Name) else ""
        self.report(iterable, f"iterating `{written}`{resolved} runs a blocking query: {advice}")

    # -- fixes ----------------------------------------------------------------------------------------------------

    def _sleep_fix(self, call: cst.Call) -> NodeFix | None:
        """``time.sleep(x)`` as a statement of its own -> ``await asyncio.sleep(x)``, importing asyncio when the
        module does not. Elsewhere (``time.sleep(x) or y``) the rewrite would change what the expression does."""
        statement = self.ctx.statement
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and any(isinstance(part, cst.Expr) and part.value is call for part in statement.body)
            and len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            return None
        found, bound_to = self.ctx.lookup("asyncio")
        if found and bound_to != "asyncio":
            return None  # `asyncio` names something else here
        operations = [insert_before(call, "await "), replace(call.func, "asyncio.sleep")]
        if not found:
            operations.append(add_import("asyncio"))
        return NodeFix("Replace with `await asyncio.sleep()`", tuple(operations))

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def _note_argument_roles(self, call: cst.Call, name: str | None) -> None:
        """Remember the calls passed to an offload wrapper or to a function that takes awaitables."""
        arguments = [arg.value for arg in call.args if isinstance(arg.value, cst.Call)]
        if not arguments:
            return
        # `loop.run_in_executor` and `task_group.create_task` on objects the resolver cannot name still read as such.
        written = name if name is not None else dotted_name(call.func)
        if written is None:
            return
        if AWAITABLE_TAKERS.fullmatch(written):
            self._awaited.update(arguments)
            return
        wrappers = self.compiled_options().offload_wrappers
        if wrappers is not None and wrappers.fullmatch(written):
            for argument in arguments:
                self._offloaded[argument] = shape(call.func)

    def _skip_inner_calls(self, call: cst.Call) -> None:
        self._inside_reported.update(chained_calls(call))
