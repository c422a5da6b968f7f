"""Map each file to a :class:`FileResult` (from the cache, or analyzed in a process pool), then join them into a
:class:`ScanResult`.

Map: see :mod:`reviewer.analysis`. Join: merge all facts into a :class:`ProjectIndex` and
keep the candidates it confirms. Output order never depends on scheduling: everything is sorted at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from reviewer.cache import Cache, digest_of
from reviewer.discover import SourcePath
from reviewer.findings import FileResult, Finding, Notice, NoticeKind, ScanResult
from reviewer.index import ProjectIndex
from reviewer.plan import ScanPlan
from reviewer.source import SourceError, read_bytes


def cached_result(source: SourcePath, plan: ScanPlan, cache: Cache) -> FileResult | None:
    """The cached map result of a file, if its current content has one. Files that cannot be read are misses:
    analyzing them reports why."""
    try:
        data = read_bytes(source.path, source.rel, plan.max_file_size)
    except SourceError:
        return None
    return cache.get(source.rel, source.module, source.is_package, digest_of(data))


def map_files(
    sources: list[SourcePath],
    plan: ScanPlan,
    cache: Cache | None,
    jobs: int,
    progress: Callable[[int], None] | None = None,
    before_analysis: Callable[[], None] | None = None,
) -> tuple[list[FileResult], int]:
    """Every file's map result, in the order of ``sources``: from the cache when the plan has one and the file is
    unchanged, else analyzed (and cached). Also how many came from the cache. ``before_analysis`` runs first when
    any file is to be analyzed (or none came from the cache): it checks what only analysis needs, such as the
    rules' options. When every file came from the cache, the run that cached them under this same plan checked
    it. Results are put in ``cache``, which the caller saves."""
    known: dict[int, FileResult] = {}
    if cache is not None:
        for number, source in enumerate(sources):
            hit = cached_result(source, plan, cache)
            if hit is not None:
                known[number] = hit
    missing = [source for number, source in enumerate(sources) if number not in known]
    if before_analysis is not None and (missing or not known):
        before_analysis()
    if progress and known:
        progress(len(known))
    analyzed = iter(_analyze_all(missing, plan, jobs, progress) if missing else ())
    results = []
    for number, source in enumerate(sources):
        if number in known:
            results.append(known[number])
            continue
        result, digest = next(analyzed)
        if cache is not None and digest is not None:
            cache.put(source.rel, source.module, source.is_package, digest, result)
        results.append(result)
    return results, len(known)


def _analyze_all(
    sources: list[SourcePath], plan: ScanPlan, jobs: int, progress: Callable[[int], None] | None = None
) -> Iterable[tuple[FileResult, str | None]]:
    """Analyze every file (its result and the digest of what was analyzed), in-process for ``jobs == 1`` or few files, else in a pool of ``jobs`` processes."""
    # Imported only here: the parser and the checks take a third of a run that the cache serves entirely.
    from reviewer.analysis import analyze_in_worker, init_worker, raise_recursion_limit, safe_analyze

    if jobs <= 1 or len(sources) < 2 * jobs:
        raise_recursion_limit()
        for source in sources:
            yield safe_analyze(source, plan, defer=True)
            if progress:
                progress(1)
        return
    chunksize = max(1, min(32, len(sources) // (jobs * 8)))
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=init_worker, initargs=(plan,)) as pool:
            for analyzed in pool.map(analyze_in_worker, sources, chunksize=chunksize):
                yield analyzed
                done += 1
                if progress:
                    progress(1)
    except BrokenProcessPool:
        # A worker died (a native crash in the parser, or killed for memory): the files from there on are
        # analyzed one per process, so the file that kills its process is reported and the rest are kept.
        for source in sources[done:]:
            yield _analyze_isolated(source, plan)
            if progress:
                progress(1)


def _analyze_isolated(source: SourcePath, plan: ScanPlan) -> tuple[FileResult, str | None]:
    from reviewer.analysis import analyze_in_worker, init_worker

    try:
        with ProcessPoolExecutor(max_workers=1, initializer=init_worker, initargs=(plan,)) as pool:
            return pool.submit(analyze_in_worker, source).result()
    except BrokenProcessPool:
        message = "the analysis process died on this file (a crash in the parser, or out of memory)"
        return FileResult(source.rel, notices=[Notice(source.rel, NoticeKind.INTERNAL_ERROR, message)]), None


def _place_confirmed(
    results: list[FileResult], sources: list[SourcePath], plan: ScanPlan, index: ProjectIndex, cache: Cache | None
) -> None:
    """Analyze again, with positions, the files whose unplaced candidates the join confirms (2 of 220 such files
    on Django's sources, 10 of 73 on django-oscar's), and cache that result: it serves every later scan, whatever
    the join decides then."""
    for number, result in enumerate(results):
        if not any(index.holds(requires) for requires in result.unplaced):
            continue
        from reviewer.analysis import raise_recursion_limit, safe_analyze  # only when a file needs it

        raise_recursion_limit()
        source = sources[number]
        results[number], digest = safe_analyze(source, plan)
        if cache is not None and digest is not None:
            cache.put(source.rel, source.module, source.is_package, digest, results[number])


def scan(
    sources: list[SourcePath],
    plan: ScanPlan,
    root: str,
    jobs: int,
    walk_notices: list[Notice] | None = None,
    progress: Callable[[int], None] | None = None,
    before_analysis: Callable[[], None] | None = None,
) -> ScanResult:
    """Map every file (see :func:`map_files`), then join: confirm candidates against the project's facts."""
    started = time.perf_counter()
    cache = plan.cache(root)
    results, cached = map_files(sources, plan, cache, jobs, progress, before_analysis)
    index = ProjectIndex(results)
    _place_confirmed(results, sources, plan, index, cache)
    if cache is not None:
        cache.save()
    findings: list[Finding] = []
    notices: list[Notice] = list(walk_notices or ())
    suppressed: list[Finding] = []
    for file_result in results:
        findings += file_result.findings
        findings += index.resolve(file_result.candidates)
        notices += file_result.notices
        suppressed += file_result.suppressed_findings
        suppressed += index.resolve(file_result.suppressed_candidates)
    findings.sort(key=lambda f: f.sort_key)
    notices.sort(key=lambda n: n.sort_key)
    return ScanResult(
        root=root,
        findings=findings,
        notices=notices,
        files_scanned=sum(1 for r in results if not any(n.skipped_file for n in r.notices)),
        elapsed=time.perf_counter() - started,
        suppressed=sum(r.suppressed for r in results),
        suppressed_findings=sorted(suppressed, key=lambda f: f.sort_key),
        files_cached=cached,
    )


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
