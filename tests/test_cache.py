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
from reviewer.cache import MAX_FILES, Cache, CacheEntryError, decode_text, digest_of, encode
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
    assert decode_text(json.dumps(encode(result))) == result


def test_hits_and_misses(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "views.py").write_text(SOURCE)
    digest = digest_of(SOURCE.encode())
    cache = Cache(tmp_path / "cache", "plan-1", str(tmp_path))
    assert cache.get("shop/views.py", "shop.views", False, digest) is None
    cache.put("shop/views.py", "shop.views", False, digest, analyzed())
    cache.save()
    again = Cache(tmp_path / "cache", "plan-1", str(tmp_path))
    assert again.get("shop/views.py", "shop.views", False, digest) == analyzed()
    assert (tmp_path / "cache" / ".gitignore").read_text().strip().endswith("*")


def test_a_result_is_used_only_for_the_same_content_place_plan_and_project(tmp_path: Path) -> None:
    root = str(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    cache = Cache(tmp_path / "cache", "plan-1", root)
    cache.put("a.py", "a", False, digest_of(b"x = 1\n"), FileResult("a.py"))
    cache.save()

    def hit(rel: str, module: str, is_package: bool, content: bytes, plan: str = "plan-1", at: str = root) -> bool:
        return Cache(tmp_path / "cache", plan, at).get(rel, module, is_package, digest_of(content)) is not None

    assert hit("a.py", "a", False, b"x = 1\n")
    assert not hit("a.py", "a", False, b"x = 2\n")
    assert not hit("b.py", "a", False, b"x = 1\n")
    assert not hit("a.py", "pkg.a", False, b"x = 1\n")
    assert not hit("a.py", "a", True, b"x = 1\n")
    assert not hit("a.py", "a", False, b"x = 1\n", plan="plan-2")
    assert not hit("a.py", "a", False, b"x = 1\n", at=str(tmp_path / "other"))


def test_one_entry_per_file_and_deleted_files_are_dropped(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    cache = Cache(tmp_path / "cache", "plan", str(tmp_path))
    for content in (b"x = 1\n", b"x = 2\n", b"x = 3\n"):
        cache.put("a.py", "a", False, digest_of(content), FileResult("a.py"))
    cache.put("b.py", "b", False, digest_of(b"x = 1\n"), FileResult("b.py"))
    cache.save()
    (tmp_path / "b.py").unlink()
    again = Cache(tmp_path / "cache", "plan", str(tmp_path))
    again.put("a.py", "a", False, digest_of(b"x = 4\n"), FileResult("a.py"))
    again.save()
    assert set(json.loads(again.path.read_text())["files"]) == {"a.py"}


def test_the_directory_keeps_the_most_recently_used_plans(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    for number in range(MAX_FILES + 3):
        cache = Cache(tmp_path / "cache", f"plan-{number}", str(tmp_path))
        cache.put("a.py", "a", False, digest_of(b"x = 1\n"), FileResult("a.py"))
        cache.save()
        os.utime(cache.path, (number, number))  # distinct times, oldest first
    kept = sorted((tmp_path / "cache").glob("*.json"))
    assert len(kept) == MAX_FILES
    assert cache.path in kept
    assert not Cache(tmp_path / "cache", "plan-0", str(tmp_path)).get("a.py", "a", False, digest_of(b"x = 1\n"))


def cache_file(result: str, digest: str | None = None, file_format: str = "reviewer-cache/4") -> str:
    """The text of a cache file holding ``result`` (JSON text) as the entry of a.py."""
    entry = {"digest": digest or digest_of(b""), "module": "a", "package": False, "result": result}
    return json.dumps({"format": file_format, "files": {"a.py": entry}})


@pytest.mark.parametrize("content", [
    "not json",
    "[]",
    '{"format": "reviewer-cache/4", "files": []}',
    '{"format": "reviewer-cache/4", "files": {"a.py": []}}',
    cache_file('{"$type": "FileResult", "path": "a.py"}', file_format="other/9"),
    cache_file('{"$type": "FileResult", "path": "a.py"}', digest="other"),
    cache_file('{"$type": "Popen", "args": []}'),
    cache_file('{"$type": "Span", "line": 1}'),
    cache_file('{"$type": "Span", "line": 1, "column": 1, "end_line": 1, "end_column": 2}'),
    cache_file('{"$type": "FileResult", "path": "a.py", "shell": 1}'),
    cache_file('{"$type": "FileResult", "path": "b.py"}'),
    cache_file('{"$type": "FileResult", "path": "a.py", "facts": {"kind": []}}'),
    cache_file('{"$type": "FileResult", "path": "a.py", "facts": {"$dict": [["kind"]]}}'),
    cache_file('{"$type": "FileResult", "path": "a.py", "notices": [{"$enum": "Signals", "value": 9}]}'),
    cache_file('{"$type": "FileResult", "path": "a.py", "notices": [{"$tuple": [], "extra": 1}]}'),
    cache_file('{"$type": "FileResult", "path": "a.py"'),
])
def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path, content: str) -> None:
    cache = Cache(tmp_path, "plan", str(tmp_path))
    cache.path.write_text(content)
    assert cache.get("a.py", "a", False, digest_of(b"")) is None


def test_a_sound_entry_is_a_hit(tmp_path: Path) -> None:
    """The counterpart of the cases above: the same file, well formed, is used."""
    cache = Cache(tmp_path, "plan", str(tmp_path))
    cache.path.write_text(cache_file('{"$type": "FileResult", "path": "a.py", "facts": {"$dict": [["k", []]]}}'))
    assert cache.get("a.py", "a", False, digest_of(b"")) == FileResult("a.py", facts={"k": []})


def test_only_registered_types_decode() -> None:
    with pytest.raises(CacheEntryError):
        decode_text('{"$type": "Path", "args": []}')
    with pytest.raises(CacheEntryError):
        decode_text('{"$enum": "Signals", "value": 9}')
    with pytest.raises(TypeError):
        encode(Path("."))


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    cache = Cache(blocked, "plan", str(tmp_path))
    cache.put("a.py", "a", False, digest_of(b""), analyzed())
    cache.save()
    assert Cache(blocked, "plan", str(tmp_path)).get("a.py", "a", False, digest_of(b"")) is None


# -- a scan served from the cache -------------------------------------------------------------------------------------

LOADED_MODULES = """
import sys
from reviewer.cli import main
try:
    main()
except SystemExit as exit:
    print(exit.code)
print(sorted({"libcst", "reviewer.checks", "yaml", "rich", "concurrent.futures"} & set(sys.modules)))
"""


def run_scan(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", LOADED_MODULES, "scan", str(project), "--no-progress", "-q", *args]
    env = {**os.environ, "REVIEWER_CACHE_DIR": str(project / ".cache")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_fully_cached_scan_loads_neither_the_parser_nor_the_checks(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\n\nasync def handler():\n    time.sleep(1)\n")
    cold = run_scan(tmp_path)
    warm = run_scan(tmp_path)
    assert cold.stdout.splitlines()[-2:] == ["1", "['libcst', 'reviewer.checks', 'rich', 'yaml']"]
    assert warm.stdout.splitlines()[-2:] == ["1", "['rich']"]  # rich for the text report only
    assert warm.stdout.splitlines()[0] == cold.stdout.splitlines()[0]  # the same finding
    as_json = run_scan(tmp_path, "-f", "json", "-o", str(tmp_path / "report.json"))
    assert as_json.stdout.splitlines()[-2:] == ["1", "[]"]
    assert json.loads((tmp_path / "report.json").read_text())["findings"][0]["rule"] == "RV201"


def test_many_files_go_to_the_process_pool(tmp_path: Path) -> None:
    for number in range(8):
        (tmp_path / f"app{number}.py").write_text("import time\n\nasync def handler():\n    time.sleep(1)\n")
    assert "concurrent.futures" in run_scan(tmp_path, "-j2").stdout.splitlines()[-1]


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
