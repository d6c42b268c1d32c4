"""The notebooks start anywhere: their first code cell installs the course package in Colab and otherwise does nothing.

Every notebook opens with the same read-only cell (id ``install``). Where ``vae_helpers`` imports (a clone,
a hub, the autograder's sandbox, which has no network) it must do nothing at all. Where it does not:
in Colab it pip-installs the package from the repository URL kept in pyproject.toml's ``[project.urls]``;
anywhere else it stops with a message naming ``make lab``, the make-free laptop path and docs/install.md.
The cell runs here in a fresh Python with ``vae_helpers`` made unimportable by a ``sys.meta_path`` finder,
"Colab" is a stand-in ``google.colab`` module, and pip is a fake ``subprocess.run`` that records its call.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]

# Prepended to the cell's code in a fresh interpreter. BLOCK makes vae_helpers unimportable (as in a Python
# without the course); COLAB adds a stand-in google.colab and a fake pip that records its command and then
# lifts the block, as a real install would; OFFLINE makes any network connection or subprocess an error.
BLOCK = """
import sys

class NoCourse:
    def find_spec(self, name, path=None, target=None):
        if name == "vae_helpers" or name.startswith("vae_helpers."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.modules.pop("vae_helpers", None)
BLOCKER = NoCourse()
sys.meta_path.insert(0, BLOCKER)
"""
COLAB = """
import json, subprocess, types
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
CALLS = []

def fake_run(args, **kwargs):
    CALLS.append(list(args))
    sys.meta_path.remove(BLOCKER)
    return subprocess.CompletedProcess(args, 0)

subprocess.run = fake_run
"""
OFFLINE = """
import socket, subprocess

def refuse(*args, **kwargs):
    raise AssertionError(f"the install cell reached for the network or a process: {args!r}")

socket.socket.connect = refuse
socket.create_connection = refuse
subprocess.run = subprocess.Popen = refuse
"""
REPORT_CALLS = "\nprint('CALLS=' + json.dumps(CALLS))\n"


def first_code_cell(path: Path) -> nbformat.NotebookNode:
    return next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def run(prelude: str, source: str, epilogue: str = "") -> subprocess.CompletedProcess:
    """``source`` (a cell) run by this Python in a fresh process after ``prelude``, from an empty folder's view."""
    return subprocess.run([sys.executable, "-c", prelude + "\n" + source + "\n" + epilogue],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", NAMES)
def test_the_first_code_cell_is_the_same_read_only_install_cell_in_both_versions(name):
    solution = first_code_cell(ROOT / "solutions" / name / f"{name}.ipynb")
    student = first_code_cell(ROOT / "notebooks" / name / f"{name}.ipynb")
    assert solution.id == student.id == "install"
    assert solution.source == student.source
    meta = solution.metadata["nbgrader"]
    assert meta["locked"] and not meta["grade"] and not meta["solution"], "read-only: never graded, never a solution"
    assert "points" not in meta
    assert f'REPOSITORY = "{URL}"' in solution.source, "the URL of pyproject.toml's [project.urls] Repository"
    assert not [line for line in solution.source.splitlines() if line.lstrip().startswith(("%", "!"))], \
        "plain Python, no magics: the tests below run it as such"


@pytest.mark.parametrize("name", NAMES)
def test_where_the_package_is_installed_the_cell_does_nothing_and_needs_no_network(name):
    result = run(OFFLINE, first_code_cell(ROOT / "solutions" / name / f"{name}.ipynb").source)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("name", NAMES)
def test_without_the_package_outside_colab_the_cell_says_how_to_install_it(name):
    result = run(BLOCK + OFFLINE, first_code_cell(ROOT / "solutions" / name / f"{name}.ipynb").source)
    assert result.returncode != 0
    message = result.stderr[result.stderr.index("ModuleNotFoundError: "):].strip()
    assert message.startswith("ModuleNotFoundError: This kernel cannot import the course package `vae_helpers`")
    assert max(len(line) for line in message.splitlines()) <= 100, "short lines, one way in per line"
    assert "make lab" in message, "the clone with make"
    assert 'pip install -c requirements.lock -e ".[lab]"' in message and "jupyter lab notebooks/" in message, \
        "the make-free laptop path (Windows, macOS)"
    assert f'`%pip install "vae-course @ git+{URL}"`' in message, "the one-line install without a clone"
    assert "in a new cell" in message and "Restart" in message, "into this kernel's Python, then a restart"
    assert f"{URL}/blob/main/docs/install.md" in message
    assert "AssertionError" not in result.stderr, "no pip, no network"


@pytest.mark.parametrize("name", NAMES)
def test_in_colab_the_cell_pip_installs_the_package_from_the_repository_url(name):
    result = run(BLOCK + COLAB, first_code_cell(ROOT / "solutions" / name / f"{name}.ipynb").source, REPORT_CALLS)
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout.split("CALLS=")[-1])
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"vae-course @ git+{URL}"]]
    assert "Installed." in result.stdout, "and imports the package it installed"


def test_the_stand_ins_can_fail():
    """The blocker really hides the package, and the offline guard really refuses a pip call."""
    hidden = run(BLOCK, "import vae_helpers")
    assert hidden.returncode != 0 and "No module named 'vae_helpers'" in hidden.stderr
    refused = run(OFFLINE, "import subprocess\nsubprocess.run(['pip'])")
    assert refused.returncode != 0 and "reached for the network" in refused.stderr


@pytest.mark.parametrize("name", NAMES)
def test_the_opening_says_how_to_check_and_hand_in_without_validate(name):
    intro = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4).cells[0].source
    where = " ".join(intro[intro.index("**Where you work.**"):].split())
    assert f"nbgrader validate {name}.ipynb" in where and "*Assignment List*" in where, "a hub or JupyterLab"
    assert "In Colab there is no Validate button, so the visible tests are your check" in where
    assert "your own machine set up as in" in where and "*Validate* works too" in where, "a laptop has Validate"
    assert "`# Hidden tests` print nothing until the notebook is graded" in where
    student = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4)
    hidden = [c.source for c in student.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
              and not c.source.startswith("# Visible test")]
    assert hidden and all(s.startswith("# Hidden tests") for s in hidden), "named as the student sees them"
    assert "Download .ipynb" in where, "how to hand it in from Colab"
    assert f"({URL}/blob/main/docs/install.md)" in where


@pytest.mark.slow
def test_in_the_grading_sandbox_the_cell_prints_nothing_and_raises_nothing(tmp_path):
    """The autograder's kernel: no network, the package installed. The cell must leave no trace there."""
    from vae_helpers.grading import course, sandbox

    if (reason := sandbox.unavailable()) is not None:
        pytest.skip(reason)
    tmp_path.chmod(0o755)
    manager = sandbox.BlockingSandboxedKernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    shown: list[dict] = []
    try:
        client.wait_for_ready(timeout=course.KERNEL_WAIT)
        for name in NAMES:
            reply = client.execute_interactive(first_code_cell(ROOT / "notebooks" / name / f"{name}.ipynb").source,
                                               timeout=course.KERNEL_WAIT, output_hook=shown.append)
            assert reply["content"]["status"] == "ok", (name, reply["content"])
            traces = [m for m in shown if m["msg_type"] in ("stream", "error", "display_data", "execute_result")]
            assert not traces, (name, traces)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
