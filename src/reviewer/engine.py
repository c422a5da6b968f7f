"""Map each file to a :class:`FileResult` (from the cache, or analyzed in a process pool), then join them into a
:class:`ScanResult`.

Map: see :mod:`reviewer.analysis`. Join: merge all facts into a :class:`ProjectIndex` and
keep the candidates it confirms. Output order never depends on scheduling: everything is sorted at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reviewer.cache import Cache, digest_of
from reviewer.discover import SourcePath
from reviewer.findings import FileResult, Finding, Notice, NoticeKind, ScanResult
from reviewer.index import ProjectIndex
from reviewer.plan import ScanPlan
from reviewer.source import SourceError, read_bytes

if TYPE_CHECKING:
    from concurrent.futures.process import ProcessPoolExecutor


def cached_result(source: SourcePath, plan: ScanPlan, cache: Cache) -> FileResult | None:
    """The cached map result of a file, if its current content has one. Files that cannot be read are misses:
    analyzing them reports why."""
    try:
        data = read_bytes(source.path, source.rel, plan.max_file_size)
    except SourceError:
        return None
    return cache.get(source.rel, source.module, source.is_package, digest_of(data))


class Analyzer:
    """Analyzes files for one scan: in this process for one job or a handful of files, else in a pool of ``jobs``
    worker processes, started on first use and kept until the scan ends, so that the join's placement step
    reuses warm workers instead of analyzing in this process while they sit idle."""

    def __init__(self, plan: ScanPlan, jobs: int) -> None:
        self.plan = plan
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def analyze(
        self, sources: list[SourcePath], *, defer: bool, progress: Callable[[int], None] | None = None
    ) -> list[tuple[FileResult, str | None]]:
        """Each file's result and the digest of what was analyzed, in the order of ``sources``."""
        # Imported only here: the parser and the checks take a third of a run that the cache serves entirely.
        from reviewer.analysis import analyze_in_worker, init_worker, raise_recursion_limit, safe_analyze

        if self._pool is None and (self.jobs <= 1 or len(sources) < 2 * self.jobs):
            raise_recursion_limit()
            in_process = []
            for source in sources:
                in_process.append(safe_analyze(source, self.plan, defer=defer))
                if progress:
                    progress(1)
            return in_process
        from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor

        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=init_worker, initargs=(self.plan,))
        # Largest first, in small chunks: the last chunks are short, so no worker idles long while another
        # finishes a big file.
        order = sorted(range(len(sources)), key=lambda number: -_size(sources[number]))
        chunksize = max(1, min(8, len(sources) // (self.jobs * 16)))
        analyzed: dict[int, tuple[FileResult, str | None]] = {}
        try:
            for number, result in zip(order, self._pool.map(
                analyze_in_worker, [sources[number] for number in order], [defer] * len(order), chunksize=chunksize
            ), strict=True):
                analyzed[number] = result
                if progress:
                    progress(1)
        except BrokenProcessPool:
            # A worker died (a native crash in the parser, or killed for memory): the files from there on are
            # analyzed one per process, so the file that kills its process is reported and the rest are kept.
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            for number in order[len(analyzed):]:
                analyzed[number] = self._analyze_isolated(sources[number], defer)
                if progress:
                    progress(1)
        return [analyzed[number] for number in range(len(sources))]

    def _analyze_isolated(self, source: SourcePath, defer: bool) -> tuple[FileResult, str | None]:
        from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor

        from reviewer.analysis import analyze_in_worker, init_worker

        try:
            with ProcessPoolExecutor(max_workers=1, initializer=init_worker, initargs=(self.plan,)) as pool:
                return pool.submit(analyze_in_worker, source, defer).result()
        except BrokenProcessPool:
            message = "the analysis process died on this file (a crash in the parser, or out of memory)"
            return FileResult(source.rel, notices=[Notice(source.rel, NoticeKind.INTERNAL_ERROR, message)]), None


def _size(source: SourcePath) -> int:
    try:
        return os.stat(source.path).st_size
    except OSError:
        return 0


def map_files(
    sources: list[SourcePath],
    plan: ScanPlan,
    cache: Cache | None,
    analyzer: Analyzer,
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
    analyzed = iter(analyzer.analyze(missing, defer=True, progress=progress) if missing else ())
    results = []
    for number, source in enumerate(sources):
        if number in known:
            results.append(known[number])
            continue
        result, digest = next(analyzed)
        _remember(cache, source, digest, result)
        results.append(result)
    return results, len(known)


def _place_confirmed(
    results: list[FileResult], sources: list[SourcePath], index: ProjectIndex, cache: Cache | None,
    analyzer: Analyzer,
) -> None:
    """Analyze again, with positions, the files whose unplaced candidates the join confirms (1 of 219 such files
    on Django's sources, 7 of 70 on django-oscar's), and cache that result: it serves every later scan, whatever
    the join decides then."""
    confirmed = [number for number, result in enumerate(results)
                 if any(index.holds(requires) for requires in result.unplaced)]
    if not confirmed:
        return
    placed = analyzer.analyze([sources[number] for number in confirmed], defer=False)
    for number, (result, digest) in zip(confirmed, placed, strict=True):
        results[number] = result
        _remember(cache, sources[number], digest, result)


def _remember(cache: Cache | None, source: SourcePath, digest: str | None, result: FileResult) -> None:
    """Cache a result under the digest of the bytes it was computed from; a failed or timed-out analysis has no
    digest and is not cached."""
    if cache is not None and digest is not None:
        cache.put(source.rel, source.module, source.is_package, digest, result)


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
    with Analyzer(plan, jobs) as analyzer:
        results, cached = map_files(sources, plan, cache, analyzer, progress, before_analysis)
        index = ProjectIndex(results)
        _place_confirmed(results, sources, index, cache, analyzer)
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
