"""Rule implementations: one module per rule family, one :class:`~reviewer.checks.base.Check` subclass per rule,
plus the :class:`~reviewer.checks.base.FactCollector` visitors that gather project-wide facts.

Modules in this package are discovered automatically, so adding a rule is one YAML file in ``rules/`` and one
visitor class here.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TypeVar

from reviewer.checks.base import Check, FactCollector

Visitor = TypeVar("Visitor", Check, FactCollector)


def _subclasses(base: type[Visitor], key: str) -> dict[str, type[Visitor]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    found: dict[str, type[Visitor]] = {}
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = getattr(cls, key, None)
        # Only this package's visitors are rules; a subclass defined elsewhere (a test's stand-in) is not.
        if name and cls.__module__.startswith(f"{__name__}."):
            if name in found:
                raise RuntimeError(f"two visitors claim {name}: {found[name].__name__}, {cls.__name__}")
            found[name] = cls
    return dict(sorted(found.items()))


@functools.cache
def check_classes() -> dict[str, type[Check]]:
    """Every check class, keyed by rule id."""
    return _subclasses(Check, "rule_id")


@functools.cache
def fact_collectors() -> dict[str, type[FactCollector]]:
    """Every fact collector, keyed by the kind of fact it records."""
    return _subclasses(FactCollector, "kind")
