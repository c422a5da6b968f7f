"""The incremental cache: what the map step learned from a file, kept between runs.

An entry is keyed by everything the map step's result depends on: the file's bytes, where it sits (its path and
module name, which qualified names and findings carry), the tool's version and the effective plan (enabled rules,
their options and severities, the rule catalog's text). The join step is never cached: it always runs over every
file's facts, so a finding that depends on another file is right when only that other file changed.

Entries are JSON, decoded only into the plain data classes (and enums) of :mod:`reviewer.findings` named in a fixed
registry, so loading a cache directory that someone committed or tampered with cannot run code. An entry that does
not decode, or decodes to something else, is a miss and is rebuilt.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reviewer import findings

FORMAT = "reviewer-cache/2"
DEFAULT_DIRECTORY = ".reviewer_cache"


def _registry() -> dict[str, type]:
    """The public data classes and enums of the findings module: the only types an entry may decode into."""
    return {
        name: value for name, value in vars(findings).items()
        if isinstance(value, type) and value.__module__ == findings.__name__ and not name.startswith("_")
        and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
    }


TYPES = _registry()


class CacheEntryError(ValueError):
    """An entry that is not one this version wrote."""


def encode(value: Any) -> Any:
    """Plain JSON for a value made of registered data classes, enums, tuples, lists, dicts and scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if TYPES.get(name) is not type(value):
            raise TypeError(f"{name} cannot be cached")
        # Fields left at their defaults are left out: most files have no findings, and decoding is most of the
        # time a fully cached scan takes.
        shape = _shape(type(value))
        encoded = {"$type": name}
        for field_name in shape.names:
            item = getattr(value, field_name)
            if field_name not in shape.defaults or item != shape.defaults[field_name]:
                encoded[field_name] = encode(item)
        return encoded
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("only string keys can be cached")
        return {"$dict": {key: encode(item) for key, item in value.items()}}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} cannot be cached")


# What JSON decodes to and an entry holds as it is. Facts are mostly tuples of these: items of this type skip a
# call to decode, which cuts the calls by two thirds.
SCALARS = frozenset({str, int, float, bool, type(None)})


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [item if type(item) in SCALARS else decode(item) for item in data]
    if isinstance(data, dict):
        if "$tuple" in data:
            return tuple(item if type(item) in SCALARS else decode(item) for item in _list(data["$tuple"]))
        if "$dict" in data:
            inner = data["$dict"]
            if not isinstance(inner, dict):
                raise CacheEntryError("bad mapping")
            return {key: item if type(item) in SCALARS else decode(item) for key, item in inner.items()}
        if "$enum" in data:
            cls = TYPES.get(data["$enum"])
            if cls is None or not issubclass(cls, enum.Enum):
                raise CacheEntryError(f"unknown enum {data['$enum']!r}")
            return cls(data["value"])
        cls = TYPES.get(data.get("$type", ""))
        if cls is None or not dataclasses.is_dataclass(cls):
            raise CacheEntryError(f"unknown type {data.get('$type')!r}")
        arguments = {key: decode(item) for key, item in data.items() if key != "$type"}
        shape = _shape(cls)
        if not shape.required <= arguments.keys() <= shape.fields:
            raise CacheEntryError(f"fields of {cls.__name__} do not match")
        return cls(**arguments)
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    raise CacheEntryError("unexpected value")


@dataclasses.dataclass(frozen=True)
class _Shape:
    """A data class's fields as encoding and decoding need them."""

    names: tuple[str, ...]  # in declaration order, so entries are written the same way every time
    fields: frozenset[str]
    defaults: dict[str, Any]  # the default of each field that has one (compared with, never handed out)
    required: frozenset[str]


@functools.cache
def _shape(cls: type) -> _Shape:
    fields = dataclasses.fields(cls)
    defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for f in fields
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    names = tuple(f.name for f in fields)
    return _Shape(names, frozenset(names), defaults, frozenset(names) - defaults.keys())


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise CacheEntryError("expected a list")
    return value


class Cache:
    """Per-file map results on disk under ``directory``, for one plan (``plan_key``)."""

    def __init__(self, directory: Path, plan_key: str) -> None:
        self.directory = directory
        self.plan_key = plan_key
        self.hits = 0
        self.misses = 0

    def key(self, rel: str, module: str, is_package: bool, content: bytes) -> str:
        digest = hashlib.sha256()
        for part in (FORMAT, self.plan_key, rel, module, str(is_package)):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(content)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> findings.FileResult | None:
        try:
            raw = self._path(key).read_bytes()
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
                raise CacheEntryError("foreign entry")
            result = decode(data["result"])
            if not isinstance(result, findings.FileResult):
                raise CacheEntryError("not a file result")
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, key: str, result: findings.FileResult) -> None:
        """Store ``result``; a cache that cannot be written (read-only checkout, full disk) only costs speed."""
        path = self._path(key)
        try:
            payload = json.dumps({"format": FORMAT, "key": key, "result": encode(result)}, separators=(",", ":"))
            path.parent.mkdir(parents=True, exist_ok=True)
            _ignore_directory(self.directory)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(temporary, path)
        except (OSError, TypeError):
            return


def _ignore_directory(directory: Path) -> None:
    """A cache directory ignores itself, so it is never committed by accident (as ruff and pytest do)."""
    marker = directory / ".gitignore"
    if not marker.exists():
        marker.write_text("# Created by reviewer: the scan cache is local to this checkout.\n*\n", encoding="utf-8")
