"""The course runs anywhere (issue 26): the wheel in a Colab-like Python, notebooks in an empty folder.

A fresh virtual environment stands in for Colab or a hub's user environment: it already holds torch,
torchvision and ipykernel (at the lock's versions, from this machine's pip cache). The course is built
into a wheel from the repository and installed there with pip, as a student would. Installing it must
change no package that was already there (Colab warns that changing its Jupyter packages can crash the
runtime) and add no Jupyter package, ipywidgets included (it is in the `lab` extra; without it the notebooks
draw static figures and text progress bars, on stdout). The five student notebooks, completed with the solutions, then
run in an empty folder, in a kernel of that Python, with no error output and every visible test
printing its ✓. Last, the `lab` extra (JupyterLab, nbgrader) goes in, as on a hub or a laptop, and
`nbgrader validate` passes in that folder, where no course nbgrader_config.py applies: the time limits
come with the wheel (etc/jupyter/nbgrader_config.json).

About 6 minutes of CPU (torch's install, the five notebooks, the lab extra, validating 05) and 6 GB of disk
while it runs; 11 to 13 minutes on a busy 2-core machine, most of it waiting for the disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from packaging.utils import canonicalize_name

from browser import completed_notebook
from vae_helpers.grading import course

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
ASSIGNMENTS = course.assignments(ROOT)
KERNEL = "colab-like"
VALIDATED = "05_beta_vae"  # the notebook with the longest cells (tens of seconds: over nbgrader's default 30 s)
# What a student's install must not bring into a Jupyter it does not own: any Jupyter package (names as
# canonicalized: jupyter-*, jupyterlab*, ipywidgets, widgetsnbextension, notebook*, nbgrader, ipykernel) and the
# packages a kernel or server runs on.
JUPYTER_PREFIXES = ("jupyter", "ipywidgets", "widgetsnbextension", "notebook", "nbgrader", "ipykernel")
JUPYTER_RUNTIME = {"nbconvert", "nbclassic", "ipython", "traitlets", "tornado", "pyzmq", "comm"}


def jupyter_packages(names) -> set[str]:
    """The Jupyter packages among canonical distribution names."""
    return {name for name in names if name.startswith(JUPYTER_PREFIXES) or name in JUPYTER_RUNTIME}


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _installed(python: Path) -> dict[str, str]:
    """{canonical name: version} of every distribution in python's environment."""
    listed = _run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"]).stdout
    return {canonicalize_name(d["name"]): d["version"] for d in json.loads(listed)}


@pytest.fixture(scope="session")
def colab_like(tmp_path_factory):
    """The python of a fresh venv holding torch, torchvision and ipykernel, nothing of the course (removed after)."""
    venv = tmp_path_factory.mktemp("colab-like") / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "-c", LOCK, "torch", "torchvision", "ipykernel"])
    yield python
    shutil.rmtree(venv, ignore_errors=True)  # 6 GB: torch's CUDA build


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The course's wheel, built from the files git would commit (no caches, no build leftovers)."""
    source = tmp_path_factory.mktemp("wheel-source")
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.splitlines()
    for name in listed:
        if ("/" not in name or name.startswith(("vae_helpers/", "jupyter-config/"))) and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist, source])
    (built,) = dist.glob("vae_course-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(colab_like, wheel) -> tuple[dict[str, str], dict[str, str]]:
    """The wheel pip-installed into the Colab-like Python; (packages before, packages after)."""
    before = _installed(colab_like)
    _run([colab_like, "-m", "pip", "install", "--quiet", wheel])
    return before, _installed(colab_like)


@pytest.fixture(scope="session")
def classroom(installed, tmp_path_factory) -> Path:
    """An empty folder (no course files, no nbgrader_config.py) holding the five completed notebooks."""
    folder = tmp_path_factory.mktemp("classroom")
    for name in ASSIGNMENTS:
        nbformat.write(completed_notebook(ROOT, name), folder / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="session")
def kernels(colab_like, tmp_path_factory) -> KernelSpecManager:
    """A kernel spec that starts the Colab-like Python (and nothing else is found)."""
    directory = tmp_path_factory.mktemp("kernels")
    (directory / KERNEL).mkdir()
    spec = {"argv": [str(colab_like), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Colab-like Python", "language": "python"}
    (directory / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(directory)])


def test_the_wheel_carries_the_data_the_weights_and_the_validate_settings(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "vae_helpers/mnist_subset.npz" in names
    assert any(n.startswith("vae_helpers/weights/") and n.endswith(".pt") for n in names)
    assert any(n.endswith(".data/data/etc/jupyter/nbgrader_config.json") for n in names)
    assert not any(n.startswith(("tests/", "solutions/", "notebooks/")) for n in names)


def test_installing_the_wheel_next_to_torch_changes_nothing_installed(installed):
    before, after = installed
    changed = {name: f"{version} -> {after.get(name, 'removed')}" for name, version in before.items()
               if after.get(name) != version}
    assert not changed, f"pip install of the course changed packages that were there: {changed}"
    added = set(after) - set(before)
    assert "vae-course" in added
    assert not jupyter_packages(added), f"the course's own dependencies bring Jupyter packages: {jupyter_packages(added)}"
    assert jupyter_packages(before) >= {"ipykernel", "jupyter-client"}  # the checks above saw a kernel's packages
    assert {"torch", "ipykernel"} <= set(before)  # the premise: a Python that already had them


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_completed_notebook_runs_in_an_empty_folder(name, classroom, kernels):
    nb = nbformat.read(classroom / f"{name}.ipynb", as_version=4)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernels)
    try:
        NotebookClient(nb, km=manager, timeout=None, startup_timeout=course.KERNEL_WAIT,
                       iopub_timeout=course.KERNEL_WAIT, resources={"metadata": {"path": str(classroom)}}).execute()
    finally:  # nbclient leaves a kernel it was handed running
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    errors = [(cell.id, "".join(o.get("text", "") or o.get("evalue", "")))
              for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    assert not errors, f"{name}: error output in cells {errors}"
    printed = course.printed_text(nb)
    tests = [cell.id for cell in nb.cells  # graded test cells with visible tests (others hold hidden ones only)
             if cell.metadata.get("nbgrader", {}).get("grade") and cell.source.startswith("# Visible test")]
    assert tests, f"{name} has no visible test cells"
    silent = [cell_id for cell_id in tests if "✓" not in printed[cell_id]]
    assert not silent, f"{name}: these visible test cells printed no ✓: {silent}"


def test_nbgrader_validate_passes_where_no_course_config_applies(classroom, colab_like, wheel, tmp_path):
    _run([colab_like, "-m", "pip", "install", "--quiet", f"{wheel}[lab]"])  # as on a hub or a laptop
    assert not (classroom / "nbgrader_config.py").exists()
    env = {**os.environ, "HOME": str(tmp_path)}  # no user-level Jupyter configuration either
    settings = _run([colab_like, "-c", "from nbgrader.apps.validateapp import ValidateApp; app = ValidateApp(); "
                     "app.initialize([]); print(app.config.Execute.timeout)"], cwd=classroom, env=env).stdout
    assert settings.split()[-1] == "600", f"the shipped Validate settings did not apply: timeout {settings!r}"
    result = _run([colab_like, "-m", "nbgrader", "validate", f"{VALIDATED}.ipynb"], cwd=classroom, env=env)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout[-3000:]
