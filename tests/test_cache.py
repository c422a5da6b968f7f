"""The incremental cache: entries round-trip exactly, and anything else on disk is a miss, never code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import rule_plan

from reviewer.analysis import analyze_text
from reviewer.cache import Cache, CacheEntryError, decode, encode
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
    b'{"format": "reviewer-cache/2", "key": "%s", "result": {"$type": "Popen", "args": ["id"]}}',
    b'{"format": "reviewer-cache/2", "key": "%s", "result": {"$type": "Span", "line": 1}}',
    b'{"format": "reviewer-cache/2", "key": "%s", "result": {"$type": "Span", "line": 1, "column": 1, '
    b'"end_line": 1, "end_column": 2}}',
    b'{"format": "reviewer-cache/2", "key": "%s", "result": {"$type": "FileResult", "path": "a.py", "shell": 1}}',
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


# -- a scan served from the cache -------------------------------------------------------------------------------------

LOADED_MODULES = """
import sys
from reviewer.cli import main
try:
    main()
except SystemExit as exit:
    print(exit.code)
print(sorted({"libcst", "reviewer.checks"} & set(sys.modules)))
"""


def run_scan(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", LOADED_MODULES, "scan", str(project), "--no-progress", "-q", *args]
    env = {**os.environ, "REVIEWER_CACHE_DIR": str(project / ".cache")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_fully_cached_scan_loads_neither_the_parser_nor_the_checks(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\nasync def handler():\n    time.sleep(1)\n")
    cold = run_scan(tmp_path)
    warm = run_scan(tmp_path)
    assert cold.stdout.splitlines()[-2:] == ["1", "['libcst', 'reviewer.checks']"]
    assert warm.stdout.splitlines()[-2:] == ["1", "[]"]
    assert warm.stdout.splitlines()[0] == cold.stdout.splitlines()[0]  # the same finding


def test_bad_options_are_refused_whatever_the_cache_holds(tmp_path: Path) -> None:
    """Options are checked only before files are analyzed; a plan whose results are all cached was checked when
    they were written, and changing an option changes the plan."""
    (tmp_path / "app.py").write_text("x = 1\n")
    assert run_scan(tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text('[tool.reviewer.rules.RV201]\noffload-wrappers = "run_sync"\n')
    refused = run_scan(tmp_path)
    assert refused.stdout.splitlines()[0] == "2" and "offload-wrappers must be a list" in refused.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "pyproject.toml").write_text((tmp_path / "pyproject.toml").read_text())
    assert "offload-wrappers must be a list" in run_scan(empty).stderr
