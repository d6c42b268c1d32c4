"""The repository's setup files agree with each other."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "psycopg2-binary": "psycopg2"}  # conda-forge's names where they differ from PyPI's
CUDA_ONLY = re.compile(r"nvidia-|cuda-|triton$")  # what torch's CUDA build pulls in on Linux, its CPU build not
PIP_ONLY = {"jupyter-repo2docker"}  # a test tool, left to environment.yml's pip line (from PyPI)


def _requirement(spec: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, f"cannot parse requirement {spec!r}"
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _everything(project: dict) -> list[str]:
    """pyproject.toml's dependencies and those of every extra, less the extras' references to the project itself."""
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    return [s for s in specs if canonicalize_name(Requirement(s).name) != canonicalize_name(project["name"])]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [_requirement(s) for s in _everything(project)]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_requirement(s) for s in env["dependencies"] if isinstance(s, str))
    for name, bound in wanted:
        if name in PIP_ONLY:
            assert name not in conda, f"{name} is left to environment.yml's pip line (PIP_ONLY)"
            continue
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"environment.yml lacks {conda_name} (pyproject.toml has {name}{bound})"
        assert conda[conda_name] == bound, f"{conda_name}: environment.yml says {conda[conda_name]!r}, pyproject {bound!r}"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[dev]" in pip  # unquoted: a quoted path is not recognised as local by repo2docker
    assert conda["python"] == project["requires-python"]


def test_extras_are_by_audience():
    """Students' kernels get no Jupyter application or grading tool; `dev` is everything (make setup)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {canonicalize_name(Requirement(s).name) for s in project["dependencies"]}
    assert core.isdisjoint({"jupyterlab", "notebook", "nbgrader", "ipykernel", "jupyter-server", "distributed",
                            "psycopg2-binary", "pytest"})
    extras = project["optional-dependencies"]
    assert {"lab", "grading", "dev"} <= set(extras)
    assert {canonicalize_name(Requirement(s).name) for s in extras["lab"]} >= {"jupyterlab", "nbgrader", "ipykernel"}
    itself = [Requirement(s) for s in extras["dev"] if canonicalize_name(Requirement(s).name) == project["name"]]
    assert itself and itself[0].extras == {"lab", "grading"}
    assert project["urls"]["Repository"].startswith("https://github.com/")


