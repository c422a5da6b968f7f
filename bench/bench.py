"""Scan speed and memory on real projects, against libcst's bare parse and peers, in one run.

Usage: python bench/bench.py [--package django==5.1.4 --package django-oscar==4.2.1] [--source DIR]
                             [--repeat 3] [--no-peers] [--instructions]

For each corpus (the sdist of each ``--package``, downloaded with pip into a temporary folder, or ``--source``),
prints one table of median wall time, CPU time (user + system, the process and its workers) and peak memory (the
largest single process) for:

- libcst parse of every file, in 1 and 2 processes (no checks): the floor any libcst-based analyzer stands on;
- ``reviewer scan``, all default rules: cold with ``-j1`` and ``-j2`` (no cache), warm (nothing changed since the
  last run, cache on), and after one file changed (cache on);
- bandit (all plugins), ruff (``S,ASYNC,PERF,DJ``, ``--no-cache``) and semgrep (the equivalent local rules in
  ``bench/semgrep-rules.yaml``, ``-j2``), installed in a throwaway virtual environment (``--no-peers`` skips them);

then the ratios the speed goals are stated in.

Wall and CPU times move with whatever else the machine runs. ``--instructions`` adds, per corpus, the instructions
each of libcst's bare parse (1 process), reviewer cold ``-j1`` and warm, bandit and ruff executes, counted by
valgrind's callgrind (workers included): the same count on every run, so the ratios between them are steady. Under
valgrind Python runs some 50 times slower: use it on a corpus the size of django-oscar.

reviewer's own modules are compiled to bytecode first, as installing a wheel does: an editable install run with
``PYTHONDONTWRITEBYTECODE`` set would otherwise compile every module from source on every run (about 0.1 s).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

HERE = Path(__file__).parent
PEERS = ("bandit", "ruff", "semgrep")


@dataclass(frozen=True)
class Measure:
    wall: float
    cpu: float
    peak_mb: float


def download(package: str, into: Path) -> Path:
    """The package's source distribution (or, when it has none that builds, its wheel), unpacked."""
    into.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), package]
    if subprocess.run([*pip, "--no-binary", ":all:"], check=False, capture_output=True).returncode != 0:
        subprocess.run(pip, check=True, capture_output=True)
    archive = next(p for p in into.iterdir() if p.is_file())
    target = into / "src"
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            wheel.extractall(target)
        return target
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return next(p for p in target.iterdir() if p.is_dir())


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file() and not p.is_symlink())


def _parse_chunk(paths: list[str]) -> int:
    parsed = 0
    for path in paths:
        try:
            cst.parse_module(Path(path).read_bytes())
            parsed += 1
        except Exception:  # a file libcst cannot parse costs what it costs
            continue
    return parsed


def parse_only(files: list[Path], processes: int) -> int:
    paths = [str(p) for p in files]
    if processes == 1:
        return _parse_chunk(paths)
    chunks = [paths[start::processes * 8] for start in range(processes * 8)]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        return sum(pool.map(_parse_chunk, chunks))


