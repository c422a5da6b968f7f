"""Fact collectors: what one file tells the rest of the project, merged by :mod:`reviewer.index`."""

from __future__ import annotations

import libcst as cst

from reviewer.checks.base import FactCollector


class ClassBases(FactCollector):
    """Module-level classes and their resolved base classes: ``("shop.models.Order", ("django.db.models.Model",))``.

    The join step follows these across files to decide which classes are Django models."""

    kind = "class-bases"
    # A class can only be a model if its file names a model base or imports from a models module.
    triggers = ("Model", "models")

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
