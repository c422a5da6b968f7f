"""The built wheel carries the rule catalog and works on its own, outside the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ASYNC_APP = REPO / "tests" / "fixtures" / "async_app"


@pytest.mark.slow
def test_wheel_contains_catalog_and_scans_from_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=600,
    )
    wheel = next(wheels.glob("reviewer-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped_rules = sorted(Path(n).name for n in names if n.startswith("reviewer/rules/"))
    assert shipped_rules == sorted(p.name for p in (REPO / "rules").glob("RV*.yaml"))

    # A fresh venv with the wheel installed (dependencies come from this environment through a .pth file, so the
    # test needs no network); run from outside the repository so nothing resolves to the source tree.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, timeout=300)
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    dependency_dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site_packages, "test-dependencies.pth").write_text("\n".join(sorted(dependency_dirs)) + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    located = subprocess.run(
        [python, "-c", "import reviewer, reviewer.catalog as c; print(reviewer.__file__); print(c.rules_dir())"],
        check=True, capture_output=True, text=True, cwd=outside, env=env,
    ).stdout.splitlines()
    assert all(line.startswith(str(env_dir)) for line in located), located

    scan = subprocess.run(
        [env_dir / "bin" / "reviewer", "scan", str(ASYNC_APP), "-f", "json", "--no-progress"],
        capture_output=True, text=True, cwd=outside, env=env, timeout=120,
    )
    assert scan.returncode == 1, scan.stderr
    assert json.loads(scan.stdout)["findings"]
