"""The join step: project-wide facts merged from every file, and the candidates they confirm."""

from __future__ import annotations

from reviewer.findings import Candidate, FileResult, Finding

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


class ProjectIndex:
    def __init__(self, results: list[FileResult]) -> None:
        self.class_bases: dict[str, tuple[str, ...]] = {}
        for result in results:
            for qualified, bases in result.facts.get("class-bases", ()):
                self.class_bases[qualified] = tuple(bases)
        self._by_short_name: dict[str, list[str]] = {}
        for qualified in self.class_bases:
            self._by_short_name.setdefault(qualified.rsplit(".", 1)[-1], []).append(qualified)
        self.django_models = self._close_over_bases(DJANGO_MODEL_ROOTS)

    def canonical_class(self, name: str) -> str | None:
        """The defining name of a class, also when it is imported through a package that re-exports it
        (``shop.models.Order`` defined in ``shop/models/order.py``)."""
        if name in self.class_bases:
            return name
        module, _, short = name.rpartition(".")
        matches = [q for q in self._by_short_name.get(short, ()) if q.startswith(f"{module}.")]
        return matches[0] if len(matches) == 1 else None

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

    def holds(self, requirement: tuple[str, str]) -> bool:
        kind, key = requirement
        if kind == "django-model":
            canonical = self.canonical_class(key)
            return key in DJANGO_MODEL_ROOTS or (canonical is not None and canonical in self.django_models)
        raise ValueError(f"unknown project fact {kind!r}")

    def resolve(self, candidates: list[Candidate]) -> list[Finding]:
        return [candidate.finding for candidate in candidates if self.holds(candidate.requires)]
