"""The project's Django models and their relations, built in the join step from the ``model-relations`` facts
(:mod:`reviewer.checks.model_facts`), and the decision on RV102 candidates.

Per model it knows every relation accessor, with the model it leads to when that can be resolved:

- ``single``: reading the attribute loads one object (forward foreign key and one-to-one, reverse one-to-one);
  ``select_related`` can load it with the rows;
- ``manager``: the attribute is a related manager (forward many-to-many, reverse foreign key and many-to-many);
  only ``prefetch_related`` loads it.

Relations declared on abstract or other base models in the project are inherited by their subclasses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

DEFAULT_USER_MODEL = "django.contrib.auth.models.User"
# Manager methods answered from the prefetch cache; anything else on a prefetched relation builds a new query.
CACHED_MANAGER_METHODS = frozenset({"all", "count", "exists"})


@dataclass(frozen=True)
class Accessor:
    kind: str  # "single" or "manager"
    target: str | None  # the model the accessor leads to, when known


@dataclass(frozen=True)
class LazyAccess:
    """What an RV102 candidate claims, decoded from its key."""

    model: str
    path: tuple[str, ...]  # attribute names read from a row, e.g. ("customer", "address")
    call: str  # the manager method called on the last one, or ""
    select_related: frozenset[str]  # loaded paths, "__"-joined
    prefetch_related: frozenset[str]
    select_all: bool  # select_related() without arguments
    # How many leading steps of ``path`` are related managers iterated with ``.all()`` in outer loops
    # (``for item in order.items.all(): item.product``: path ("items", "product"), 1).
    iterated: int = 0

    def key(self) -> str:
        return json.dumps({
            "model": self.model, "path": list(self.path), "call": self.call,
            "select": sorted(self.select_related), "prefetch": sorted(self.prefetch_related),
            "select_all": self.select_all, "iterated": self.iterated,
        }, sort_keys=True)

    @classmethod
    def from_key(cls, key: str) -> LazyAccess:
        data = json.loads(key)
        return cls(data["model"], tuple(data["path"]), data["call"], frozenset(data["select"]),
                   frozenset(data["prefetch"]), data["select_all"], data["iterated"])


def class_lineage(
    start: str,
    class_bases: dict[str, tuple[str, ...]],
    canonical_class: Callable[[str], str | None],
    follow: Callable[[str], bool] = lambda _: True,
) -> Iterator[str]:
    """``start`` and its base classes, nearest first, each once; ``follow`` says which bases to walk through. A
    base the project does not define (or defines without bases of its own) is yielded under its name as written,
    so facts recorded about it are still found."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        yield current
        for base in class_bases.get(current, ()):
            canonical = canonical_class(base) or base
            if follow(canonical):
                pending.append(canonical)


def app_label_of(model: str) -> str:
    """The app a model belongs to: the package holding its models module (``shop.models.Order`` and
    ``shop.models.order.Order`` -> ``shop``)."""
    parts = model.split(".")[:-1]
    if "models" in parts[1:]:
        return parts[parts.index("models", 1) - 1]
    return parts[-2] if len(parts) > 1 else (parts[0] if parts else "")


