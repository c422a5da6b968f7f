"""Scan speed on a real project, against libcst's bare parse and, when installed, peers, in one run.

Usage: python bench/bench.py [--package django==5.1.4] [--source DIR] [--repeat 3]

Downloads the package's sdist with pip into a temporary folder (or uses --source), then reports median wall times
of: libcst parse of every file (one process, no checks), ``reviewer scan`` with -j1 and -j2 (whole process, all
default rules, no cache), and bandit / ruff / semgrep on the same files if they are on PATH. Ratios are relative
to the parse-only time and between -j2 and -j1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import libcst as cst


def download(package: str, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(into), package],
        check=True,
    )
    archive = next(into.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return next(p for p in into.iterdir() if p.is_dir())


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def parse_only(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        try:
            cst.parse_module(path.read_bytes())
        except Exception:  # noqa: BLE001, S112 - a file libcst cannot parse costs what it costs
            continue
    return time.perf_counter() - started


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def median_of(repeat: int, measure) -> float:  # noqa: ANN001
    return statistics.median(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="django==5.1.4", help="pip requirement whose sdist to scan")
    parser.add_argument("--source", type=Path, help="scan this folder instead of downloading")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        root = args.source or download(args.package, Path(temp))
        files = python_files(root)
        lines = sum(len(p.read_bytes().splitlines()) for p in files)
        print(f"corpus: {root.name}: {len(files)} files, {lines:,} lines; median of {args.repeat} runs")
        reviewer = [sys.executable, "-m", "reviewer", "scan", str(root), "--no-progress", "--exit-zero",
                    "-f", "json", "-o", os.devnull]
        rows = {"libcst parse only (1 process)": median_of(args.repeat, lambda: parse_only(files))}
        rows["reviewer scan -j1"] = median_of(args.repeat, lambda: timed([*reviewer, "-j1"]))
        rows["reviewer scan -j2"] = median_of(args.repeat, lambda: timed([*reviewer, "-j2"]))
        peers = {
            "bandit (all plugins)": ["bandit", "-q", "-r", str(root), "-f", "json", "-o", os.devnull],
            "ruff S,ASYNC (--no-cache)": ["ruff", "check", "--no-cache", "--select", "S,ASYNC", "--exit-zero",
                                          "-q", str(root)],
        }
        for name, command in peers.items():
            if shutil.which(command[0]):
                rows[name] = median_of(args.repeat, lambda command=command: timed(command))

        parse = rows["libcst parse only (1 process)"]
        print(f"{'what':<34}{'seconds':>9}{'files/s':>10}{'x parse':>9}")
        for name, seconds in rows.items():
            print(f"{name:<34}{seconds:>9.2f}{len(files) / seconds:>10.0f}{seconds / parse:>9.2f}")
        print(f"-j2 / -j1: {rows['reviewer scan -j2'] / rows['reviewer scan -j1']:.2f}")


if __name__ == "__main__":
    main()
