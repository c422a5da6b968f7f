"""What the Django ORM looks like to the resolver: manager chains, what each step returns, model-like names.

Shared by the rules that reason about queries (RV101, RV102, RV201). Names are the shared resolver's qualified
names (``shop.models.Order.objects.filter().first``), plus the markers a rule adds for values it tracks itself.
"""

from __future__ import annotations

import enum
import re

MANAGER_ATTRIBUTES = frozenset({"objects", "_default_manager", "_base_manager"})
MODEL_FACTORY_CALLS = frozenset({"get_user_model()", "get_model()"})  # get_user_model().objects, apps.get_model()
# Methods that return a new queryset without touching the database.
LAZY_QUERYSET_METHODS = frozenset({
    "all", "filter", "exclude", "order_by", "reverse", "distinct", "values", "values_list", "dates", "datetimes",
    "none", "union", "intersection", "difference", "select_related", "prefetch_related", "extra", "annotate",
    "alias", "defer", "only", "using", "select_for_update", "raw", "complex_filter", "get_queryset",
})
INSTANCE_GETTERS = frozenset({"get", "create", "first", "last", "earliest", "latest"})
PAIR_GETTERS = frozenset({"get_or_create", "update_or_create"})  # return (instance, created)
ASYNC_INSTANCE_GETTERS = frozenset(f"a{method}" for method in INSTANCE_GETTERS)
ASYNC_PAIR_GETTERS = frozenset(f"a{method}" for method in PAIR_GETTERS)
ITERATOR_METHODS = frozenset({"iterator", "aiterator"})
# How a related manager (order.items) is entered: only names that no dict, list, set or str has, so that a plain
# attribute of a model instance (a JSONField's dict, say) is not mistaken for one.
RELATED_MANAGER_ENTRIES = frozenset({
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related", "annotate", "only", "defer",
    "distinct", "values_list",
})
# Markers rules add to the names it records itself (the shared resolver only ever writes "[]").
ITEM_OF = "[*]"  # an item of iterating the value: `async for order in Order.objects.all()`
FIRST_OF = "[0]"  # the first element of the value: `order, created = await Order.objects.aget_or_create()`
STEP = re.compile(r"(?P<attribute>\w+)(?P<called>\(\))?(?P<marks>(?:\[\]|\[0\]|\[\*\])*)")
MARK = re.compile(r"\[[0*]?\]")


class OrmValue(enum.Enum):
    QUERYSET = "queryset"  # a manager or a lazy queryset
    INSTANCE = "instance"
    PAIR = "pair"  # (instance, created)
    ITERATOR = "iterator"  # qs.iterator() / qs.aiterator()
    RELATED = "related"  # an attribute of an instance that may be a related manager


def is_class_name(segment: str) -> bool:
    """``Order``, ``OrderItem``: CapWords, as a model class is named (not ``DB``, not ``order``)."""
    bare = segment.lstrip("_")
    return bare.isidentifier() and bare[0].isupper() and not bare.isupper()


def split_at_manager(name: str) -> tuple[str, list[str]] | None:
    """``shop.models.Order.objects.filter().first`` -> (``shop.models.Order``, [``filter()``, ``first``]), when
    the part before the manager looks like a model class; else None."""
    segments = name.split(".")
    for index in range(1, len(segments)):
        model = segments[index - 1]
        if segments[index] in MANAGER_ATTRIBUTES and (is_class_name(model) or model in MODEL_FACTORY_CALLS):
            return ".".join(segments[:index]), segments[index + 1 :]
    return None


def orm_value(steps: list[str]) -> OrmValue | None:
    """What following ``steps`` from a model's manager gives, or None when it leaves what this rule understands."""
    state = OrmValue.QUERYSET
    for step in steps:
        match = STEP.fullmatch(step)
        if match is None:
            return None
        attribute = match["attribute"]
        if not match["called"]:
            # order.items: maybe a related manager, confirmed only by what is called on it next.
            if state is OrmValue.INSTANCE and not match["marks"]:
                state = OrmValue.RELATED
                continue
            return None
        if state is OrmValue.QUERYSET:
            if attribute in LAZY_QUERYSET_METHODS:
                state = OrmValue.QUERYSET
            elif attribute in INSTANCE_GETTERS or attribute in ASYNC_INSTANCE_GETTERS:
                state = OrmValue.INSTANCE
            elif attribute in PAIR_GETTERS or attribute in ASYNC_PAIR_GETTERS:
                state = OrmValue.PAIR
            elif attribute in ITERATOR_METHODS:
                state = OrmValue.ITERATOR
            else:
                return None
        elif state is OrmValue.RELATED and attribute in RELATED_MANAGER_ENTRIES:
            state = OrmValue.QUERYSET
        else:
            return None
        for mark in MARK.findall(match["marks"]):
            if mark == "[]" and state is OrmValue.QUERYSET:
                continue  # a slice of a queryset is a queryset
            item_of_iterable = mark == ITEM_OF and state in (OrmValue.QUERYSET, OrmValue.ITERATOR)
            first_of_pair = mark == FIRST_OF and state is OrmValue.PAIR
            if not (item_of_iterable or first_of_pair):
                return None
            state = OrmValue.INSTANCE
    return state


def queryset_value(name: str | None) -> bool:
    """Whether ``name`` is a queryset built from a model's manager (``Order.objects.filter()``), not the bare
    manager (which cannot be iterated)."""
    chain = split_at_manager(name) if name else None
    return chain is not None and bool(chain[1]) and orm_value(chain[1]) is OrmValue.QUERYSET