class ModelIndex:
    def __init__(
        self,
        facts: Iterable[tuple],
        class_bases: dict[str, tuple[str, ...]],
        django_models: set[str],
        canonical_class: Callable[[str], str | None],
    ) -> None:
        self._class_bases = class_bases
        self._django_models = django_models
        self._canonical_class = canonical_class
        relations: list[tuple[str, str, str, str, str]] = []
        abstract: set[str] = set()
        self._app_labels: dict[str, str] = {}
        user_models: set[str] = set()
        for record in facts:
            if record[0] == "relation":
                relations.append(tuple(record[1:]))
            elif record[0] == "abstract":
                abstract.add(record[1])
            elif record[0] == "app-label":
                self._app_labels[record[1]] = record[2]
            elif record[0] == "auth-user-model":
                user_models.add(record[1])
        self._by_label: dict[tuple[str, str], list[str]] = {}
        for model in django_models:
            self._by_label.setdefault((self.app_label(model), model.rsplit(".", 1)[-1]), []).append(model)
        self._user_model: str | None = DEFAULT_USER_MODEL
        if user_models:
            # Several settings modules naming different user models: none of them can be trusted.
            self._user_model = self._model_from_label(user_models.pop(), "") if len(user_models) == 1 else None
        self._declared: dict[str, list[tuple[str, str, str, str]]] = {}
        for model, field, kind, target, related_name in relations:
            self._declared.setdefault(model, []).append((field, kind, target, related_name))
        self.accessors: dict[str, dict[str, Accessor]] = {}
        for model in sorted(django_models):
            for field, kind, target, related_name in self._inherited(model):
                self._add_relation(model, field, kind, target, related_name, model in abstract)

    # -- building ---------------------------------------------------------------------------------------------------

    def app_label(self, model: str) -> str:
        return self._app_labels.get(model) or app_label_of(model)

    def _model_from_label(self, label: str, app_of: str) -> str | None:
        """The model a string target names: ``"app.Model"``, or ``"Model"`` in the app ``app_of``."""
        app, _, name = label.rpartition(".")
        found = self._by_label.get((app or app_of, name), [])
        return found[0] if len(found) == 1 else None

    def _resolve_target(self, model: str, target: str) -> str | None:
        if target == "AUTH_USER_MODEL":
            return self._user_model
        if target == "self":
            return model
        if not target:
            return None
        canonical = self._canonical_class(target)
        if canonical is not None and canonical in self._django_models:
            return canonical
        if target.count(".") <= 1:
            return self._model_from_label(target, self.app_label(model))
        return None

    def _lineage(self, model: str, *, models_only: bool) -> Iterator[str]:
        """``model`` and its project base classes, nearest first, each once (``models_only``: through model
        classes only)."""
        follow = (lambda name: name in self._django_models) if models_only else (lambda _: True)
        return class_lineage(model, self._class_bases, self._canonical_class, follow)

    def _inherited(self, model: str) -> list[tuple[str, str, str, str]]:
        """The relation fields a model declares or inherits from model classes of the project."""
        return [
            field for current in self._lineage(model, models_only=False) for field in self._declared.get(current, [])
        ]

    def _add_relation(
        self, model: str, field: str, kind: str, target: str, related_name: str, is_abstract: bool
    ) -> None:
        own = self.accessors.setdefault(model, {})
        if kind == "gfk":
            return  # neither select_related nor a manager: RV102 does not judge it
        resolved = self._resolve_target(model, target)
        own[field] = Accessor("manager" if kind == "m2m" else "single", resolved)
        if is_abstract or resolved is None or related_name.endswith("+"):
            return
        short = model.rsplit(".", 1)[-1]
        if related_name:
            reverse = related_name.replace("%(class)s", short.lower()).replace("%(app_label)s", self.app_label(model))
        else:
            reverse = short.lower() if kind == "o2o" else f"{short.lower()}_set"
        # A relation to the model's own class (or a parent) must not overwrite a forward field of the same name.
        self.accessors.setdefault(resolved, {}).setdefault(
            reverse, Accessor("single" if kind == "o2o" else "manager", model)
        )

    # -- queries ----------------------------------------------------------------------------------------------------

    def accessor(self, model: str, name: str) -> Accessor | None:
        """The relation ``name`` of ``model`` (declared, inherited, or reverse), or None for anything else."""
        # Reverse accessors are recorded on the model a relation names, which may be a parent of ``model``.
        for current in self._lineage(model, models_only=True):
            found = self.accessors.get(current, {}).get(name)
            if found is not None:
                return found
        return None

    def through_manager(self, model: str, path: tuple[str, ...]) -> bool:
        """Whether following ``path`` from ``model`` passes a related manager (then only prefetch_related loads
        what follows)."""
        current: str | None = self._canonical_class(model)
        for name in path:
            found = None if current is None else self.accessor(current, name)
            if found is None:
                return False
            if found.kind == "manager":
                return True
            current = found.target
        return False

    def lazy_relation(self, key: str) -> bool:
        """Whether an RV102 candidate is confirmed: every step of its path but the last is a single-valued relation
        the queryset loaded, and the last step is a relation it did not load (for a manager, a method the
        prefetch cache cannot answer also counts)."""
        access = LazyAccess.from_key(key)
        model = self._canonical_class(access.model)
        if model is None or model not in self._django_models or not access.path:
            return False
        through_manager = False  # select_related paths cannot pass a related manager
        for depth, name in enumerate(access.path):
            found = self.accessor(model, name)
            if found is None:
                return False
            loaded_as = "__".join(access.path[: depth + 1])
            last = depth == len(access.path) - 1
            if depth < access.iterated:
                # The rows of an outer loop: whether that iteration queried is that loop's own finding.
                if found.target is None or (found.kind == "single" and loaded_as not in access.prefetch_related
                                            and loaded_as not in access.select_related and not access.select_all):
                    return False
                through_manager = through_manager or found.kind == "manager"
                model = found.target
                continue
            if found.kind == "single":
                loaded = loaded_as in access.prefetch_related or (not through_manager and (
                    loaded_as in access.select_related or access.select_all
                ))
                if last:
                    return not access.call and not loaded
                if not loaded or found.target is None:
                    return False  # the step before is reported (or unknown): one finding per query
                model = found.target
            else:
                if not last:
                    return False
                if not access.call:
                    return False
                return loaded_as not in access.prefetch_related or access.call not in CACHED_MANAGER_METHODS
        return False


