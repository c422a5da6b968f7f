"""RV103 unpaginated-list-endpoint: an HTTP endpoint returns or serializes every row of a query.

Three kinds of endpoints, three ways to decide:

- DRF generic list views and Django ``ListView``s: the class's ``queryset`` / ``get_queryset()`` return / ``model``
  is a candidate; the join step confirms it when the class is a list view (through the project's bases) and its
  effective pagination is none: ``pagination_class`` / ``paginate_by`` set nowhere in its lineage and, for DRF, no
  ``REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]`` in the project's settings, or explicitly ``None``.
- Function endpoints (Django views, DRF ``@api_view``, FastAPI/Starlette, Flask and aiohttp routes) and the ``get``
  method of ``APIView``/``View`` classes: a query result whose every row reaches the response (returned, put in a
  list or dict that is returned, serialized with ``many=True``, wrapped in ``Response``/``JsonResponse``/``jsonify``)
  is reported where the query is written, unless the function pages (``Paginator``, ``paginate_queryset``,
  ``paginate``).

A query is unbounded when nothing in its chain bounds the rows: no slice, ``limit()``, ``paginate()``, single-row
getter or aggregate. ``filter()`` and ``where()`` are not bounds: a user's orders grow without limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    descendants,
    keyword_argument,
    last_name,
    positional_arguments,
    string_value,
)
from reviewer.checks.django_orm import (
    LAZY_QUERYSET_METHODS,
    MANAGER_ATTRIBUTES,
    is_class_name,
)
from reviewer.frameworks import PAGINATION_ADVICE

# Chain methods that keep every row (Django querysets, SQLAlchemy statements, queries and results).
ROW_KEEPING = LAZY_QUERYSET_METHODS | frozenset({
    "iterator", "where", "filter_by", "join", "outerjoin", "join_from", "group_by", "having", "options",
    "execution_options", "params", "all", "unique", "scalars", "fetchall", "yield_per", "offset", "order_by",
})
SELECT_CALLS = frozenset({"sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select", "sqlmodel.select"})
# Calls that put every element of their argument in the response.
WHOLE_VALUE_WRAPPERS = frozenset({
    "builtins.list", "builtins.tuple", "builtins.sorted", "builtins.dict", "builtins.set",
    "rest_framework.response.Response", "django.http.JsonResponse", "django.http.response.JsonResponse",
    "flask.jsonify", "fastapi.responses.JSONResponse", "starlette.responses.JSONResponse",
    "aiohttp.web.json_response", "fastapi.encoders.jsonable_encoder",
})
# Anything in a function named like these pages its rows by hand.
PAGING_CALLS = frozenset({"Paginator", "paginate_queryset", "paginate", "get_paginated_response", "get_page", "page"})
ENDPOINT_DECORATORS = frozenset({
    "rest_framework.decorators.api_view",
    "django.views.decorators.http.require_GET",
    "django.views.decorators.http.require_safe",
    "django.views.decorators.http.require_http_methods",
})
ROUTE_METHODS = frozenset({"get", "route", "api_route"})
RESPONSE_CALLS = frozenset({
    "django.shortcuts.render", "django.http.HttpResponse", "django.http.JsonResponse",
    "django.http.response.JsonResponse", "django.template.response.TemplateResponse",
    "rest_framework.response.Response",
})


@dataclass(frozen=True)
class Unbounded:
    node: cst.CSTNode  # the query expression
    model: str  # the class whose rows it returns, as written


class UnpaginatedListEndpoint(Check):
    rule_id = "RV103"
    triggers = ("objects", "query", "select", "ListView", "pagination_class", "paginate_by", "_default_manager")
    requires_facts = ("class-bases", "settings")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict) -> None:
        super().__init__(ctx, spec, options)
        self._class: cst.ClassDef | None = None
        self._class_attributes: dict[str, cst.BaseExpression] = {}
        self._class_methods: dict[str, cst.FunctionDef] = {}
        # Per function being visited: plain names assigned in it (the last assignment wins: a local's latest
        # value before the return in straight-line code, which is what endpoints are).
        self._locals: list[dict[str, cst.BaseExpression]] = []
        self._endpoints: list[tuple[cst.FunctionDef, str] | None] = []

    # -- classes ------------------------------------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.at_module_level:
            self._class, self._class_attributes, self._class_methods = node, {}, {}

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if node is not self._class:
            return
        self._class = None
        view = self.ctx.qualify(node.name.value)
        for attribute in ("pagination_class", "paginate_by"):
            if attribute in self._class_attributes:
                value = self._class_attributes[attribute]
                state = "none" if isinstance(value, cst.Name) and value.value == "None" else "set"
                self.ctx.add_fact("pagination", (view, attribute, state))
        # A view that lists or pages by its own code is judged by its methods, not by its attributes.
        if self._class_methods.keys() & {"list", "paginate_queryset", "get_paginate_by", "get"}:
            self.ctx.add_fact("pagination", (view, "custom", "set"))
            return
        if not self.ctx.may_derive_from(node, ("rest_framework.", "django.views."), "View"):
            return  # only a list view's queryset is listed
        query = self._class_query()
        if query is None:
            return
        self.report(
            query.node,
            f"`{node.name.value}` lists every `{query.model}` row without pagination: {{via}}",
            requires=("unpaginated-view", view),
            related=((node.name, "the endpoint"),),
        )

    def _class_query(self) -> Unbounded | None:
        method = self._class_methods.get("get_queryset")
        if method is not None:
            return self._returned_query(method)
        queryset = self._class_attributes.get("queryset")
        if queryset is not None:
            return self._unbounded(queryset, {})
        model = self._class_attributes.get("model")
        if isinstance(model, (cst.Name, cst.Attribute)) and self._class_model(model):
            return Unbounded(model, _shown_name(model))
        return None

    def _class_model(self, node: cst.BaseExpression) -> bool:
        return is_class_name(_shown_name(node))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        if self.ctx.in_module_class_body:
            self._class_attributes[name] = node.value
        elif self._locals and self.ctx.function_frame is not None:
            self._locals[-1][name] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name):
            if self.ctx.in_module_class_body:
                self._class_attributes[node.target.value] = node.value
            elif self._locals:
                self._locals[-1][node.target.value] = node.value

    # -- functions ----------------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.ctx.in_module_class_body:
            self._class_methods[node.name.value] = node
        self._locals.append({})
        self._endpoints.append(self._endpoint_kind(node))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        assigned = self._locals.pop()
        endpoint = self._endpoints.pop()
        if endpoint is None:
            return
        body = _collected(node)
        if body.called & PAGING_CALLS:
            return
        _, framework = endpoint
        reported: set[int] = set()
        for value in body.returned:
            for query in self._queries_in(value, assigned):
                if id(query.node) in reported:
                    continue
                reported.add(id(query.node))
                self.report(
                    query.node,
                    f"`{node.name.value}()` returns every `{query.model}` row without pagination: "
                    f"{PAGINATION_ADVICE[framework]}",
                    related=((node.name, "the endpoint"),),
                )

    def _endpoint_kind(self, node: cst.FunctionDef) -> tuple[cst.FunctionDef, str] | None:
        for decorator in node.decorators:
            expression = decorator.decorator
            call = expression if isinstance(expression, cst.Call) else None
            qualified = self.ctx.qualified_name(call.func if call else expression)
            if qualified in ENDPOINT_DECORATORS:
                return (node, "django") if call is None or _allows_get(call) else None
            framework = self._route_framework(call)
            if framework is not None:
                return node, framework
        params = node.params.params
        if self.ctx.in_module_class_body and node.name.value == "get" and len(params) > 1 \
                and params[1].name.value == "request":
            return node, "django"
        if not self._class and self.ctx.at_module_level and _first_parameter(node) == "request" \
                and self._returns_response(node):
            return node, "django"
        return None

    def _route_framework(self, call: cst.Call | None) -> str | None:
        """``@app.get("/items")``, ``@router.get``, ``@bp.route``, ``@routes.get``: a GET route."""
        if call is None or not isinstance(call.func, cst.Attribute) or call.func.attr.value not in ROUTE_METHODS:
            return None
        if call.func.attr.value != "get" and not _allows_get(call):
            return None
        receiver = self.ctx.qualified_name(call.func.value) or ""
        if receiver.startswith(("fastapi.", "starlette.")):
            return "fastapi"
        if receiver.startswith("flask."):
            return "flask"
        if receiver.startswith("aiohttp."):
            return "aiohttp"
        imported = {name.split(".")[0] for name in self._imported_roots()}
        if "fastapi" in imported or "starlette" in imported:
            return "fastapi"
        if "flask" in imported:
            return "flask"
        if "aiohttp" in imported:
            return "aiohttp"
        return None

    def _imported_roots(self) -> set[str]:
        return {value for value in self.ctx.frames[0].bindings.values() if value}

    def _returns_response(self, node: cst.FunctionDef) -> bool:
        for value in _returned_values(node):
            if isinstance(value, cst.Call) and self.ctx.qualified_name(value.func) in RESPONSE_CALLS:
                return True
        return False

    def _returned_query(self, method: cst.FunctionDef) -> Unbounded | None:
        assigned: dict[str, cst.BaseExpression] = {}
        for statement in _straight_line(method):
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0].target, cst.Name):
                assigned[statement.targets[0].target.value] = statement.value
        values = list(_returned_values(method))
        found = [self._unbounded(value, assigned) for value in values]
        return found[0] if found and all(found) else None

    # -- queries ------------------------------------------------------------------------------------------------------

    def _queries_in(self, value: cst.BaseExpression, assigned: dict[str, cst.BaseExpression],
                    depth: int = 0) -> list[Unbounded]:
        """The unbounded queries whose every row ends up in ``value``."""
        if depth > 6:
            return []
        if isinstance(value, cst.Name) and value.value in assigned:
            return self._queries_in(assigned[value.value], assigned, depth + 1)
        query = self._unbounded(value, assigned)
        if query is not None:
            return [query]
        found: list[Unbounded] = []
        if isinstance(value, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            if value.for_in.inner_for_in is None and not value.for_in.ifs:
                found += self._queries_in(value.for_in.iter, assigned, depth + 1)
        elif isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement):
                    found += self._queries_in(element.value, assigned, depth + 1)
        elif isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                found += self._queries_in(element.value, assigned, depth + 1)
        elif isinstance(value, cst.Attribute) and value.attr.value == "data" and isinstance(value.value, cst.Call):
            found += self._serialized(value.value, assigned, depth)
        elif isinstance(value, cst.Call):
            qualified = self.ctx.qualified_name(value.func) or ""
            if qualified in WHOLE_VALUE_WRAPPERS or qualified in RESPONSE_CALLS:
                arguments = positional_arguments(value)
                for argument in arguments[:1] if qualified != "django.shortcuts.render" else ():
                    found += self._queries_in(argument, assigned, depth + 1)
                content = keyword_argument(value, "content") or keyword_argument(value, "data")
                if content is not None:
                    found += self._queries_in(content, assigned, depth + 1)
            else:
                found += self._serialized(value, assigned, depth)
        elif isinstance(value, cst.Await):
            found += self._queries_in(value.expression, assigned, depth + 1)
        return found

    def _serialized(self, call: cst.Call, assigned: dict[str, cst.BaseExpression], depth: int) -> list[Unbounded]:
        """``OrderSerializer(orders, many=True)`` / ``schema.dump(rows, many=True)``."""
        many = keyword_argument(call, "many")
        if not (isinstance(many, cst.Name) and many.value == "True"):
            return []
        positional = positional_arguments(call)
        instance = keyword_argument(call, "instance") or (positional[0] if positional else None)
        return [] if instance is None else self._queries_in(instance, assigned, depth + 1)

    def _unbounded(self, node: cst.BaseExpression, assigned: dict[str, cst.BaseExpression],
                   depth: int = 0) -> Unbounded | None:
        """``node`` as a query whose rows nothing bounds, or None. Through a local variable, the query is reported
        where the variable is assigned: that is where it is written."""
        current = node
        while depth < 8:
            depth += 1
            if isinstance(current, cst.Name) and current.value in assigned:
                current = node = assigned[current.value]
                continue
            if isinstance(current, cst.Await):
                current = current.expression
                continue
            if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
                method = current.func.attr.value
                receiver = current.func.value
                if method in ("scalars", "execute") and current.args and not _is_attribute_of_name(receiver, "self"):
                    statement = self._unbounded(current.args[0].value, assigned, depth)
                    return None if statement is None else Unbounded(node, statement.model)
                if method == "query" and len(current.args) == 1 and self._class_model(current.args[0].value):
                    return Unbounded(node, _shown_name(current.args[0].value))
                if method not in ROW_KEEPING:
                    return None
                current = receiver
                continue
            if isinstance(current, cst.Call) and self.ctx.qualified_name(current.func) in SELECT_CALLS:
                if len(current.args) == 1 and self._class_model(current.args[0].value):
                    return Unbounded(node, _shown_name(current.args[0].value))
                return None
            if isinstance(current, cst.Attribute):
                if current.attr.value in MANAGER_ATTRIBUTES | {"query"} and self._class_model(current.value):
                    if current is node:
                        return None  # a bare manager is not a query
                    return Unbounded(node, _shown_name(current.value))
                return None
            return None
        return None


# -- helpers ----------------------------------------------------------------------------------------------------------



def _shown_name(node: cst.BaseExpression) -> str:
    return last_name(node) or ""


def _is_attribute_of_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _first_parameter(node: cst.FunctionDef) -> str | None:
    params = node.params.params
    return params[0].name.value if params else None


def _allows_get(call: cst.Call) -> bool:
    """A route or ``api_view`` whose methods include GET (the default when none are listed)."""
    methods = keyword_argument(call, "methods")
    if methods is None:
        positional = [arg.value for arg in call.args if arg.keyword is None]
        methods = positional[0] if positional and isinstance(positional[0], (cst.List, cst.Tuple)) else None
    if not isinstance(methods, (cst.List, cst.Tuple, cst.Set)):
        return True
    names = {(string_value(element.value) or "").upper() for element in methods.elements}
    return "GET" in names


@dataclass
class _Body:
    """Returns and calls of one function, not of functions, lambdas or classes nested in it."""

    returned: list[cst.BaseExpression]
    called: set[str]


def _collected(node: cst.FunctionDef) -> _Body:
    body = _Body([], set())
    for inner in descendants(node, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if type(inner) is cst.Return and inner.value is not None:
            body.returned.append(inner.value)
        elif type(inner) is cst.Call:
            func = inner.func
            body.called.add(func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", ""))
    return body


def _returned_values(node: cst.FunctionDef) -> list[cst.BaseExpression]:
    return _collected(node).returned


def _straight_line(node: cst.FunctionDef) -> list[cst.BaseSmallStatement]:
    body = node.body
    statements = []
    for line in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(line, cst.SimpleStatementLine):
            statements.extend(line.body)
    return statements
