"""Regenerate requirements.lock: the exact versions `make setup` installs, for every platform.

    make lock            (or: python scripts/lock.py)

uv resolves pyproject.toml's dependencies and all its extras (lab, grading, dev) once for all platforms and
Python versions (``--universal``), so a class installs the same releases everywhere.
The resolution uses the package indexes and constraints pip is configured with on this
machine (``pip config list``, e.g. a local mirror or a cap on torch), so the lock only
names releases this machine can install.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = "requirements.lock"
PIP_TO_UV = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
             "find-links": "--find-links", "constraint": "--constraint"}


# pip's configuration scopes, weakest first: a later one overrides an earlier one, as in pip
# (`pip config list` shows environment variables PIP_<NAME> under ":env:").
SCOPES = ("global", "user", "site", ":env:")


def pip_settings() -> dict[str, list[str]]:
    """pip's configured index, links and constraints: {"extra-index-url": [...], ...}."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            check=True).stdout
    found: dict[str, tuple[int, list[str]]] = {}
    for line in listed.splitlines():  # e.g. global.find-links='/opt/wheels'
        key, _, value = line.partition("=")
        scope, _, name = key.rpartition(".")
        rank = SCOPES.index(scope) if scope in SCOPES else 0
        if name in PIP_TO_UV and rank >= found.get(name, (-1, []))[0]:
            found[name] = (rank, value.strip("'\"").split())
    return {name: values for name, (_, values) in found.items()}


def main() -> None:
    command = ["uv", "pip", "compile", "pyproject.toml", "--all-extras", "--universal",
               "--python-version", "3.10", "--index-strategy", "unsafe-best-match", "--quiet", "-o", LOCK]
    for name, values in pip_settings().items():
        for value in values:
            command += [PIP_TO_UV[name], value]
    print(" ".join(command))
    subprocess.run(command, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
