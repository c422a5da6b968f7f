"""RV102 lazy-relation-in-loop: inside a loop over the rows of a Django queryset, reading a relation that the
queryset did not load with ``select_related`` / ``prefetch_related`` (one query per row, the "N+1" pattern).

The check follows queryset chains rooted at a model's manager (``Order.objects.filter(...).select_related(...)``),
directly in the loop or through a variable bound earlier in the same function, and records which relation paths
the chain loads. Each attribute path read from a loop variable becomes a candidate; whether it is a relation, and
whether the chain loaded it, is decided in the join step by :class:`reviewer.model_index.ModelIndex`, which knows
every model's relations project-wide. Anything it does not know is not reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    Frame,
    bound_names,
    keyword_argument,
    positional_arguments,
    string_value,
)
from reviewer.checks.django_orm import MANAGER_ATTRIBUTES, is_class_name
from reviewer.frameworks import (
    OBJECT_READING_FIELDS,
    PER_OBJECT_METHOD_PREFIX,
    PER_OBJECT_METHODS,
    RELATED_FIELDS,
)
from reviewer.model_index import CACHED_MANAGER_METHODS, LazyAccess, MappedAccess

# Queryset methods that keep model instances as rows and do not change what is loaded with them.
ROW_PRESERVING_METHODS = frozenset({
    "all", "filter", "exclude", "order_by", "reverse", "distinct", "annotate", "alias", "only", "defer", "using",
    "select_for_update", "extra", "none", "complex_filter", "iterator",
})
# Related-manager methods that read (writes such as `create()` are not lazy loading).
MANAGER_READ_METHODS = CACHED_MANAGER_METHODS | frozenset({
    "filter", "exclude", "order_by", "first", "last", "get", "latest", "earliest", "values", "values_list",
    "annotate", "aggregate", "distinct", "iterator", "select_related", "prefetch_related", "only", "defer",
})
PREFETCH_CLASSES = frozenset({"django.db.models.Prefetch", "django.db.models.query.Prefetch"})

# -- SQLAlchemy -----------------------------------------------------------------------------------------------------
SELECT_CALLS = frozenset({
    "sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select",
    "sqlmodel.select",
})
# Statement, query and result methods that keep the same entities as rows.
MAPPED_ROW_PRESERVING = frozenset({
    "where", "filter", "filter_by", "order_by", "limit", "offset", "join", "outerjoin", "join_from", "distinct",
    "group_by", "having", "execution_options", "params", "with_for_update", "correlate", "all", "unique",
    "yield_per", "fetchall", "partitions", "slice",
})
# Loader options: those that load the relationship with the rows, those after which reading it never queries,
# and those that only lead the path to a nested option.
MAPPED_EAGER_LOADERS = frozenset({"selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload"})
MAPPED_SILENT_LOADERS = frozenset({"raiseload", "noload"})
MAPPED_PATH_LOADERS = frozenset({"defaultload", "lazyload"})
MAPPED_COLUMN_OPTIONS = frozenset({"load_only", "defer", "undefer", "undefer_group", "with_expression"})


@dataclass(frozen=True)
class Rows:
    """Model instances a queryset yields, and the relation paths it loads with them.

    Rows of a related manager iterated in an outer loop (``for item in order.items.all()``) are described from the
    outer queryset's model: ``via`` is the relation path to them (``("items",)``), and the loaded paths stay
    relative to that model (``prefetch_related("items__product")`` loads ``item.product``)."""

    model: str
    select_related: frozenset[str] = frozenset()
    prefetch_related: frozenset[str] = frozenset()
    select_all: bool = False
    via: tuple[str, ...] = ()
    label: str = ""  # how messages name one row: "`Order` row", "row of `order.items.all()`"
    # "django", "sqlalchemy", or "sqlalchemy-result" (an executed statement: iterating it gives `Row` tuples until
    # `.scalars()` turns it into entities).
    orm: str = "django"
    # SQLAlchemy: relationship paths ("__"-joined) the statement's loader options load or make silent.
    eager: frozenset[str] = frozenset()
    origin: cst.CSTNode | None = None  # where the queryset or statement is written: the place to fix


@dataclass
class RowVariable:
    name: str
    rows: Rows
    # The For or comprehension that binds it; for the object a serializer method receives, the method itself.
    loop: cst.CSTNode
    live: bool = True  # False once the loop body rebinds the name
    # (path, manager method) already reported or assigned in this loop: Django caches a related object on the
    # instance after the first read or assignment, and one finding per relation and loop says all there is to fix.
    reported: set[tuple[tuple[str, ...], str]] = field(default_factory=set)


def _with_prefixes(path: str) -> set[str]:
    """``a__b__c`` loads ``a``, ``a__b`` and ``a__b__c``."""
    parts = path.split("__")
    return {"__".join(parts[: end + 1]) for end in range(len(parts))}


class LazyRelationInLoop(Check):
    rule_id = "RV102"
    triggers = ("objects", "_default_manager", "select", "query", "scalars", "serializer")
    requires_facts = ("class-bases", "model-relations", "sa-relations")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict) -> None:
        super().__init__(ctx, spec, options)
        # Querysets bound to names, per frame (by the node that opens it; None for the module):
        # `orders = Order.objects.select_related("customer")`.
        self._querysets: dict[cst.CSTNode | None, dict[str, Rows]] = {}
        # Prefetch objects bound to names, per frame: `lines = Prefetch("items", queryset=...)`.
        self._prefetches: dict[cst.CSTNode | None, dict[str, cst.Call]] = {}
        self._row_variables: list[RowVariable] = []
        # Querysets returned by this module's functions and methods, by (enclosing frame node, name): None for a
        # function defined here whose return is not a queryset this rule understands.
        self._returns: dict[tuple[cst.CSTNode | None, str], Rows | None] = {}
        # The module-level class being visited (maybe a DRF serializer or view), and its `serializer_class`.
        self._class: cst.ClassDef | None = None
        self._maybe_serializer = False
        self._serializer_class: str | None = None
        # Functions being visited: (the def, its enclosing frame's node, rows of each return so far).
        self._returning: list[tuple[cst.FunctionDef, cst.CSTNode | None, list[Rows | None]]] = []
        # Attribute nodes that are not reads of a relation: assigned to, deleted, or a method being called.
        self._not_read: set[int] = set()

    # -- querysets ------------------------------------------------------------------------------------------------

    def _rows_of(self, node: cst.BaseExpression) -> Rows | None:
        """The rows iterating ``node`` gives, or None when it is not a queryset chain this rule understands."""
        if isinstance(node, cst.Subscript):
            return self._rows_of(node.value)  # a slice of a queryset is a queryset
        if isinstance(node, cst.Name):
            return self._bound_queryset(node.value)
        if isinstance(node, cst.Attribute):
            return self._class_queryset(node) or self._mapped_query(node)
        if not isinstance(node, cst.Call):
            return None
        if not isinstance(node.func, cst.Attribute):
            return self._returned_rows(node) or self._mapped_rows(node)
        receiver, method = node.func.value, node.func.attr.value
        if (isinstance(receiver, cst.Name) and receiver.value == "self") or self._is_super_call(receiver):
            return self._returned_rows(node)
        if method not in ROW_PRESERVING_METHODS and method not in ("select_related", "prefetch_related"):
            return self._mapped_rows(node)
        if method == "all" and not node.args and isinstance(receiver, cst.Attribute):
            related = self._path_from_row(receiver)
            if related is not None:
                return self._related_rows(*related)
        rows = self._manager_rows(receiver) or self._rows_of(receiver)
        if rows is None:
            return None
        if rows.orm != "django":
            return self._mapped_step(rows, node)
        if method in ROW_PRESERVING_METHODS:
            return rows
        if method == "select_related":
            return self._with_select_related(rows, node)
        if method == "prefetch_related":
            return self._with_prefetch_related(rows, node)
        return None  # values(), values_list(), custom manager methods, ...

    def _model_of(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a class named by ``node``, also one defined further down this module."""
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        model = self.ctx.qualified_name(node)
        if model is None and isinstance(node, cst.Name) and is_class_name(node.value):
            found, _ = self.ctx.lookup(node.value)
            if not found:
                model = self.ctx.qualify(node.value)
        return model

    def _manager_rows(self, node: cst.BaseExpression) -> Rows | None:
        """``Order.objects``: a fresh queryset of the model."""
        if not (isinstance(node, cst.Attribute) and node.attr.value in MANAGER_ATTRIBUTES):
            return None
        model = self._model_of(node.value)
        return Rows(model, label=f"`{model.rsplit('.', 1)[-1]}` row") if model is not None else None

    # -- querysets the module defines elsewhere --------------------------------------------------------------------

    def _is_super_call(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"

    def _class_frame(self) -> Frame | None:
        for frame in reversed(self.ctx.frames):
            if frame.kind == "class":
                return frame
        return None

    def _class_queryset(self, node: cst.Attribute) -> Rows | None:
        """``self.queryset`` in a method: the class attribute (a view's ``queryset = ...``)."""
        if not (isinstance(node.value, cst.Name) and node.value.value == "self"):
            return None
        frame = self._class_frame()
        return None if frame is None else self._querysets.get(frame.node, {}).get(node.attr.value)

    def _returned_rows(self, call: cst.Call) -> Rows | None:
        """A call of a function or method of this module (defined above the call) that returns a queryset:
        ``active_orders()``, ``self.get_queryset()``; ``get_queryset()`` of a view that does not define one returns
        its ``queryset`` attribute."""
        func = call.func
        if isinstance(func, cst.Name):
            frame = self._binding_frame(func.value)
            return None if frame is None else self._returns.get((frame.node, func.value))
        if not isinstance(func, cst.Attribute):
            return None
        frame = self._class_frame()
        if frame is None:
            return None
        method = func.attr.value
        if not self._is_super_call(func.value) and (frame.node, method) in self._returns:
            return self._returns[(frame.node, method)]
        return self._querysets.get(frame.node, {}).get("queryset") if method == "get_queryset" else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._returning.append((node, self.ctx.frames[-1].node, []))
        if self._maybe_serializer and self.ctx.in_module_class_body:
            self._bind_serialized_object(node)

    def visit_Return(self, node: cst.Return) -> None:
        frame = self.ctx.function_frame
        if self._returning and frame is not None and frame.node is self._returning[-1][0]:
            rows = self._rows_of(node.value) if node.value is not None else None
            if rows is not None and rows.origin is None:
                rows = replace(rows, origin=node.value)
            self._returning[-1][2].append(rows)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._end_loop(node)
        function, owner, returned = self._returning.pop()
        # Every return gives the same kind of rows: the function is a queryset factory (the first return's
        # loading is kept: one place to fix).
        understood = returned and all(
            rows is not None and rows.model == returned[0].model and rows.orm == returned[0].orm for rows in returned
        )
        self._returns[(owner, function.name.value)] = returned[0] if understood else None

    # -- SQLAlchemy ------------------------------------------------------------------------------------------------

    def _mapped_query(self, node: cst.Attribute) -> Rows | None:
        """Flask-SQLAlchemy's ``User.query``."""
        if node.attr.value != "query" or not isinstance(node.value, cst.Name) or not is_class_name(node.value.value):
            return None
        model = self._model_of(node.value)
        return None if model is None else self._mapped_entity(model, node)

    @staticmethod
    def _mapped_entity(model: str, origin: cst.CSTNode) -> Rows:
        return Rows(model, label=f"`{model.rsplit('.', 1)[-1]}` row", orm="sqlalchemy", origin=origin)

    def _single_entity(self, call: cst.Call) -> str | None:
        """``select(User)`` / ``session.query(User)``: the one class selected (not columns, not several)."""
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        value = call.args[0].value
        last = value.attr.value if isinstance(value, cst.Attribute) else getattr(value, "value", "")
        return self._model_of(value) if isinstance(last, str) and is_class_name(last) else None

    def _mapped_rows(self, node: cst.Call) -> Rows | None:
        """Rows of an SQLAlchemy statement, query or result: ``session.scalars(select(User).options(...))``,
        ``session.execute(stmt).scalars().all()``, ``session.query(User).filter(...)``, ``User.query.all()``."""
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        if method == "query" or self.ctx.qualified_name(node.func) in SELECT_CALLS:
            model = self._single_entity(node)
            return None if model is None else self._mapped_entity(model, node)
        if method is None:
            return None
        if method in ("scalars", "execute") and node.args:
            statement = node.args[0].value
            rows = self._rows_of(statement)
            if rows is None or rows.orm != "sqlalchemy":
                return None
            return rows if method == "scalars" else replace(rows, orm="sqlalchemy-result")
        rows = self._rows_of(node.func.value)
        return None if rows is None or rows.orm == "django" else self._mapped_step(rows, node)

    def _mapped_step(self, rows: Rows, node: cst.Call) -> Rows | None:
        """The rows after calling a method on an SQLAlchemy statement, query or result."""
        method = node.func.attr.value
        if method == "scalars" and not node.args:
            return replace(rows, orm="sqlalchemy")
        if method in MAPPED_ROW_PRESERVING:
            return rows
        if method == "options":
            eager = set(rows.eager)
            for arg in node.args:
                loaded = self._loader_paths(arg.value)
                if loaded is None:
                    return None
                eager |= loaded[1]
            return replace(rows, eager=frozenset(eager))
        return None

    def _loader_paths(self, node: cst.BaseExpression) -> tuple[tuple[str, ...], set[str]] | None:
        """What a loader option loads: (the path it ends at, the "__"-joined paths it loads or silences). None for
        what cannot be read (a wildcard, a computed option)."""
        if not isinstance(node, cst.Call):
            return None
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Call):
            inner = self._loader_paths(node.func.value)  # joinedload(User.posts).selectinload(Post.comments)
            if inner is None:
                return None
            prefix, loaded = inner
            loader = node.func.attr.value
        else:
            qualified = self.ctx.qualified_name(node.func) or ""
            if not qualified.startswith("sqlalchemy.orm."):
                return None
            prefix, loaded, loader = (), set(), qualified.rsplit(".", 1)[-1]
            if loader == "Load":  # Load(User): the root of a chained option
                return (), set()
        if loader in MAPPED_COLUMN_OPTIONS:
            return prefix, loaded
        if loader not in MAPPED_EAGER_LOADERS | MAPPED_SILENT_LOADERS | MAPPED_PATH_LOADERS:
            return None
        path = list(prefix)
        for arg in node.args:
            if arg.keyword is not None:
                continue
            step = self._relationship_named(arg.value)
            if step is None:
                return None
            path.extend(step)
            if loader not in MAPPED_PATH_LOADERS:
                loaded |= {"__".join(path[: end + 1]) for end in range(len(prefix), len(path))}
        return tuple(path), loaded

    @staticmethod
    def _relationship_named(node: cst.BaseExpression) -> list[str] | None:
        """``User.posts``, ``User.posts.of_type(X)`` or the 1.x string path ``"posts.comments"``."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "of_type":
            node = node.func.value
        if isinstance(node, cst.Attribute):
            return [node.attr.value]
        path = string_value(node)
        if path is None or "*" in path or not path:
            return None
        return path.split(".")

    @staticmethod
    def _related_rows(variable: RowVariable, path: tuple[str, ...]) -> Rows:
        """``order.items.all()`` iterated in the loop over ``order``: the rows of a related manager (the index
        confirms that ``items`` is one). Only ``all()``: it is what the prefetch cache answers, so what the outer
        queryset loaded under ``items__`` applies to these rows."""
        written = ".".join((variable.name, *path))
        return replace(variable.rows, via=variable.rows.via + path, label=f"row of `{written}.all()`")

    def _with_select_related(self, rows: Rows, call: cst.Call) -> Rows | None:
        if not call.args:
            return replace(rows, select_all=True)
        paths: set[str] = set()
        for arg in call.args:
            path = string_value(arg.value) if arg.keyword is None and not arg.star else None
            if path is None:
                return None  # computed paths: what is loaded is unknown
            paths |= _with_prefixes(path)
        return replace(rows, select_related=rows.select_related | paths)

    def _with_prefetch_related(self, rows: Rows, call: cst.Call) -> Rows | None:
        paths: set[str] = set()
        for arg in call.args:
            if arg.keyword is not None or arg.star:
                return None
            path = string_value(arg.value)
            if path is not None:
                paths |= _with_prefixes(path)
                continue
            prefetch = arg.value
            if isinstance(prefetch, cst.Name):
                frame = self._binding_frame(prefetch.value)
                prefetch = None if frame is None else self._prefetches.get(frame.node, {}).get(prefetch.value)
            if not self._is_prefetch(prefetch):
                return None
            positional = positional_arguments(prefetch)
            path = string_value(positional[0]) if positional else None
            if path is None:
                return None
            loaded = _with_prefixes(path)
            queryset = keyword_argument(prefetch, "queryset") or (positional[1] if len(positional) > 1 else None)
            if queryset is not None:
                # What the prefetch's own queryset loads is loaded under its lookup.
                inner = self._rows_of(queryset)
                if inner is None or inner.select_all or inner.via:
                    return None
                loaded |= {f"{path}__{inner_path}" for inner_path in inner.select_related | inner.prefetch_related}
            if keyword_argument(prefetch, "to_attr") is not None:
                # The objects land in another attribute (a list): the manager itself, and paths under it, still
                # query.
                loaded = {
                    loaded_path for loaded_path in loaded
                    if loaded_path != path and not loaded_path.startswith(f"{path}__")
                }
            paths |= loaded
        return replace(rows, prefetch_related=rows.prefetch_related | paths)

    def _is_prefetch(self, node: cst.BaseExpression | None) -> bool:
        return isinstance(node, cst.Call) and self.ctx.qualified_name(node.func) in PREFETCH_CLASSES

    def _binding_frame(self, name: str) -> Frame | None:
        """The frame whose binding of ``name`` is visible here (as :meth:`FileContext.lookup` finds it)."""
        frames = self.ctx.frames
        for index in range(len(frames) - 1, -1, -1):
            if frames[index].kind == "class" and index != len(frames) - 1:
                continue
            if name in frames[index].bindings:
                return frames[index]
        return None

    def _bound_queryset(self, name: str) -> Rows | None:
        frame = self._binding_frame(name)
        return None if frame is None else self._querysets.get(frame.node, {}).get(name)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        """Record (or forget) what a plain name is bound to in the current frame, and end row variables that the
        loop body rebinds."""
        if not isinstance(target, cst.Name):
            for element in getattr(target, "elements", ()):
                self._bind(element.value, None)
            return
        for variable in self._row_variables:
            if variable.name == target.value:
                variable.live = False
        rows = self._rows_of(value) if value is not None else None  # before forgetting: `qs = qs.filter()`
        self._forget(target.value)
        frame = self.ctx.frames[-1].node
        if rows is not None:
            if rows.origin is None:
                rows = replace(rows, origin=value)
            self._querysets.setdefault(frame, {})[target.value] = rows
        elif self._is_prefetch(value):
            self._prefetches.setdefault(frame, {})[target.value] = value

    def _forget(self, name: str) -> None:
        frame = self.ctx.frames[-1].node
        self._querysets.get(frame, {}).pop(name, None)
        self._prefetches.get(frame, {}).pop(name, None)

    def _not_read_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            self._not_read.add(id(target))

    def _cache_assigned(self, target: cst.BaseExpression) -> None:
        """Assigning a relation of a row fills Django's cache for it: later reads in the loop do not query. Called
        when leaving the assignment, because its value (`row.customer = row.customer or x`) is read first."""
        found = self._path_from_row(target) if isinstance(target, cst.Attribute) else None
        if found is not None:
            variable, path = found
            variable.reported.add((path, ""))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._not_read_target(target.target)
        if self.ctx.in_module_class_body and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._field_assigned(node.targets[0].target.value, node.value)

    def leave_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._cache_assigned(target.target)
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._not_read_target(node.target)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._cache_assigned(node.target)
        self._bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._not_read_target(node.target)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, None)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def visit_Del(self, node: cst.Del) -> None:
        targets = node.target.elements if isinstance(node.target, cst.Tuple) else ()
        for target in [element.value for element in targets] or [node.target]:
            if isinstance(target, cst.Attribute):
                self._not_read.add(id(target))

    # -- loops ------------------------------------------------------------------------------------------------------

    def _bind_rows(self, target: cst.BaseExpression, iterable: cst.BaseExpression, loop: cst.CSTNode) -> None:
        """``for order in <queryset>`` or ``for index, order in enumerate(<queryset>)``."""
        if isinstance(target, cst.Tuple) and len(target.elements) == 2 and isinstance(iterable, cst.Call) \
                and self.ctx.qualified_name(iterable.func) == "builtins.enumerate" and iterable.args \
                and iterable.args[0].keyword is None and not iterable.args[0].star:
            target, iterable = target.elements[1].value, iterable.args[0].value
        if isinstance(target, cst.Name):
            rows = self._rows_of(iterable)
            if rows is not None and rows.orm != "sqlalchemy-result":
                if rows.origin is None:
                    rows = replace(rows, origin=iterable)
                self._row_variables.append(RowVariable(target.value, rows, loop))

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is None:
            self._bind_rows(node.target, node.iter, node)
        # The loop target rebinds its names in this frame (comprehension targets have their own frame).
        for name in bound_names(node.target):
            self._forget(name)

    def leave_For(self, node: cst.For) -> None:
        self._end_loop(node)

    def _enter_comprehension(self, node: cst.CSTNode) -> None:
        clause = node.for_in
        while clause is not None:
            if clause.asynchronous is None:
                self._bind_rows(clause.target, clause.iter, node)
            clause = clause.inner_for_in

    def _end_loop(self, node: cst.CSTNode) -> None:
        while self._row_variables and self._row_variables[-1].loop is node:
            self._row_variables.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter_comprehension
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _end_loop

    def _row_variable(self, name: str) -> RowVariable | None:
        """The live row variable ``name`` refers to here: its loop must run the current node on every iteration,
        within the current function (a nested ``def`` or ``lambda`` runs whenever it is called)."""
        loops = self.ctx.loops
        boundary = max((i for i, loop in enumerate(loops) if loop is None), default=-1)
        running = {id(loop) for loop in loops[boundary + 1 :]}
        function = self.ctx.function_frame
        if function is not None:
            running.add(id(function.node))  # a serializer method runs once per object
        for variable in reversed(self._row_variables):
            if variable.name == name:
                return variable if variable.live and id(variable.loop) in running else None
        return None

    # -- accesses ---------------------------------------------------------------------------------------------------

    def _path_from_row(self, node: cst.Attribute) -> tuple[RowVariable, tuple[str, ...]] | None:
        """``order.customer.address`` -> (the row variable ``order``, ("customer", "address"))."""
        path: list[str] = []
        current: cst.BaseExpression = node
        while isinstance(current, cst.Attribute):
            path.append(current.attr.value)
            current = current.value
        if not isinstance(current, cst.Name):
            return None
        variable = self._row_variable(current.value)
        return (variable, tuple(reversed(path))) if variable is not None else None

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if id(node) in self._not_read:
            return
        found = self._path_from_row(node)
        if found is not None:
            self._report(node, *found, "")

    def visit_Call(self, node: cst.Call) -> None:
        self._many_use(node)
        func = node.func
        if isinstance(func, cst.Attribute):
            self._not_read.add(id(func))
        if not (isinstance(func, cst.Attribute) and func.attr.value in MANAGER_READ_METHODS
                and isinstance(func.value, cst.Attribute)):
            return
        found = self._path_from_row(func.value)
        if found is not None and found[0].rows.orm != "sqlalchemy":
            self._report(node, *found, func.attr.value)

    def _report(self, node: cst.CSTNode, variable: RowVariable, path: tuple[str, ...], call: str) -> None:
        if (path, call) in variable.reported:
            return
        variable.reported.add((path, call))
        rows = variable.rows
        related = ((rows.origin, "the rows are loaded here"),) if rows.origin is not None else ()
        written = ".".join((variable.name, *path)) + (f".{call}()" if call else "")
        if rows.orm == "drf":
            self._report_serialized(node, written, path, call)
            return
        if rows.orm == "sqlalchemy":
            model = rows.model.rsplit(".", 1)[-1]
            if len(path) == 1:
                fix = f"load it with the rows: `.options(selectinload({model}.{path[0]}))`"
            else:
                fix = f"load `{'.'.join(path)}` with the rows: chain loaders in `.options(...)`"
            self.report(node, f"`{written}` runs a query for each {rows.label}: {fix}", related=related,
                        requires=("sa-lazy-relation", MappedAccess(rows.model, path, rows.eager).key()))
            return
        loaded_as = "__".join((*rows.via, *path))
        if call and call not in CACHED_MANAGER_METHODS:
            fix = (
                f"`{call}()` builds a new query even on prefetched rows: prefetch the rows it needs once with "
                f"`.prefetch_related(Prefetch(\"{loaded_as}\", queryset=..., to_attr=...))` and read that list"
            )
        elif call or rows.via:  # select_related cannot follow a related manager
            fix = f"add `.prefetch_related(\"{loaded_as}\")` to the queryset"
        else:
            fix = f"add `.select_related(\"{loaded_as}\")` to the queryset"
        access = LazyAccess(
            rows.model, (*rows.via, *path), call, rows.select_related, rows.prefetch_related, rows.select_all,
            len(rows.via),
        )
        self.report(node, f"`{written}` runs a query for each {rows.label}: {fix}", related=related,
                    requires=("lazy-relation", access.key()))

    # -- DRF serializers ---------------------------------------------------------------------------------------------
    # A serializer used for a list reads, for every object, its nested serializers' relations, its relation fields
    # with many=True, dotted `source=` paths and what its `get_<field>()` methods read from the object. Each read is a
    # candidate of the serializer; the join step confirms it when a list view or a `many=True` use of the serializer
    # (recorded here as located facts) gives it rows that do not load the relation, and points at that queryset.

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.at_module_level:
            self._class, self._serializer_class = node, None
            # Django forms, models and views have look-alike Meta.fields and attributes: not serializers.
            self._maybe_serializer = self.ctx.may_derive_from(node, ("rest_framework.",), "Serializer")
        elif self._maybe_serializer and node.name.value == "Meta" and self.ctx.in_module_class_body:
            self._read_meta_fields(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if node is not self._class:
            return
        if self._serializer_class is not None:
            # The class's own bindings are recorded under its node (its scope is closed by now).
            if (node, "get_queryset") in self._returns:
                rows = self._returns[(node, "get_queryset")]
            else:
                rows = self._querysets.get(node, {}).get("queryset")
            if rows is not None and rows.orm == "django":
                self._record_use(self._serializer_class, self.ctx.qualify(node.name.value), rows,
                                 rows.origin or node.name)
        self._class = None

    def _serializer(self) -> str:
        return self.ctx.qualify(self._class.name.value)

    def _record_use(self, serializer: str, view: str, rows: Rows, at: cst.CSTNode) -> None:
        loaded = LazyAccess(rows.model, rows.via, "", rows.select_related, rows.prefetch_related, rows.select_all,
                            len(rows.via))
        self.ctx.add_fact("serializer-use", (serializer, view, loaded.key()), at=at)

    def _report_serialized(self, node: cst.CSTNode, written: str, path: tuple[str, ...], call: str) -> None:
        serializer = self._serializer()
        key = json.dumps({"serializer": serializer, "path": list(path), "call": call}, sort_keys=True)
        self.report(node, f"`{written}` runs a query for each object `{serializer.rsplit('.', 1)[-1]}` serializes "
                          "in a list: {via}", requires=("serializer-lazy", key))

    def _bind_serialized_object(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        if not (name.startswith(PER_OBJECT_METHOD_PREFIX) or name in PER_OBJECT_METHODS):
            return
        params = node.params.params
        if len(params) >= 2 and params[0].name.value == "self":
            label = f"object `{self._class.name.value}` serializes"
            self._row_variables.append(RowVariable(params[1].name.value, Rows("", label=label, orm="drf"), node))

    def _field_assigned(self, name: str, value: cst.BaseExpression) -> None:
        """A declared serializer field: a nested serializer, a relation field with many=True, a dotted source."""
        if name == "serializer_class":
            self._serializer_class = self.ctx.qualified_name(value) if isinstance(value, (cst.Name, cst.Attribute)) \
                else None
            return
        if not self._maybe_serializer or not isinstance(value, cst.Call):
            return
        source = string_value(keyword_argument(value, "source"))
        if source == "*":
            return
        path = tuple((source or name).split("."))
        many = isinstance(keyword_argument(value, "many"), cst.Name) and keyword_argument(value, "many").value == "True"
        callee = self.ctx.qualified_name(value.func) or ""
        written = f"obj.{'.'.join(path)}"
        if callee in RELATED_FIELDS:
            if many:
                self._report_serialized(value, f"{written}.all()", path, "all")
            elif callee in OBJECT_READING_FIELDS:
                self._report_serialized(value, written, path, "")
            return
        if callee.startswith("rest_framework.") or not is_class_name(callee.rsplit(".", 1)[-1]):
            if source is not None:  # a plain field reading through relations: each step may query
                for end in range(1, len(path)):
                    self._report_serialized(value, f"obj.{'.'.join(path[:end])}", path[:end], "")
            return
        # Maybe a nested serializer: the join step knows whether the class is one.
        self.ctx.add_fact("serializer-nested", (self._serializer(), ".".join(path), callee, many))
        self._report_serialized(value, f"{written}.all()" if many else written, path, "all" if many else "")

    def _read_meta_fields(self, meta: cst.ClassDef) -> None:
        """``Meta.fields`` of a model serializer: a many-valued relation listed there becomes a
        ``PrimaryKeyRelatedField(many=True)``, which reads ``obj.<field>.all()``."""
        if not isinstance(meta.body, cst.IndentedBlock):
            return
        for line in meta.body.body:
            statement = line.body[0] if isinstance(line, cst.SimpleStatementLine) and line.body else None
            if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0].target, cst.Name)
                    and statement.targets[0].target.value == "fields"
                    and isinstance(statement.value, (cst.List, cst.Tuple))):
                continue
            declared = self._declared_fields()
            for element in statement.value.elements:
                field = string_value(element.value)
                if field and field not in declared:
                    self._report_serialized(element.value, f"obj.{field}.all()", (field,), "all")

    def _declared_fields(self) -> set[str]:
        body = self._class.body
        names: set[str] = set()
        for line in body.body if isinstance(body, cst.IndentedBlock) else ():
            if isinstance(line, cst.SimpleStatementLine):
                for statement in line.body:
                    if isinstance(statement, (cst.Assign, cst.AnnAssign)):
                        targets = statement.targets if isinstance(statement, cst.Assign) else [statement]
                        names |= {t.target.value for t in targets if isinstance(t.target, cst.Name)}
        return names

    def _many_use(self, node: cst.Call) -> None:
        """``OrderSerializer(orders, many=True)``."""
        many = keyword_argument(node, "many")
        if not (isinstance(many, cst.Name) and many.value == "True"):
            return
        positional = positional_arguments(node)
        instance = keyword_argument(node, "instance") or (positional[0] if positional else None)
        serializer = self.ctx.qualified_name(node.func)
        if instance is None or serializer is None or not is_class_name(serializer.rsplit(".", 1)[-1]):
            return
        rows = self._rows_of(instance)
        if rows is not None and rows.orm == "django":
            self._record_use(serializer, "", rows, rows.origin or instance)