def _locked() -> list[Requirement]:
    """The pins of requirements.lock, one Requirement each (a package may have one pin per marker)."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return [Requirement(line) for line in lines if line and not line.startswith((" ", "#"))]


def test_the_lock_pins_every_dependency_within_pyprojects_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in locked)
    for spec in _everything(project):
        wanted = Requirement(spec)
        pins = [r for r in locked if canonicalize_name(r.name) == canonicalize_name(wanted.name)]
        assert pins, f"requirements.lock lacks {wanted.name}: run `make lock` after changing pyproject.toml"
        for pin in pins:
            version = next(iter(pin.specifier)).version
            assert wanted.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {pin} outside pyproject.toml's {wanted}: run `make lock`")


@pytest.mark.skipif(bool(os.environ.get("CONDA_PREFIX")), reason="a conda environment has conda's versions")
def test_the_environment_is_the_locked_one():
    """`make setup` installed exactly the locked releases that apply to this platform and Python
    (with torch's CPU build, `make setup TORCH=cpu`, less the CUDA libraries only the CUDA build needs)."""
    cpu_torch = Version(importlib.metadata.version("torch")).local == "cpu"
    for pin in _locked():
        if cpu_torch and CUDA_ONLY.match(pin.name):
            continue
        if pin.marker is None or pin.marker.evaluate():
            wanted = next(iter(pin.specifier)).version
            installed = importlib.metadata.version(pin.name)
            assert Version(installed).public == Version(wanted).public, (  # torch's "+cu130" aside
                f"{pin.name} {installed} is installed, requirements.lock says {wanted}: run `make setup`")


def test_dependencies_have_lower_bounds_only_and_admit_this_machines_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        name, bound = _requirement(spec)
        assert bound.startswith(">=") and "," not in bound and "<" not in bound, spec
    torch_bound = dict(_requirement(s) for s in project["dependencies"])["torch"]
    assert tuple(int(p) for p in torch_bound[2:].split(".")) <= (2, 14, 1)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "../shared/data" in (ROOT / ".ci" / "run").read_text(), "CI runs the full-MNIST tests where it can"
    assert "apt-get install -y -qq chromium" in (ROOT / ".ci" / "run").read_text(), "and the browser tests"
    assert "load_mnist('torchvision')" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make course" in readme and "make lab" in readme
    makefile = (ROOT / "Makefile").read_text()
    for target in ("course", "test", "quick", "lab", "release", "autograde", "bench"):
        assert re.search(rf"^{target}: setup$", makefile, re.M), f"make {target} must set itself up"


def test_nbgrader_config_is_the_designed_one():
    config = (ROOT / "nbgrader_config.py").read_text()
    namespace: dict = {}

    class Config(dict):
        def __getattr__(self, key):
            return self.setdefault(key, Config())

        def __setattr__(self, key, value):
            self[key] = value

    c = Config()
    loaded = []  # class_config.py, this class's untracked settings, is read through traitlets' load_subconfig
    exec(compile(config, "nbgrader_config.py", "exec"), {"get_config": lambda: c, "load_subconfig": loaded.append,
                                                          **namespace})
    assert loaded == ["class_config.py"]
    assert c.CourseDirectory.source_directory == "solutions"
    assert c.CourseDirectory.release_directory == "notebooks"
    assert "NotImplementedError" in c.ClearSolutions.code_stub["python"]
    assert c.Execute.timeout >= 60 and c.ExecutePreprocessor.timeout >= 60
    assert c.IgnorePattern.enabled and re.search(c.IgnorePattern.pattern, "any\nwarning text")
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "gradebook.db" in ignored and "build/" in ignored
    assert "class_config.py" in ignored and "roster.csv" in ignored  # names, emails, a class's settings


def test_grading_waits_on_a_busy_machine_instead_of_dropping_output():
    """nbgrader's executor, configured by the course, gives kernels and their output minutes, not seconds."""
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    executor = Execute(config=PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config())
    assert executor.startup_timeout >= 300  # nbclient's default: 60 s
    assert executor.iopub_timeout >= 300  # nbclient's default: 4 s, after which a cell's error output is lost
    assert executor.timeout >= 300 and executor.interrupt_on_timeout


def _make_dry_run(target: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    result = subprocess.run(["make", "-n", target], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_uses_an_activated_conda_environment(tmp_path):
    commands = _make_dry_run("test", CONDA_DEFAULT_ENV="vae-course", CONDA_PREFIX=str(tmp_path))
    assert f"{tmp_path}/bin/python -m pytest" in commands
    assert ".venv" not in commands


def test_make_setup_in_conda_adds_only_the_course_and_runs_on_macos(tmp_path):
    """In conda, pip must not replace conda's packages with the lock's; no GNU-only `install -D` (macOS)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    for env in ({"CONDA_DEFAULT_ENV": "vae-course", "CONDA_PREFIX": str(tmp_path)}, {}):
        planned = subprocess.run(["make", "-n", "-W", "pyproject.toml", "setup"], cwd=ROOT, env={**clean, **env},
                                 capture_output=True, text=True, check=True).stdout
        pip = [line for line in planned.splitlines() if "-m pip install" in line]
        assert len(pip) == 1, planned
        if env:
            assert "--no-deps -e ." in pip[0] and "requirements.lock" not in pip[0], pip[0]
        else:
            assert '-c requirements.lock' in pip[0] and '-e ".[dev]"' in pip[0], pip[0]
        assert "install -D" not in planned
        assert "etc/jupyter/jupyter_server_config.d/vae-course.json" in planned


def test_make_builds_its_own_venv_outside_conda_or_in_conda_base(tmp_path):
    for env in ({}, {"CONDA_DEFAULT_ENV": "base", "CONDA_PREFIX": str(tmp_path)}):
        commands = _make_dry_run("course", **env)
        assert ".venv/bin/python -m vae_helpers.grading.course check" in commands
        assert str(tmp_path) not in commands


def test_make_setup_torch_cpu_takes_torch_from_pytorchs_cpu_index():
    """`make setup TORCH=cpu` (docs/install.md): pip gets PyTorch's CPU index, the lock still applies."""
    def planned(*args: str) -> str:
        dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "setup", *args], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        return next(line for line in dry.splitlines() if "pip install" in line and "-c requirements.lock" in line)

    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in planned("TORCH=cpu")
    assert "download.pytorch.org" not in planned()


def test_the_packaged_validate_settings_are_the_courses():
    """The wheel's etc/jupyter/nbgrader_config.json (Validate outside the course folder: a hub, a laptop)
    sets the course's Execute limits, and only those, so it cannot fight a hub admin's own settings."""
    from traitlets.config.loader import PyFileConfigLoader

    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    shipped = json.loads((ROOT / "jupyter-config" / "nbgrader_config.json").read_text())
    assert set(shipped) == {"Execute"}
    assert shipped["Execute"], "no settings shipped"
    for key, value in shipped["Execute"].items():
        assert course.Execute[key] == value, f"Execute.{key}: shipped {value!r}, nbgrader_config.py {course.Execute[key]!r}"
    assert shipped["Execute"]["timeout"] > 30  # nbgrader's default per cell, which notebook 05 can need
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    assert data_files["etc/jupyter"] == ["jupyter-config/nbgrader_config.json"]
