"""Fact collector for Django model relations: which fields of which classes are foreign keys, one-to-one or
many-to-many fields, what they point to and under which name the target sees them back.

Records (kind ``model-relations``), all plain strings so they cross process boundaries:

- ``("relation", model, field, kind, target, related_name)``: ``kind`` is ``fk``, ``o2o``, ``m2m`` or ``gfk``;
  ``target`` is a qualified class name, a string as written in the model (``"shop.Order"``, ``"Order"``,
  ``"self"``), ``AUTH_USER_MODEL`` for the configured user model, or ``""`` when it cannot be read;
  ``related_name`` is the argument as written or ``""``.
- ``("abstract", model)``: a model whose ``Meta`` says ``abstract = True`` (it has no reverse accessors itself).
- ``("app-label", model, label)``: a model whose ``Meta`` sets ``app_label``.
- ``("auth-user-model", "accounts.User")``: ``AUTH_USER_MODEL = ...`` at module level of a settings module.

Whether the class is a Django model at all is decided in the join step, from the ``class-bases`` facts.
"""

from __future__ import annotations

import libcst as cst

from reviewer.checks.base import FactCollector, FileContext, keyword_argument, positional_arguments, string_value

AUTH_USER_MODEL = "AUTH_USER_MODEL"
_RELATED_MODULES = ("django.db.models.", "django.db.models.fields.related.")
RELATION_FIELDS = {
    f"{module}{name}": kind
    for module in _RELATED_MODULES
    for name, kind in (("ForeignKey", "fk"), ("OneToOneField", "o2o"), ("ManyToManyField", "m2m"))
}
RELATION_FIELDS["django.contrib.contenttypes.fields.GenericForeignKey"] = "gfk"
# How a field names the user model without importing it.
USER_MODEL_REFERENCES = frozenset({
    "django.conf.settings.AUTH_USER_MODEL",
    "django.contrib.auth.get_user_model()",
})


class ModelRelations(FactCollector):
    kind = "model-relations"
    triggers = ("ForeignKey", "OneToOneField", "ManyToManyField", "GenericForeignKey", "AUTH_USER_MODEL", "app_label")

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._model: str | None = None  # the module-level class whose body is being visited

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.at_module_level:
            self._model = self.ctx.qualify(node.name.value)
        elif self._model is not None and node.name.value == "Meta" and self.ctx.in_module_class_body:
            self._record_meta(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.at_module_level:
            self._model = None

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        if self.ctx.at_module_level:
            if name == AUTH_USER_MODEL and self._in_settings_module():
                label = string_value(node.value)
                if label is not None and label.count(".") == 1:
                    self.ctx.add_fact(self.kind, ("auth-user-model", label))
        elif self._model is not None and self.ctx.in_module_class_body and isinstance(node.value, cst.Call):
            self._record_field(name, node.value)

    def _in_settings_module(self) -> bool:
        # settings.py, settings/production.py, test_settings.py, settings_ci.py, ...
        return any("settings" in part for part in self.ctx.module.split("."))

    def _record_field(self, name: str, call: cst.Call) -> None:
        kind = RELATION_FIELDS.get(self.ctx.qualified_name(call.func) or "")
        if kind is None:
            return
        target = ""
        if kind != "gfk":
            positional = [arg.value for arg in call.args if arg.keyword is None and arg.star == ""]
            written = keyword_argument(call, "to") or (positional[0] if positional else None)
            target = self._target(written) if written is not None else ""
        related_name = string_value(keyword_argument(call, "related_name")) or ""
        self.ctx.add_fact(self.kind, ("relation", self._model, name, kind, target, related_name))

    def _target(self, node: cst.BaseExpression) -> str:
        literal = string_value(node)
        if literal is not None:
            return literal
        qualified = self.ctx.qualified_name(node)
        if qualified in USER_MODEL_REFERENCES:
            return AUTH_USER_MODEL
        if qualified is not None:
            return qualified
        if isinstance(node, cst.Name):
            found, _ = self.ctx.lookup(node.value)
            if not found:
                # A class defined further down the module: not bound yet when the field is read.
                return self.ctx.qualify(node.value)
        return ""

    def _record_meta(self, node: cst.ClassDef) -> None:
        if not isinstance(node.body, cst.IndentedBlock):
            return
        for line in node.body.body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for statement in line.body:
                if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1):
                    continue
                target = statement.targets[0].target
                if not isinstance(target, cst.Name):
                    continue
                if target.value == "abstract" and isinstance(statement.value, cst.Name) \
                        and statement.value.value == "True":
                    self.ctx.add_fact(self.kind, ("abstract", self._model))
                elif target.value == "app_label":
                    label = string_value(statement.value)
                    if label:
                        self.ctx.add_fact(self.kind, ("app-label", self._model, label))


