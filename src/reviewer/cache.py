"""The incremental cache: what the map step learned from each file, kept between runs.

A cache file holds the results of one project (its root) under one plan (the analyzer's code, the enabled rules,
their options and severities): for each source file, its content digest and place (path and module name, which
qualified names and findings carry), and its map result. A result is used only while all of these are unchanged.
The join step is never cached: it always runs over every file's facts, so a finding that depends on another file
is right when only that other file changed.

Results are JSON, decoded only into the plain data classes (and enums) of :mod:`reviewer.findings` named in a fixed
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

FORMAT = "reviewer-cache/4"
DEFAULT_DIRECTORY = ".reviewer_cache"
# Cache files kept in a directory: one per plan (configuration and analyzer version) and project.
MAX_FILES = 16
RESULTS_FILES = "[0-9a-f]" * 32 + ".json"  # their names; other files of the directory are not pruned


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
        # Pairs, not an object: every JSON object of an entry is then one of ours, which decoding relies on.
        return {"$dict": [[key, encode(item)] for key, item in value.items()]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} cannot be cached")


def decode_text(text: str) -> Any:
    """The value :func:`encode` made, from its JSON text. The JSON parser calls back for each object, innermost
    first, so lists and scalars never reach Python code: most of the time a fully cached scan takes is here."""
    return json.loads(text, object_hook=_decode_object)


def _decode_object(data: dict[str, Any]) -> Any:
    if "$type" in data:
        cls = TYPES.get(data.pop("$type"))
        if cls is None or not dataclasses.is_dataclass(cls):
            raise CacheEntryError("unknown type")
        shape = _shape(cls)
        if not shape.required <= data.keys() <= shape.fields:
            raise CacheEntryError(f"fields of {cls.__name__} do not match")
        return cls(**data)
    if len(data) == 1 and isinstance(data.get("$tuple"), list):
        return tuple(data["$tuple"])
    if len(data) == 1 and isinstance(data.get("$dict"), list):
        pairs = data["$dict"]
        if not all(type(pair) is list and len(pair) == 2 and type(pair[0]) is str for pair in pairs):
            raise CacheEntryError("bad mapping")
        return dict(pairs)
    if data.keys() == {"$enum", "value"}:
        cls = TYPES.get(data["$enum"])
        if cls is None or not issubclass(cls, enum.Enum):
            raise CacheEntryError(f"unknown enum {data['$enum']!r}")
        return cls(data["value"])
    raise CacheEntryError("not an encoded value")


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


class Cache:
    """The map results of one project's files under one plan: a single JSON file under ``directory``, read once
    and written once per scan.

    One file rather than one per entry: a warm scan opens one file instead of thousands, and the cache holds one
    entry per source file (the latest), so it cannot grow with every edit or every plan ever used: the directory
    keeps the :data:`MAX_FILES` most recently used plans and projects."""

    def __init__(self, directory: Path, plan_key: str, root: str) -> None:
        self.directory = directory
        name = hashlib.sha256(f"{FORMAT}\0{plan_key}\0{root}".encode("utf-8", "surrogateescape")).hexdigest()
        self.path = directory / f"{name[:32]}.json"
        self.root = root
        self._entries: dict[str, Any] | None = None  # rel -> entry, as read (results still encoded)
        self._written: set[str] = set()

    @property
    def entries(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            try:
                data = json.loads(self.path.read_bytes())
                if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("files"), dict):
                    self._entries = data["files"]
                os.utime(self.path)  # in use: see prune
            except (OSError, ValueError, RecursionError):
                pass
        return self._entries

    def get(self, rel: str, module: str, is_package: bool, digest: str) -> findings.FileResult | None:
        """The result cached for this file when its content (``digest``) and place are unchanged."""
        entry = self.entries.get(rel)
        try:
            if not isinstance(entry, dict) or entry.get("digest") != digest or entry.get("module") != module or (
                    entry.get("package") is not is_package):
                return None
            if type(entry["result"]) is not str:
                raise CacheEntryError("not an encoded result")
            result = decode_text(entry["result"])
            if not isinstance(result, findings.FileResult) or result.path != rel:
                raise CacheEntryError("not this file's result")
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
        return result

    def put(self, rel: str, module: str, is_package: bool, digest: str, result: findings.FileResult) -> None:
        try:
            # Stored as JSON text inside the cache file: only the results a scan uses are decoded, and saving
            # writes the others back as they were read.
            encoded = json.dumps(encode(result), separators=(",", ":"))
        except TypeError:
            return
        self.entries[rel] = {"digest": digest, "module": module, "package": is_package, "result": encoded}
        self._written.add(rel)

    def save(self) -> None:
        """Write the entries back if any changed, without those of files that no longer exist. A cache that cannot
        be written (read-only checkout, full disk) only costs speed."""
        if not self._written:
            return
        kept = {rel: entry for rel, entry in self.entries.items()
                if rel in self._written or os.path.exists(os.path.join(self.root, rel))}
        try:
            write_file(self.directory, self.path.name, json.dumps({"format": FORMAT, "files": kept},
                                                                  separators=(",", ":")))
            _prune(self.directory)
        except OSError:
            return
        self._written.clear()


def write_file(directory: Path, name: str, text: str) -> None:
    """Write a file of the cache directory whole or not at all (a scan running alongside reads either the old
    file or the new one), creating the directory, ignored by git, if needed."""
    directory.mkdir(parents=True, exist_ok=True)
    _ignore_directory(directory)
    descriptor, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, directory / name)
    except BaseException:
        os.unlink(temporary)
        raise


def _prune(directory: Path) -> None:
    """Keep the most recently used cache files: older plans (another configuration, an earlier version of the
    analyzer) and other projects sharing the directory age out."""
    files = sorted(directory.glob(RESULTS_FILES), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in files[MAX_FILES:]:
        stale.unlink(missing_ok=True)


def stamp_of(paths: list[Path]) -> str:
    """What the cache keys files that ship with the analyzer by (its modules, its rule files): their names, sizes and
    modification times, in the order given. Cheap enough for every run, unlike hashing their content."""
    return "".join(f"{path.name}:{info.st_size}:{info.st_mtime_ns}\0" for path in paths for info in [path.stat()])


def digest_of(content: bytes) -> str:
    """What a cache entry records of a file's content."""
    return hashlib.sha256(content).hexdigest()


def _ignore_directory(directory: Path) -> None:
    """A cache directory ignores itself, so it is never committed by accident (as ruff and pytest do)."""
    marker = directory / ".gitignore"
    if not marker.exists():
        marker.write_text("# Created by reviewer: the scan cache is local to this checkout.\n*\n", encoding="utf-8")
