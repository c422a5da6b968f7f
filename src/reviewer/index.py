"""The join step: project-wide facts merged from every file, and the candidates they confirm."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reviewer.findings import Candidate, FileResult, Finding
from reviewer.model_index import MappedIndex, ModelIndex

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


class Definitions:
    """Qualified names of project definitions, found also under the name a package re-exports them by
    (``shop.models.Order`` defined in ``shop/models/order.py``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = set(names)
        self._by_short_name: dict[str, list[str]] = {}
        for name in sorted(self._names):
            self._by_short_name.setdefault(name.rsplit(".", 1)[-1], []).append(name)

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
        # (setting, key) -> the states it is given anywhere in the project (see ProjectSettings).
        self.settings: dict[tuple[str, str], set[str]] = {}
        for result in results:
            for name, key, state, _module in result.facts.get("settings", ()):
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

    def holds(self, requirement: tuple[str, str]) -> bool:
        kind, key = requirement
        if kind == "django-model":
            canonical = self.canonical_class(key)
            return key in DJANGO_MODEL_ROOTS or (canonical is not None and canonical in self.django_models)
        if kind == "query-function":
            return self.query_chain(key) is not None
        if kind == "lazy-relation":
            return self.models.lazy_relation(key)
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
        return key

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
            findings.append(finding)
        return findings