# How SQLAlchemy declares a relationship; Flask-SQLAlchemy's `db.relationship` resolves to the extension object's
# attribute (`flask_sqlalchemy.SQLAlchemy().relationship`, or `<project module>.db.relationship` when imported).
SQLALCHEMY_RELATIONSHIP_CALLS = frozenset({
    "sqlalchemy.orm.relationship", "sqlalchemy.orm.relation", "sqlalchemy.orm.relationships.relationship",
})
SQLALCHEMY_BACKREF_CALLS = frozenset({"sqlalchemy.orm.backref"})
# `lazy=` values that are not strategy names.
_LAZY_CONSTANTS = {"True": "select", "False": "joined", "None": "noload"}


def _is_extension_attribute(qualified: str | None, attribute: str) -> bool:
    """``db.relationship`` / ``db.backref`` of a Flask-SQLAlchemy extension object, made here or imported."""
    if qualified is None or not qualified.endswith(f".{attribute}"):
        return False
    owner = qualified[: -len(attribute) - 1]
    return owner.endswith("SQLAlchemy()") or owner.rsplit(".", 1)[-1] == "db"


def _lazy_strategy(node: cst.BaseExpression | None) -> str:
    if node is None:
        return "select"
    if isinstance(node, cst.Name) and node.value in _LAZY_CONSTANTS:
        return _LAZY_CONSTANTS[node.value]
    return string_value(node) or ""  # "" when computed: not judged


class MappedRelationships(FactCollector):
    """SQLAlchemy ``relationship()`` attributes of module-level classes (declarative 1.4 and 2.0 styles,
    Flask-SQLAlchemy). Records (kind ``sa-relations``):

    ``("relationship", class, attribute, lazy, target)``: ``lazy`` is the loader strategy (``select`` unless the
    declaration says otherwise; ``""`` when computed); ``target`` the class as written (qualified name, or a string
    such as ``"Post"``, read from the first argument or from the ``Mapped[...]`` annotation; ``""`` when unknown).
    A ``backref`` adds the attribute it creates on the target: ``("backref", target, attribute, lazy, class)``.
    """

    kind = "sa-relations"
    triggers = ("relationship", "relation(")

    def _relationship_call(self, node: cst.BaseExpression | None) -> cst.Call | None:
        if not isinstance(node, cst.Call):
            return None
        qualified = self.ctx.qualified_name(node.func)
        if qualified in SQLALCHEMY_RELATIONSHIP_CALLS or _is_extension_attribute(qualified, "relationship"):
            return node
        return None

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.ctx.in_module_class_body and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._record(node.targets[0].target.value, node.value, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.ctx.in_module_class_body and isinstance(node.target, cst.Name):
            self._record(node.target.value, node.value, node.annotation.annotation)

    def _record(self, attribute: str, value: cst.BaseExpression | None, annotation: cst.BaseExpression | None) -> None:
        call = self._relationship_call(value)
        if call is None:
            return
        owner = self.ctx.qualify(self.ctx.frames[1].node.name.value)
        positional = positional_arguments(call)
        written = keyword_argument(call, "argument") or (positional[0] if positional else None)
        target = self._target(written) if written is not None else self._annotated_target(annotation)
        lazy = _lazy_strategy(keyword_argument(call, "lazy"))
        self.ctx.add_fact(self.kind, ("relationship", owner, attribute, lazy, target))
        backref = keyword_argument(call, "backref")
        name, backref_lazy = string_value(backref), "select"
        if name is None and isinstance(backref, cst.Call):
            qualified = self.ctx.qualified_name(backref.func)
            if qualified in SQLALCHEMY_BACKREF_CALLS or _is_extension_attribute(qualified, "backref"):
                arguments = positional_arguments(backref)
                name = string_value(arguments[0]) if arguments else None
                backref_lazy = _lazy_strategy(keyword_argument(backref, "lazy"))
        if name and target:
            self.ctx.add_fact(self.kind, ("backref", target, name, backref_lazy, owner))

    def _target(self, node: cst.BaseExpression) -> str:
        literal = string_value(node)
        if literal is not None:
            return literal
        if isinstance(node, cst.Name):
            found, value = self.ctx.lookup(node.value)
            if found:
                return value or ""
            return self.ctx.qualify(node.value)  # a class defined further down this module
        return self.ctx.qualified_name(node) or ""

    def _annotated_target(self, annotation: cst.BaseExpression | None) -> str:
        """``Mapped["Post"]``, ``Mapped[list["Post"]]``, ``Mapped[Optional[Author]]``, ``Mapped[Author | None]``."""
        node = annotation
        while isinstance(node, cst.Subscript) and len(node.slice) >= 1:
            element = node.slice[0].slice
            if not isinstance(element, cst.Index):
                return ""
            node = element.value
        if isinstance(node, cst.BinaryOperation):  # Author | None
            node = node.left
        if isinstance(node, cst.SimpleString):
            literal = string_value(node) or ""
            return literal.split("|")[0].strip()
        if isinstance(node, (cst.Name, cst.Attribute)) and node is not annotation:
            return self._target(node)
        return ""
