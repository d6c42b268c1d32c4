"""Binder builds: repo2docker's own reading of the repository (the Dockerfile it generates, no Docker needed).

Binder runs repo2docker on the repository. Two ways it used to fail (issue 26): it installed the
environment before copying the repository, so the course's own package was not there to install,
and it chose a default Python. binder/ now holds runtime.txt (the Python) and requirements.txt
(students' packages at requirements.lock's versions); repo2docker reads only that folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import escapism
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
REPO2DOCKER = Path(sys.executable).with_name("repo2docker")
COPY_REPOSITORY = "COPY --chown=0:0 src/ ${REPO_DIR}/"
INSTALL = 'pip install --no-cache-dir -r "binder/requirements.txt"'


def _tracked_top_level(destination: Path) -> None:
    """Copy what repo2docker looks at: the top level and binder/, as git would see them (no ignored files)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in listed.splitlines():
        if ("/" not in name or name.startswith("binder/")) and (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory) -> str:
    """The Dockerfile repo2docker generates for the repository."""
    if not REPO2DOCKER.exists():
        pytest.fail(f"{REPO2DOCKER} is missing: jupyter-repo2docker is in the dev extra, run `make setup`")
    repo = tmp_path_factory.mktemp("binder-repo")
    _tracked_top_level(repo)
    result = subprocess.run([str(REPO2DOCKER), "--no-build", "--debug", "--no-run", "."], cwd=repo,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FROM " in result.stdout, result.stdout[-3000:]
    assert "unspecified" not in result.stdout + result.stderr, "repo2docker fell back to its default Python"
    return result.stdout


def _runtime_python() -> str:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-") and runtime.count(".") == 1, f"runtime.txt: {runtime!r}, want python-3.X"
    return runtime.removeprefix("python-")


def test_the_repository_is_copied_before_the_environment_is_installed(dockerfile):
    assert COPY_REPOSITORY in dockerfile
    assert INSTALL in dockerfile, "repo2docker no longer installs binder/requirements.txt"
    assert dockerfile.index(COPY_REPOSITORY) < dockerfile.index(INSTALL), (
        "repo2docker installs binder/requirements.txt before copying the repository: "
        "it needs lines it recognises as local (.[lab], -c ../requirements.lock)")


def test_python_is_pinned_by_runtime_txt(dockerfile):
    version = _runtime_python()
    # repo2docker's conda environment for that Python (file names escaped as in its COPY lines)
    environment = escapism.escape(f"environment.py-{version}-linux-64.lock", escape_char="-").lower()
    assert environment in dockerfile, f"the Dockerfile does not build Python {version}"


def test_binder_python_is_one_the_lock_resolves_for_and_the_lock_is_used():
    version = _runtime_python()
    environment = {"python_version": version, "python_full_version": f"{version}.0", "sys_platform": "linux",
                   "platform_machine": "x86_64", "platform_system": "Linux", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "os_name": "posix"}
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line and not line.startswith((" ", "#"))]
    torch = [p for p in pins if p.name == "torch" and (p.marker is None or p.marker.evaluate(environment))]
    assert len(torch) == 1, f"requirements.lock has {len(torch)} torch pins for Python {version} on Linux"
    requirements = [line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    assert "-c ../requirements.lock" in requirements


def test_binder_installs_students_packages_only():
    lines = [line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    packages = [line for line in lines if line and not line.startswith("-")]
    assert packages == [".[lab]"], f"binder/requirements.txt installs {packages}; students need the course and [lab]"
