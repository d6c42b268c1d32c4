"""Regenerate requirements.lock: the exact versions `make setup` installs, for every platform.

    make lock            (or: python scripts/lock.py)

uv resolves pyproject.toml's dependencies and its dev extra once for all platforms and
Python versions (``--universal``), so a class installs the same releases everywhere.
The resolution uses the package indexes and constraints pip is configured with on this
machine (``pip config list``, e.g. a local mirror or a cap on torch), so the lock only
names releases this machine can install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = "requirements.lock"
PIP_TO_UV = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
             "find-links": "--find-links", "constraint": "--constraint"}


def pip_settings() -> dict[str, list[str]]:
    """pip's configured index, links and constraints: {"extra-index-url": [...], ...}."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            check=True).stdout
    settings: dict[str, list[str]] = {}
    for line in listed.splitlines():  # e.g. global.find-links='/opt/wheels'
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in PIP_TO_UV:
            settings[name] = value.strip("'\"").split()
    for name in PIP_TO_UV:  # environment variables override the files, as in pip
        if os.environ.get(f"PIP_{name.upper().replace('-', '_')}"):
            settings[name] = os.environ[f"PIP_{name.upper().replace('-', '_')}"].split()
    return settings


def main() -> None:
    command = ["uv", "pip", "compile", "pyproject.toml", "--extra", "dev", "--universal",
               "--python-version", "3.10", "--index-strategy", "unsafe-best-match", "--quiet", "-o", LOCK]
    for name, values in pip_settings().items():
        for value in values:
            command += [PIP_TO_UV[name], value]
    print(" ".join(command))
    subprocess.run(command, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
