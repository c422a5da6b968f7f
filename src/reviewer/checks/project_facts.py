"""Fact collectors: what one file tells the rest of the project, merged by :mod:`reviewer.index`."""

from __future__ import annotations

import libcst as cst

from reviewer.checks.base import FactCollector, string_value, subscript_key


class ClassBases(FactCollector):
    """Module-level classes and their resolved base classes: ``("shop.models.Order", ("django.db.models.Model",))``.

    The join step follows these across files to decide which classes are Django models."""

    kind = "class-bases"
    # Classes that may be models (a model base, a models module, SQLAlchemy's declarative bases and
    # relationships), DRF serializers and views, Django's generic views.
    triggers = ("Model", "models", "Base", "relationship", "rest_framework", "Serializer", "View", "generic")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self.ctx.at_module_level:
            return
        bases = []
        for arg in node.bases:
            if arg.keyword is None:
                name = self.ctx.qualified_name(arg.value)
                if name is not None:
                    bases.append(name)
        if bases:
            self.ctx.add_fact(self.kind, (self.ctx.qualify(node.name.value), tuple(bases)))


# Project settings rules decide on (Django and DRF settings, django-cors-headers, rate limiting apps).
SETTINGS_OF_INTEREST = frozenset({
    "REST_FRAMEWORK", "MIDDLEWARE", "INSTALLED_APPS", "DEBUG", "PASSWORD_HASHERS",
    "CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL", "CORS_ALLOW_CREDENTIALS", "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ORIGIN_REGEX_WHITELIST", "RATELIMIT_ENABLE", "AXES_ENABLED", "MAX_CONTENT_LENGTH",
})
# Flask configuration keys, which an app sets wherever it is configured: `app.config["KEY"] = v` (also inside a
# factory function), `app.config.update(KEY=v)`, or a class attribute of a config class (`class Config: KEY = v`).
FLASK_CONFIG_KEYS = frozenset({"MAX_CONTENT_LENGTH"})


def literal_state(node: cst.BaseExpression) -> str:
    """A setting's value as the join step needs it: ``none`` (None or an empty collection), ``true``,
    ``false``, or ``set`` (anything else, including values computed at run time)."""
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return {"None": "none", "True": "true", "False": "false"}[node.value]
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)) and not node.elements:
        return "none"
    if isinstance(node, cst.Dict) and not node.elements:
        return "none"
    return "set"


class ProjectSettings(FactCollector):
    """Module-level assignments to the settings in :data:`SETTINGS_OF_INTEREST`, wherever they are made (a
    project may split its settings over several modules): ``(name, key, state, module)``.

    ``key`` is ``""`` for the setting itself, a string key of a dict literal (``REST_FRAMEWORK``'s
    ``DEFAULT_PAGINATION_CLASS``), or an element of a list or tuple of strings (a ``MIDDLEWARE`` entry, state
    ``item``). ``NAME["KEY"] = v``, ``NAME.update({...})``, ``NAME += [...]`` and ``NAME.append(...)`` count too.
    """

    kind = "settings"
    triggers = tuple(SETTINGS_OF_INTEREST)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if self.ctx.at_module_level:
                self._assigned(target.target, node.value)
            else:
                self._flask_config_assigned(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.ctx.at_module_level and node.value is not None:
            self._assigned(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self.ctx.at_module_level and isinstance(node.target, cst.Name) \
                and node.target.value in SETTINGS_OF_INTEREST:
            self._record_items(node.target.value, node.value)

    def _flask_config_assigned(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and target.value in FLASK_CONFIG_KEYS and self.ctx.frames[-1].kind == "class":
            self._record(target.value, "", literal_state(value))
        elif isinstance(target, cst.Subscript) and _is_config(target.value):
            key = subscript_key(target)
            if key in FLASK_CONFIG_KEYS:
                self._record(key, "", literal_state(value))

    def _flask_config_updated(self, node: cst.Call) -> None:
        """``app.config.update(MAX_CONTENT_LENGTH=...)`` or ``app.config.update({"MAX_CONTENT_LENGTH": ...})``."""
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in FLASK_CONFIG_KEYS:
                self._record(arg.keyword.value, "", literal_state(arg.value))
            elif arg.keyword is None and isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    key = string_value(element.key) if isinstance(element, cst.DictElement) else None
                    if key in FLASK_CONFIG_KEYS:
                        self._record(key, "", literal_state(element.value))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "update" and _is_config(node.func.value):
            self._flask_config_updated(node)
            return
        if not (self.ctx.at_module_level and isinstance(node.func, cst.Attribute)
                and isinstance(node.func.value, cst.Name) and node.func.value.value in SETTINGS_OF_INTEREST):
            return
        name, method = node.func.value.value, node.func.attr.value
        if method in ("update", "append", "extend", "insert", "add") and node.args:
            self._record_items(name, node.args[-1].value)

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Subscript) and _is_config(target.value):
            self._flask_config_assigned(target, value)
        elif isinstance(target, cst.Name) and target.value in SETTINGS_OF_INTEREST:
            self._record(target.value, "", literal_state(value))
            self._record_items(target.value, value)
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) \
                and target.value.value in SETTINGS_OF_INTEREST:
            key = subscript_key(target)
            if key is not None:
                self._record(target.value.value, key, literal_state(value))

    def _record_items(self, name: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Dict):
            for element in value.elements:
                key = string_value(element.key) if isinstance(element, cst.DictElement) else None
                if key is not None:
                    self._record(name, key, literal_state(element.value))
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                item = string_value(element.value)
                if item is not None:
                    self._record(name, item, "item")
        else:
            item = string_value(value)
            if item is not None:
                self._record(name, item, "item")

    def _record(self, name: str, key: str, state: str) -> None:
        self.ctx.add_fact(self.kind, (name, key, state, self.ctx.module))


def _is_config(node: cst.BaseExpression) -> bool:
    """``app.config``, ``self.app.config``, ``current_app.config``: a Flask app's configuration mapping."""
    return isinstance(node, cst.Attribute) and node.attr.value == "config"