def instructions(command: list[str]) -> int:
    """Instructions the command executes, its forked workers included, as valgrind's callgrind counts them."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.%p", *command],
                       check=False, capture_output=True)
        total = 0
        for profile in Path(out).iterdir():
            with profile.open() as lines:
                total += next(int(line.split()[1]) for line in lines if line.startswith("summary:"))
        return total


def run(command: list[str]) -> Measure:
    """Wall time, CPU time and peak memory of a command, its waited-for workers included."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def in_child(function: Callable[[], object]) -> Measure:
    """Measure a Python function in a forked child, so its memory and CPU are its own."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        function()
        os._exit(0)
    _, _, usage = os.wait4(pid, 0)
    return Measure(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(measures: list[Measure]) -> Measure:
    return Measure(
        statistics.median(m.wall for m in measures),
        statistics.median(m.cpu for m in measures),
        max(m.peak_mb for m in measures),
    )


def peers_environment(folder: Path) -> Path | None:
    """A throwaway virtual environment with bandit, ruff and semgrep; None when they cannot be installed."""
    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    installed = subprocess.run([python, "-m", "pip", "install", "-q", *PEERS], check=False, capture_output=True)
    if installed.returncode != 0:
        print(f"peers not installed: {installed.stderr.decode()[-300:]}", file=sys.stderr)
        return None
    return folder / "bin"


def bench_corpus(root: Path, repeat: int, peers: Path | None, work: Path, count_instructions: bool) -> None:
    files = python_files(root)
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    print(f"\n## {root.name}: {len(files):,} files, {lines:,} lines (median of {repeat} runs)\n")
    rows: dict[str, Measure] = {}

    def measure(name: str, take: Callable[[], Measure], before: Callable[[], None] | None = None) -> None:
        samples = []
        for _ in range(repeat):
            if before:
                before()
            samples.append(take())
        rows[name] = median(samples)

    measure("libcst parse only, 1 process", lambda: in_child(lambda: parse_only(files, 1)))
    measure("libcst parse only, 2 processes", lambda: in_child(lambda: parse_only(files, 2)))
    scan = [sys.executable, "-m", "reviewer", "scan", str(root), "--no-progress", "--exit-zero", "-f", "json",
            "-o", os.devnull]
    cache = work / "cache"
    cached = [*scan, "-j2", "--cache-dir", str(cache)]
    cold_one_job = [*scan, "-j1", "--no-cache"]
    measure("reviewer cold -j1", lambda: run(cold_one_job))
    measure("reviewer cold -j2", lambda: run([*scan, "-j2", "--no-cache"]))
    run(cached)  # fill the cache
    measure("reviewer warm (nothing changed)", lambda: run(cached))
    changed = max(files, key=lambda p: p.stat().st_size)
    original = changed.read_bytes()
    counter = iter(range(1_000_000))
    measure("reviewer warm, one file changed", lambda: run(cached),
            before=lambda: changed.write_bytes(original + f"\n# edit {next(counter)}\n".encode()))
    changed.write_bytes(original)
    peer_commands = {} if peers is None else {
        "bandit (all plugins)": [str(peers / "bandit"), "-q", "-r", str(root), "-f", "json", "-o", os.devnull],
        "ruff S,ASYNC,PERF,DJ --no-cache": [str(peers / "ruff"), "check", "--no-cache", "--select",
                                            "S,ASYNC,PERF,DJ", "--exit-zero", "-q", str(root)],
        "semgrep (local rules, -j2)": [str(peers / "semgrep"), "scan", "--metrics=off", "--config",
                                       str(HERE / "semgrep-rules.yaml"), "-j", "2", "--quiet", "--json", "-o",
                                       os.devnull, str(root)],
    }
    for name, command in peer_commands.items():
        measure(name, lambda command=command: run(command))

    print(f"| {'what':<36} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>8} |")
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 9}|{'-' * 10}|")
    for name, m in rows.items():
        print(f"| {name:<36} | {m.wall:>7.2f} | {m.cpu:>7.2f} | {m.peak_mb:>8.0f} |")

    cold1, cold2 = rows["reviewer cold -j1"].wall, rows["reviewer cold -j2"].wall
    ratios = {
        "cold -j2 / parse-only 2 processes (goal <= 1.3)": cold2 / rows["libcst parse only, 2 processes"].wall,
        "cold -j2 / cold -j1 (goal <= 0.6)": cold2 / cold1,
        "warm / cold -j2 (goal <= 0.05)": rows["reviewer warm (nothing changed)"].wall / cold2,
        "one file changed / cold -j2 (goal <= 0.1)": rows["reviewer warm, one file changed"].wall / cold2,
    }
    if "bandit (all plugins)" in rows:
        ratios["cold -j2 / bandit (goal <= 0.5)"] = cold2 / rows["bandit (all plugins)"].wall
        ratios["warm / ruff cold (goal <= 3)"] = (
            rows["reviewer warm (nothing changed)"].wall / rows["ruff S,ASYNC,PERF,DJ --no-cache"].wall
        )
        ratios["cold -j2 / semgrep -j2"] = cold2 / rows["semgrep (local rules, -j2)"].wall
    print()
    for name, value in ratios.items():
        print(f"- {name}: {value:.2f}")
    if count_instructions:
        run(cached)  # the cache again holds every file as it is
        counts = {
            "libcst parse only, 1 process": instructions([sys.executable, __file__, "--parse-only", str(root)]),
            "reviewer cold -j1": instructions(cold_one_job),
            "reviewer warm (nothing changed)": instructions(cached),
        }
        if peers is not None:  # not semgrep: its engine is a separate program, which callgrind does not follow
            for name in ("bandit (all plugins)", "ruff S,ASYNC,PERF,DJ --no-cache"):
                counts[name] = instructions(peer_commands[name])
        print(f"\n| {'what':<36} | {'instructions (G)':>16} |")
        print(f"|{'-' * 38}|{'-' * 18}|")
        for name, count in counts.items():
            print(f"| {name:<36} | {count / 1e9:>16.2f} |")
        cold = counts["reviewer cold -j1"]
        print(f"\n- cold -j1 / parse only, instructions: {cold / counts['libcst parse only, 1 process']:.2f}")
        if peers is not None:
            print(f"- cold -j1 / bandit, instructions: {cold / counts['bandit (all plugins)']:.2f}")
            print(f"- warm / ruff, instructions: "
                  f"{counts['reviewer warm (nothing changed)'] / counts['ruff S,ASYNC,PERF,DJ --no-cache']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="append", help="pip requirement whose source to scan (repeatable)")
    parser.add_argument("--source", type=Path, action="append", help="scan this folder instead (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true", help="do not install and time bandit, ruff and semgrep")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with valgrind's callgrind (slow: some 50x for Python)")
    parser.add_argument("--parse-only", type=Path, help=argparse.SUPPRESS)  # the measured command of --instructions
    args = parser.parse_args()
    if args.parse_only:
        parse_only(python_files(args.parse_only), 1)
        return
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on PATH")
    packages = args.package or ([] if args.source else ["django==5.1.4", "django-oscar==4.2.1"])

    import reviewer

    compileall.compile_dir(str(Path(reviewer.__file__).parent), quiet=1)
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        peers = None if args.no_peers else peers_environment(work / "peers")
        roots = [*(args.source or ()), *(download(p, work / f"corpus{n}") for n, p in enumerate(packages))]
        for number, root in enumerate(roots):
            bench_corpus(root, args.repeat, peers, work / f"run{number}", args.instructions)
            shutil.rmtree(work / f"run{number}", ignore_errors=True)


if __name__ == "__main__":
    main()
