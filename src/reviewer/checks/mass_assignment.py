"""RV107 mass-assignment: request data bound to model fields wholesale, so the client chooses which fields it sets.

Request data is recognized by shape, within one function: attributes of the request object (``request.POST``,
``request.data``, ``request.json``, ``request.form``, ``request.args``, ``request.GET``, ``request.query_params``,
``request.values``), calls on it (``request.get_json()``, ``await request.json()``, ``await request.form()``,
``await request.post()``), ``json.loads(request.body)``, their ``.dict()``/``.to_dict()``/``.copy()``/``dict()``
copies, and locals assigned from any of these. The request object is Flask's/Quart's ``request`` by import, or a
name ``request``/``req``/``self.request`` (a view's parameter). Data that went through a Pydantic model, a
serializer's ``validated_data`` or a form's ``cleaned_data`` is not request data here, whatever its fields.

Reported:

- ``**payload`` passed to a manager's or queryset's write method (``Order.objects.create(**request.data)``,
  ``.get_or_create``, ``.update_or_create``, ``.update``), to any other ``.update(**payload)`` except on a local
  dict, to SQLAlchemy ``insert()/update().values()``, and a positional payload to a SQLAlchemy ``query().update()``;
- ``Model(**payload)``: directly when the function then persists the object (``session.add(obj)``,
  ``obj.save()``), otherwise as a candidate the join step keeps when the class is a Django model;
- ``setattr(obj, key, ...)`` in a loop over the payload's keys or items, unless the key is tested for membership in
  the loop before;
- a DRF ``ModelSerializer`` whose ``Meta`` has ``fields = "__all__"`` or ``exclude``, when this file uses it for
  writes anywhere in the project: as the ``serializer_class`` of a view that accepts writes (create/update
  generics, ``ModelViewSet``, the create/update mixins), or called with ``data=`` (decided in the join step, with
  the write as a related location);
- a Django ``ModelForm`` with ``fields = "__all__"`` or ``exclude`` in its ``Meta``, and ``CreateView``/
  ``UpdateView`` with ``fields = "__all__"``: they render and accept every editable field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import Check, FileContext, bound_names, shape, string_value
from reviewer.checks.django_orm import is_class_name, split_at_manager

REQUEST_NAMES = frozenset({"request", "req", "self.request"})
IMPORTED_REQUESTS = frozenset({"flask.request", "quart.request"})
PAYLOAD_ATTRIBUTES = frozenset({"POST", "GET", "data", "json", "form", "args", "values", "query_params"})
# Methods of the request object that return its parsed body.
PAYLOAD_METHODS = frozenset({"get_json", "json", "form", "post"})
# Methods that copy a payload into another mapping of the same keys.
COPY_METHODS = frozenset({"dict", "to_dict", "copy"})
JSON_LOADS = frozenset({"json.loads", "orjson.loads", "ujson.loads"})
MANAGER_WRITE_METHODS = frozenset({"create", "get_or_create", "update_or_create", "update"})
PERSIST_METHODS = frozenset({"add", "add_all", "merge", "save"})
SQLALCHEMY_STATEMENTS = frozenset({"sqlalchemy.insert", "sqlalchemy.update", "sqlalchemy.sql.insert",
                                   "sqlalchemy.sql.update", "sqlalchemy.dialects.postgresql.insert"})
MODEL_SERIALIZERS = frozenset({
    "rest_framework.serializers.ModelSerializer", "rest_framework.serializers.HyperlinkedModelSerializer",
})
MODEL_FORMS = frozenset({"django.forms.ModelForm", "django.forms.models.ModelForm"})
EDIT_VIEWS = frozenset({
    f"django.views.generic.{module}{name}"
    for module in ("", "edit.")
    for name in ("CreateView", "UpdateView")
})
# DRF views whose serializer deserializes request data.
WRITE_VIEWS = frozenset({
    f"rest_framework.{name}"
    for name in (
        "generics.CreateAPIView", "generics.UpdateAPIView", "generics.ListCreateAPIView",
        "generics.RetrieveUpdateAPIView", "generics.RetrieveUpdateDestroyAPIView", "viewsets.ModelViewSet",
        "mixins.CreateModelMixin", "mixins.UpdateModelMixin",
    )
})

ADVICE = "accept an explicit list of fields (a form, a serializer or a Pydantic model that names them)"


@dataclass
class FunctionState:
    payloads: set[str] = field(default_factory=set)  # locals holding request data
    dicts: set[str] = field(default_factory=set)  # locals holding plain dicts built here
    # Model(**payload) calls: (call, name bound to the instance or None, model's qualified name or None)
    constructions: list[tuple[cst.Call, str | None, str | None]] = field(default_factory=list)
    persisted_names: set[str] = field(default_factory=set)
    persisted_calls: set[cst.CSTNode] = field(default_factory=set)
    # Loops over a payload: the loop node -> the key variable; and keys tested for membership inside them.
    key_loops: dict[cst.For, str] = field(default_factory=dict)
    checked_keys: set[str] = field(default_factory=set)


@dataclass
class SerializerMeta:
    node: cst.CSTNode  # the `fields = "__all__"` / `exclude = ...` assignment
    how: str


class MassAssignment(Check):
    rule_id = "RV107"
    triggers = ("request", "ModelSerializer", "ModelForm", "CreateView", "UpdateView")
    requires_facts = ("class-bases",)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict) -> None:
        super().__init__(ctx, spec, options)
        self._functions: dict[cst.CSTNode, FunctionState] = {}
        self._open_loops: list[cst.For] = []

    # -- functions ------------------------------------------------------------------------------------------------

    def _state(self) -> FunctionState | None:
        frame = self.ctx.function_frame
        if frame is None or frame.node is None:
            return None
        return self._functions.setdefault(frame.node, FunctionState())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        state = self._functions.pop(original_node, None)
        if state is None:
            return
        for call, bound, model in state.constructions:
            written = shape(call.func)
            message = (
                f"`{written}(**...)` sets every model field named in the request data: a client can set fields it "
                f"must not (owner, role, price); {ADVICE}"
            )
            if call in state.persisted_calls or (bound is not None and bound in state.persisted_names):
                self.report(call, message)
            elif model is not None:
                self.report(call, message, requires=("django-model", model))

    # -- request data ---------------------------------------------------------------------------------------------

    def _is_request(self, node: cst.BaseExpression) -> bool:
        qualified = self.ctx.qualified_name(node)
        if qualified in IMPORTED_REQUESTS:
            return True
        if qualified is not None:
            return False
        written = shape(node)
        return written in REQUEST_NAMES

    def _is_payload(self, node: cst.BaseExpression, state: FunctionState | None) -> bool:
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.BooleanOperation):
            return self._is_payload(node.left, state) or self._is_payload(node.right, state)
        if isinstance(node, cst.Name):
            return state is not None and node.value in state.payloads
        if isinstance(node, cst.Attribute):
            return node.attr.value in PAYLOAD_ATTRIBUTES and self._is_request(node.value)
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        qualified = self.ctx.qualified_name(func)
        argument = node.args[0].value if node.args and node.args[0].keyword is None else None
        if isinstance(func, cst.Attribute) and qualified not in JSON_LOADS:
            method = func.attr.value
            if method in PAYLOAD_METHODS and self._is_request(func.value):
                return True
            return method in COPY_METHODS and self._is_payload(func.value, state)
        if argument is None:
            return False
        if qualified == "builtins.dict":
            return self._is_payload(argument, state)
        if qualified in JSON_LOADS:
            if isinstance(argument, cst.Await):
                argument = argument.expression
            if isinstance(argument, cst.Call) and isinstance(argument.func, cst.Attribute):
                return argument.func.attr.value == "body" and self._is_request(argument.func.value)
            return (
                isinstance(argument, cst.Attribute) and argument.attr.value in ("body", "data")
                and self._is_request(argument.value)
            )
        return False

    # -- assignments ----------------------------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        state = self._state()
        if state is None:
            return
        for target in original_node.targets:
            self._bind(state, target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        state = self._state()
        if state is not None and original_node.value is not None:
            self._bind(state, original_node.target, original_node.value)

    def _bind(self, state: FunctionState, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        names = bound_names(target)
        for name in names:
            state.payloads.discard(name)
            state.dicts.discard(name)
        if not isinstance(target, cst.Name):
            return
        if self._is_payload(value, state):
            state.payloads.add(target.value)
        elif isinstance(value, cst.Dict) or self.ctx.qualified_name(value) == "builtins.dict()":
            state.dicts.add(target.value)
        for index, (call, bound, model) in enumerate(state.constructions):
            if call is value and bound is None:
                state.constructions[index] = (call, target.value, model)

    # -- loops ----------------------------------------------------------------------------------------------------

    def visit_For(self, node: cst.For) -> None:
        state = self._state()
        if state is None:
            return
        iterated = node.iter
        key: cst.BaseExpression | None = None
        if (
            isinstance(iterated, cst.Call) and isinstance(iterated.func, cst.Attribute)
            and iterated.func.attr.value in ("items", "keys")
            and self._is_payload(iterated.func.value, state)
        ):
            target = node.target
            if iterated.func.attr.value == "items" and isinstance(target, cst.Tuple) and target.elements:
                key = target.elements[0].value
            elif iterated.func.attr.value == "keys":
                key = target
        elif self._is_payload(iterated, state):
            key = node.target
        if isinstance(key, cst.Name):
            state.key_loops[node] = key.value
            state.checked_keys.discard(key.value)
            self._open_loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        if self._open_loops and self._open_loops[-1] is original_node:
            self._open_loops.pop()

    def visit_Comparison(self, node: cst.Comparison) -> None:
        state = self._state()
        if state is None or not self._open_loops or not isinstance(node.left, cst.Name):
            return
        if any(isinstance(c.operator, (cst.In, cst.NotIn)) for c in node.comparisons):
            state.checked_keys.add(node.left.value)

    # -- calls ----------------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        self._note_serializer_write(node)
        state = self._state()
        if state is None:
            return
        self._note_persistence(state, node)
        func = node.func
        qualified = self.ctx.qualified_name(func)
        if qualified == "builtins.setattr":
            self._check_setattr(state, node)
            return
        payload = next(
            (arg.value for arg in node.args if arg.star == "**" and self._is_payload(arg.value, state)), None
        )
        if payload is None:
            self._check_positional_update(state, node)
            return
        written = shape(func)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            chain = split_at_manager(qualified or shape(func))
            statement = self._sqlalchemy_statement(func.value) if method == "values" else None
            if (chain is not None and method in MANAGER_WRITE_METHODS) or statement is not None:
                self.report(node, self._message(written, payload))
                return
            if method == "update" and not self._is_local_dict(state, func.value):
                self.report(node, self._message(written, payload))
                return
            if method != "create" or not is_class_name(shape(func.value).rsplit(".", 1)[-1]):
                return
            self.report(node, self._message(written, payload))  # `Order.create(**data)`: peewee, Tortoise
            return
        if isinstance(func, cst.Name) and is_class_name(func.value):
            if qualified is None and not self.ctx.lookup(func.value)[0]:
                qualified = self.ctx.qualify(func.value)  # a class defined in this module
            state.constructions.append((node, None, qualified))

    def _message(self, written: str, payload: cst.BaseExpression) -> str:
        return (
            f"`{written}()` receives `{shape(payload)}` from the request as a whole: a client can set fields it must "
            f"not (owner, role, price); {ADVICE}"
        )

    def _is_local_dict(self, state: FunctionState, receiver: cst.BaseExpression) -> bool:
        return isinstance(receiver, (cst.Dict, cst.DictComp)) or (
            isinstance(receiver, cst.Name) and receiver.value in state.dicts
        )

    def _sqlalchemy_statement(self, node: cst.BaseExpression) -> str | None:
        """``insert(User)`` / ``update(User).where(...)``: the statement function, else None."""
        while isinstance(node, cst.Call):
            qualified = self.ctx.qualified_name(node.func)
            if qualified in SQLALCHEMY_STATEMENTS:
                return qualified
            if not isinstance(node.func, cst.Attribute):
                return None
            node = node.func.value
        return None

    def _check_positional_update(self, state: FunctionState, call: cst.Call) -> None:
        """``session.query(User).filter_by(id=id).update(request.json)``: SQLAlchemy's bulk update takes a dict."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("update", "values") and call.args):
            return
        first = call.args[0]
        if first.keyword is not None or first.star or not self._is_payload(first.value, state):
            return
        receiver = shape(func.value)
        is_query = func.attr.value == "update" and ".query()" in f".{receiver}"
        if is_query or self._sqlalchemy_statement(func.value) is not None:
            self.report(call, self._message(shape(func), first.value))

    def _check_setattr(self, state: FunctionState, call: cst.Call) -> None:
        if len(call.args) < 3 or not isinstance(call.args[1].value, cst.Name):
            return
        key = call.args[1].value.value
        for loop in reversed(self._open_loops):
            if state.key_loops.get(loop) == key:
                if key in state.checked_keys:
                    return
                self.report(
                    call,
                    f"`setattr()` in a loop over request data sets every attribute the client names: a client can "
                    f"set fields it must not (owner, role, price); check `{key}` against an allow-list or {ADVICE}",
                )
                return

    def _note_persistence(self, state: FunctionState, call: cst.Call) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in PERSIST_METHODS:
            return
        if func.attr.value == "save":
            receiver = func.value
            if isinstance(receiver, cst.Name):
                state.persisted_names.add(receiver.value)
            state.persisted_calls.add(receiver)
            return
        for arg in call.args:
            values = [e.value for e in arg.value.elements] if isinstance(arg.value, (cst.List, cst.Tuple)) else [arg.value]
            for value in values:
                state.persisted_calls.add(value)
                if isinstance(value, cst.Name):
                    state.persisted_names.add(value.value)

    # -- classes: serializers, model forms, edit views ------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = {self.ctx.qualified_name(arg.value) for arg in node.bases if arg.keyword is None}
        if bases & EDIT_VIEWS:
            assignment = self._all_fields(node.body, allow_exclude=False)
            if assignment is not None:
                self.report(
                    assignment[0],
                    f"`{node.name.value}` edits every field of the model (`fields = \"__all__\"`): fields added to the "
                    f"model later become editable too; list the editable fields",
                )
        meta = next(
            (s for s in node.body.body if isinstance(s, cst.ClassDef) and s.name.value == "Meta"), None
        )
        if bases & WRITE_VIEWS:
            self._note_view_serializer(node)
        if meta is None:
            return
        assignment = self._all_fields(meta.body, allow_exclude=True)
        if assignment is None:
            return
        target, how = assignment
        if bases & MODEL_FORMS:
            self.report(
                target,
                f"`{node.name.value}` accepts every model field {how}: a client can set fields it must not "
                f"(owner, role, price), and fields added to the model later become writable; list `fields` explicitly",
            )
        elif bases & MODEL_SERIALIZERS and self.ctx.at_module_level:
            self._report_serializer(node.name.value, SerializerMeta(target, how))

    @staticmethod
    def _all_fields(body: cst.BaseSuite, allow_exclude: bool) -> tuple[cst.CSTNode, str] | None:
        """The ``fields = "__all__"`` (or ``exclude = ...``) assignment of a class body, and how it reads. An explicit
        ``fields`` list wins: ``exclude`` next to it only narrows the list."""
        found: tuple[cst.CSTNode, str] | None = None
        for statement in body.body if isinstance(body, cst.IndentedBlock) else ():
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                    continue
                target = small.targets[0].target
                if not isinstance(target, cst.Name):
                    continue
                if target.value == "fields":
                    if string_value(small.value) != "__all__":
                        return None
                    found = small, '(`fields = "__all__"`)'
                if target.value == "exclude" and allow_exclude and found is None:
                    found = small, "not listed in `exclude`"
        return found

    def _note_view_serializer(self, view: cst.ClassDef) -> None:
        for statement in view.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign) and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value == "serializer_class"
                ):
                    self._note_write(small.value, small)

    def _note_serializer_write(self, call: cst.Call) -> None:
        if any(arg.keyword is not None and arg.keyword.value == "data" for arg in call.args):
            self._note_write(call.func, call)

    def _note_write(self, serializer: cst.BaseExpression, use: cst.CSTNode) -> None:
        """A serializer used to deserialize request data, told to the project: the class may be declared in
        another module (``serializers.py`` next to ``views.py``)."""
        name = self.ctx.qualified_name(serializer) if isinstance(serializer, (cst.Name, cst.Attribute)) else None
        if name is None and isinstance(serializer, cst.Name):
            name = self.ctx.qualify(serializer.value)  # a class defined further down this module
        if name is not None:
            self.ctx.add_fact("serializer-write", (name,), at=use)

    def _report_serializer(self, name: str, meta: SerializerMeta) -> None:
        self.report(
            meta.node,
            f"`{name}` deserializes every model field {meta.how} and is used for writes: a client can set fields "
            f"it must not (owner, role, price), and fields added to the model later become writable; list "
            f"`fields` explicitly or mark the others `read_only_fields`",
            requires=("serializer-written", self.ctx.qualify(name)),
        )