# Loader strategies that load a relationship with its parent rows, and those whose access never queries.
SQLALCHEMY_EAGER = frozenset({"joined", "selectin", "subquery", "immediate"})
SQLALCHEMY_LAZY = frozenset({"select", "dynamic"})  # "dynamic": every access builds and runs a new query


@dataclass(frozen=True)
class MappedAccess:
    """What an SQLAlchemy RV102 candidate claims: rows of ``model`` loaded with the ``loaded`` paths
    ("__"-joined relationship names, from the statement's loader options), and ``path`` read from a row."""

    model: str
    path: tuple[str, ...]
    loaded: frozenset[str]

    def key(self) -> str:
        return json.dumps({"model": self.model, "path": list(self.path), "loaded": sorted(self.loaded)},
                          sort_keys=True)

    @classmethod
    def from_key(cls, key: str) -> MappedAccess:
        data = json.loads(key)
        return cls(data["model"], tuple(data["path"]), frozenset(data["loaded"]))


@dataclass(frozen=True)
class Relationship:
    lazy: str
    target: str | None


class MappedIndex:
    """SQLAlchemy relationships of the project's mapped classes, from the ``sa-relations`` facts, with backrefs
    added to their targets and relationships inherited through the project's class bases."""

    def __init__(
        self,
        facts: Iterable[tuple],
        class_bases: dict[str, tuple[str, ...]],
        canonical_class: Callable[[str], str | None],
        classes_named: Callable[[str], list[str]],
    ) -> None:
        self._class_bases = class_bases
        self._canonical_class = canonical_class
        self._classes_named = classes_named
        self.relationships: dict[str, dict[str, Relationship]] = {}
        for kind, owner, attribute, lazy, target in facts:
            resolved_owner = owner if kind == "relationship" else self._resolve(target=owner)
            if resolved_owner is None:
                continue
            other = self._resolve(target) if kind == "relationship" else target
            self.relationships.setdefault(resolved_owner, {}).setdefault(attribute, Relationship(lazy, other))

    def _resolve(self, target: str) -> str | None:
        """A relationship's target as written: a qualified name, or a class name (maybe module-qualified) in a
        string, resolved to the one project class of that name."""
        if not target:
            return None
        canonical = self._canonical_class(target)
        if canonical is not None:
            return canonical
        short = target.rsplit(".", 1)[-1]
        found = [name for name in self._classes_named(short) if name.endswith(f".{target}") or "." not in target]
        return found[0] if len(found) == 1 else None

    def relationship(self, model: str, attribute: str) -> Relationship | None:
        for current in class_lineage(model, self._class_bases, self._canonical_class):
            found = self.relationships.get(current, {}).get(attribute)
            if found is not None:
                return found
        return None

    def lazy_relation(self, key: str) -> bool:
        """Whether an SQLAlchemy RV102 candidate is confirmed: every step but the last is a relationship that is
        loaded with the rows, and the last is a lazy one the statement did not load."""
        access = MappedAccess.from_key(key)
        model = access.model if access.model in self.relationships else self._canonical_class(access.model)
        for depth, attribute in enumerate(access.path):
            found = None if model is None else self.relationship(model, attribute)
            if found is None:
                return False
            loaded_as = "__".join(access.path[: depth + 1])
            loaded = found.lazy in SQLALCHEMY_EAGER or (loaded_as in access.loaded and found.lazy != "dynamic")
            if depth == len(access.path) - 1:
                return found.lazy in SQLALCHEMY_LAZY and not loaded
            if not loaded:
                return False  # the step before is reported (or never queries): one finding per query
            model = found.target
        return False
