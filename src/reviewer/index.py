"""The join step: project-wide facts merged from every file, and the candidates they confirm."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator

from reviewer.findings import Candidate, FileResult, Finding, Related, Span
from reviewer.frameworks import (
    DJANGO_LIST_VIEW_ROOTS,
    LIST_VIEW_ROOTS,
    PAGINATION_ADVICE,
    SERIALIZER_ROOTS,
)
from reviewer.model_index import (
    CACHED_MANAGER_METHODS,
    LazyAccess,
    MappedIndex,
    ModelIndex,
    class_lineage,
)

# Requirements that hold unless the project says otherwise (a setting nobody enables): most projects confirm them,
# so their findings are placed when the file is analyzed rather than left for the join to ask for again.
CONFIRMED_BY_ABSENCE = frozenset({"settings-unset"})

# Bases that make a class a Django model (names as the import table resolves them).
DJANGO_MODEL_ROOTS = frozenset({
    "django.db.models.Model",
    "django.db.models.base.Model",
    "django.contrib.auth.models.AbstractUser",
    "django.contrib.auth.models.AbstractBaseUser",
    "django.contrib.auth.models.User",
    "django.contrib.auth.models.Group",
    "django.contrib.auth.models.Permission",
    "django.contrib.auth.base_user.AbstractBaseUser",
    "django.contrib.auth.models.PermissionsMixin",
})

# A candidate's message may hold this placeholder; the join replaces it with what confirmed the candidate.
VIA = "{via}"
# How many project-function calls a query may be away from the loop that runs it.
QUERY_CALL_DEPTH = 3
# How deep serializers nest in one another before the join stops following them.
SERIALIZER_NESTING = 4


@dataclasses.dataclass(frozen=True)
class SerializerUse:
    """Rows a serializer serializes one by one: a list view's queryset or a ``many=True`` call, or (``via``) the
    related rows a parent serializer hands to a nested one."""

    rows: LazyAccess  # the queryset's model and what it loads (path: the relation path to these rows)
    view: str  # the list view, or "" for a many=True call
    where: Related


class Definitions:
    """Qualified names of project definitions, found also under the name a package re-exports them by
    (``shop.models.Order`` defined in ``shop/models/order.py``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = set(names)
        self._by_short_name: dict[str, list[str]] = {}
        for name in sorted(self._names):
            self._by_short_name.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        # The join asks for the same base classes once per class deriving from them, for each closure it builds.
        self.canonical = functools.lru_cache(maxsize=None)(self.canonical)  # type: ignore[method-assign]

    def named(self, short: str) -> list[str]:
        """Every definition whose last name part is ``short``."""
        return self._by_short_name.get(short, [])

    def canonical(self, name: str) -> str | None:
        if name in self._names:
            return name
        module, _, short = name.rpartition(".")
        matches = [q for q in self._by_short_name.get(short, ()) if q.startswith(f"{module}.")]
        return matches[0] if len(matches) == 1 else None


class ProjectIndex:
    def __init__(self, results: list[FileResult]) -> None:
        self.class_bases: dict[str, tuple[str, ...]] = {}
        for result in results:
            for qualified, bases in result.facts.get("class-bases", ()):
                self.class_bases[qualified] = tuple(bases)
        self._classes = Definitions(self.class_bases)
        self.django_models = self._close_over_bases(DJANGO_MODEL_ROOTS)
        self.models = ModelIndex(
            [record for result in results for record in result.facts.get("model-relations", ())],
            self.class_bases, self.django_models, self.canonical_class,
        )
        self.mapped = MappedIndex(
            [record for result in results for record in result.facts.get("sa-relations", ())],
            self.class_bases, self.canonical_class, self._classes.named,
        )
        # Project functions that run a query themselves -> the query as written (the first one seen), and which
        # project functions each function calls.
        self.query_functions: dict[str, str] = {}
        self.calls: dict[str, set[str]] = {}
        for result in results:
            for function, query in result.facts.get("query-function", ()):
                self.query_functions.setdefault(function, query)
            for caller, callee in result.facts.get("calls", ()):
                self.calls.setdefault(caller, set()).add(callee)
        self._functions = Definitions({*self.query_functions, *self.calls})
        # A confirmed candidate asks the same question to decide, to explain and to point back: answered once.
        self.query_chain = functools.lru_cache(maxsize=None)(self.query_chain)  # type: ignore[method-assign]
        self.serialized_lazily = functools.lru_cache(maxsize=None)(self.serialized_lazily)  # type: ignore[method-assign]
        self.serializers = self._close_over_bases(SERIALIZER_ROOTS)
        self.list_views = self._close_over_bases(LIST_VIEW_ROOTS)
        self.django_list_views = self._close_over_bases(DJANGO_LIST_VIEW_ROOTS)
        # View class -> pagination attribute ("pagination_class", "paginate_by", "custom") -> "none" or "set".
        self._pagination: dict[str, dict[str, str]] = {}
        for result in results:
            for view, attribute, state in result.facts.get("pagination", ()):
                self._pagination.setdefault(view, {})[attribute] = state
        self._serializer_uses: dict[str, list[SerializerUse]] = {}
        self._nested: dict[str, list[tuple[str, str, bool]]] = {}  # serializer -> (path, nested class, many)
        for result in results:
            for serializer, view, rows, (line, column, end_line, end_column) in result.facts.get("serializer-use", ()):
                canonical_view = self.canonical_class(view) or view
                if view and canonical_view not in self.list_views:
                    continue
                what = f"the rows `{canonical_view.rsplit('.', 1)[-1]}` lists" if view else "the rows serialized"
                where = Related(result.path, Span(line, column, end_line, end_column), what)
                self._serializer_uses.setdefault(self.canonical_class(serializer) or serializer, []).append(
                    SerializerUse(LazyAccess.from_key(rows), view, where)
                )
            for parent, path, nested, many in result.facts.get("serializer-nested", ()):
                self._nested.setdefault(self.canonical_class(nested) or nested, []).append(
                    (path, self.canonical_class(parent) or parent, many)
                )
        # Serializer -> a place that uses it to deserialize request data.
        self._serializer_writes: dict[str, Related] = {}
        for result in results:
            for serializer, (line, column, end_line, end_column) in result.facts.get("serializer-write", ()):
                self._serializer_writes.setdefault(
                    self.canonical_class(serializer) or serializer,
                    Related(result.path, Span(line, column, end_line, end_column), "used for writes here"),
                )
        # (setting, key) -> the states it is given anywhere in the project (see ProjectSettings).
        self.settings: dict[tuple[str, str], set[str]] = {}
        # Rate limits configured outside settings modules (Flask-Limiter defaults, limiting helpers) are recorded
        # in the same shape and read with them.
        for result in results:
            for name, key, state, _module in [*result.facts.get("settings", ()), *result.facts.get("rate-limits", ())]:
                self.settings.setdefault((name, key), set()).add(state)

    def canonical_class(self, name: str) -> str | None:
        """The defining name of a project class, also when imported through a package that re-exports it."""
        return self._classes.canonical(name)

    def _close_over_bases(self, roots: frozenset[str]) -> set[str]:
        members: set[str] = set()
        changed = True
        while changed:
            changed = False
            for qualified, bases in self.class_bases.items():
                if qualified in members:
                    continue
                for base in bases:
                    canonical = self.canonical_class(base) or base
                    if base in roots or canonical in members:
                        members.add(qualified)
                        changed = True
                        break
        return members

    def canonical_function(self, name: str) -> str | None:
        """The defining name of a project function, also when imported through a package that re-exports it."""
        return self._functions.canonical(name)

    def query_chain(self, function: str, depth: int = QUERY_CALL_DEPTH) -> list[str] | None:
        """The shortest chain of project functions from ``function`` to one that runs a query itself, following at
        most ``depth`` calls (``[function]`` when it runs one directly), or None."""
        start = self.canonical_function(function)
        if start is None:
            return None
        paths = {start: [start]}
        frontier = [start]
        for _ in range(depth + 1):
            next_frontier = []
            for current in frontier:
                if current in self.query_functions:
                    return paths[current]
                for callee in sorted(self.calls.get(current, ())):
                    canonical = self.canonical_function(callee)
                    if canonical is not None and canonical not in paths:
                        paths[canonical] = [*paths[current], canonical]
                        next_frontier.append(canonical)
            frontier = next_frontier
        return None

    def setting_states(self, reference: str) -> set[str]:
        """What the project sets ``reference`` to: ``NAME``, ``NAME.KEY`` (a dict key) or ``NAME[item]`` (a list
        element, state ``item``). Empty when no module sets it."""
        if reference.endswith("]") and "[" in reference:
            name, _, item = reference[:-1].partition("[")
            return self.settings.get((name, item), set())
        name, _, key = reference.partition(".")
        return self.settings.get((name, key), set())

    def setting_enabled(self, reference: str) -> bool:
        """Some module sets ``reference`` to something other than None, False or an empty collection."""
        return bool(self.setting_states(reference) - {"none", "false"})

    def _uses_of(self, serializer: str, depth: int = SERIALIZER_NESTING) -> Iterator[SerializerUse]:
        """Every way ``serializer`` is given rows: directly, or nested in a serializer that is given some."""
        yield from self._serializer_uses.get(serializer, ())
        if depth == 0:
            return
        for path, parent, _many in self._nested.get(serializer, ()):
            if parent not in self.serializers:
                continue
            for use in self._uses_of(parent, depth - 1):
                rows = dataclasses.replace(use.rows, path=use.rows.path + tuple(path.split(".")),
                                           iterated=use.rows.iterated + len(path.split(".")))
                yield dataclasses.replace(use, rows=rows)

    def serialized_lazily(self, key: str) -> tuple[SerializerUse, LazyAccess] | None:
        """The first use of a serializer whose rows do not load what the serializer reads, with the read."""
        data = json.loads(key)
        serializer = self.canonical_class(data["serializer"])
        if serializer is None or serializer not in self.serializers:
            return None
        for use in self._uses_of(serializer):
            rows = use.rows
            access = dataclasses.replace(rows, path=rows.path + tuple(data["path"]), call=data["call"])
            if self.models.lazy_relation(access.key()):
                return use, access
        return None

    def _serializer_fix(self, use: SerializerUse, access: LazyAccess) -> str:
        loaded_as = "__".join(access.path)
        target = f"the queryset of `{use.view.rsplit('.', 1)[-1]}`" if use.view else "the queryset"
        if access.call and access.call not in CACHED_MANAGER_METHODS:
            return (f"`{access.call}()` builds a new query even on prefetched rows: prefetch what it needs with "
                    f"`Prefetch(\"{loaded_as}\", queryset=..., to_attr=...)` in {target}")
        if access.call or self.models.through_manager(access.model, access.path):
            return f"add `.prefetch_related(\"{loaded_as}\")` to {target}"
        return f"add `.select_related(\"{loaded_as}\")` to {target}"

    def unpaginated_view(self, view: str) -> str | None:
        """How a list view should page its rows when it does not ("drf" or "listview"), or None."""
        canonical = self.canonical_class(view) or view
        if canonical in self.list_views:
            framework, attribute = "drf", "pagination_class"
        elif canonical in self.django_list_views:
            framework, attribute = "listview", "paginate_by"
        else:
            return None
        for current in class_lineage(canonical, self.class_bases, self.canonical_class):
            declared = self._pagination.get(current, {})
            if "custom" in declared:
                return None
            if attribute in declared:
                return framework if declared[attribute] == "none" else None
        if framework == "drf" and self.setting_enabled("REST_FRAMEWORK.DEFAULT_PAGINATION_CLASS"):
            return None
        return framework

    def holds(self, requirement: tuple[str, str]) -> bool:
        kind, key = requirement
        if kind == "django-model":
            canonical = self.canonical_class(key)
            return key in DJANGO_MODEL_ROOTS or (canonical is not None and canonical in self.django_models)
        if kind == "query-function":
            return self.query_chain(key) is not None
        if kind == "lazy-relation":
            return self.models.lazy_relation(key)
        if kind == "serializer-lazy":
            return self.serialized_lazily(key) is not None
        if kind == "unpaginated-view":
            return self.unpaginated_view(key) is not None
        if kind == "serializer-written":
            return (self.canonical_class(key) or key) in self._serializer_writes
        if kind == "sa-lazy-relation":
            return self.mapped.lazy_relation(key)
        if kind == "settings-unset":  # none of the "|"-separated settings is enabled anywhere in the project
            return not any(self.setting_enabled(reference) for reference in key.split("|"))
        if kind == "setting-true":
            return "true" in self.setting_states(key)
        raise ValueError(f"unknown project fact {kind!r}")

    def explain(self, requirement: tuple[str, str]) -> str:
        """What a confirmed requirement stands on, for a message's ``{via}`` placeholder."""
        kind, key = requirement
        if kind == "query-function":
            chain = self.query_chain(key) or [key]
            through = "".join(f" via `{function}`" for function in chain[:-1])
            return f"`{self.query_functions[chain[-1]]}` in `{chain[-1]}`{through}"
        if kind == "serializer-lazy":
            found = self.serialized_lazily(key)
            return self._serializer_fix(*found) if found else key
        if kind == "unpaginated-view":
            return PAGINATION_ADVICE.get(self.unpaginated_view(key) or "", key)
        return key

    def related(self, requirement: tuple[str, str]) -> tuple[Related, ...]:
        """Places in other files that a confirmed requirement stands on."""
        kind, key = requirement
        if kind == "serializer-lazy":
            found = self.serialized_lazily(key)
            return (found[0].where,) if found else ()
        if kind == "serializer-written":
            written = self._serializer_writes.get(self.canonical_class(key) or key)
            return (written,) if written else ()
        return ()

    def resolve(self, candidates: list[Candidate]) -> list[Finding]:
        findings = []
        for candidate in candidates:
            if not self.holds(candidate.requires):
                continue
            finding = candidate.finding
            if VIA in finding.message:
                finding = dataclasses.replace(
                    finding, message=finding.message.replace(VIA, self.explain(candidate.requires))
                )
            related = self.related(candidate.requires)
            if related:
                finding = dataclasses.replace(finding, related=finding.related + related)
            findings.append(finding)
        return findings
