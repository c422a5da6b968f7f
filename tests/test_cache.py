"""The incremental cache: entries round-trip exactly, and anything else on disk is a miss, never code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import rule_plan

from reviewer.cache import Cache, CacheEntryError, decode, encode
from reviewer.engine import analyze_text
from reviewer.findings import FileResult

SOURCE = """\
from rest_framework import generics
from shop.models import Order


class Orders(generics.ListAPIView):
    queryset = Order.objects.filter(paid=True)


def names():
    return [order.customer.name for order in Order.objects.all()]
"""


def analyzed() -> FileResult:
    result = analyze_text(SOURCE, "shop/views.py", "shop.views", False, rule_plan("RV103"))
    other = analyze_text(SOURCE, "shop/views.py", "shop.views", False, rule_plan("RV102"))
    result.candidates += other.candidates
    result.facts.update(other.facts)
    return result


def test_a_file_result_round_trips_exactly() -> None:
    result = analyzed()
    assert result.candidates and result.facts
    assert decode(json.loads(json.dumps(encode(result)))) == result


def test_hits_and_misses(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", "plan-1")
    key = cache.key("shop/views.py", "shop.views", False, SOURCE.encode())
    assert cache.get(key) is None
    cache.put(key, analyzed())
    assert cache.get(key) == analyzed()
    assert (cache.hits, cache.misses) == (1, 1)
    assert (tmp_path / "cache" / ".gitignore").read_text().strip().endswith("*")


def test_the_key_covers_content_place_and_plan(tmp_path: Path) -> None:
    one = Cache(tmp_path, "plan-1")
    keys = {
        one.key("a.py", "a", False, b"x = 1\n"),
        one.key("a.py", "a", False, b"x = 2\n"),
        one.key("b.py", "b", False, b"x = 1\n"),
        one.key("a/__init__.py", "a", True, b"x = 1\n"),
        Cache(tmp_path, "plan-2").key("a.py", "a", False, b"x = 1\n"),
    }
    assert len(keys) == 5


@pytest.mark.parametrize("content", [
    b"not json",
    b'{"format": "reviewer-cache/1", "key": "%s", "result": {"$type": "Popen", "args": ["id"]}}',
    b'{"format": "reviewer-cache/1", "key": "%s", "result": {"$type": "Span", "line": 1}}',
    b'{"format": "reviewer-cache/1", "key": "%s", "result": {"$type": "Span", "line": 1, "column": 1, '
    b'"end_line": 1, "end_column": 2}}',
    b'{"format": "other/9", "key": "%s", "result": null}',
    b'[]',
])
def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path, content: bytes) -> None:
    cache = Cache(tmp_path, "plan")
    key = cache.key("a.py", "a", False, b"")
    path = tmp_path / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content.replace(b"%s", key.encode()) if b"%s" in content else content)
    assert cache.get(key) is None


def test_only_registered_types_decode() -> None:
    with pytest.raises(CacheEntryError):
        decode({"$type": "Path", "args": []})
    with pytest.raises(CacheEntryError):
        decode({"$enum": "Signals", "value": 9})
    with pytest.raises(TypeError):
        encode(Path("."))


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    cache = Cache(blocked, "plan")
    key = cache.key("a.py", "a", False, b"")
    cache.put(key, analyzed())
    assert cache.get(key) is None
