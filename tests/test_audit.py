"""The audit flags code that tampers with grading, and nothing in honest work."""

from __future__ import annotations

import nbformat
import pytest

try:
    import resource  # noqa: F401  (vae_helpers.grading.confine, imported below, needs it)
except ImportError:  # Windows: grading's sandbox is POSIX-only, and pytest -m "not slow" still collects this file
    pytest.skip("grading's sandbox (vae_helpers.grading.confine) needs the POSIX resource module",
                allow_module_level=True)

import answer_suites  # noqa: E402
from vae_helpers.grading.audit import audit, findings  # noqa: E402

TAMPERING = {
    "torch.allclose = lambda *a, **k: True": "assigns to torch.allclose",
    "import torch as t\nt.Tensor.__eq__ = lambda s, o: True": "assigns to t.Tensor.__eq__",
    "import vae_helpers.checks as c\nc.check_vae_shapes = print": "assigns to c.check_vae_shapes",
    "from vae_helpers import checks\nsetattr(checks, 'check_vae_shapes', print)": "calls setattr on checks",
    "from vae_helpers.checks import _core": "imports the checks (vae_helpers.checks)",
    "import builtins\nbuiltins.isinstance = lambda *a: True": "assigns to builtins.isinstance",
    "del F.binary_cross_entropy": "assigns to F.binary_cross_entropy",
    "def check_kl_divergence_value(f):\n    pass": "defines check_kl_divergence_value, a check's name",
    "class Liar:\n    def __eq__(self, other):\n        return True": "class Liar defines __eq__",
    "import os\nos._exit(0)": "calls os._exit (kills the kernel)",
    "%time x = 1\nmath.pi = 3": "assigns to math.pi",
}


@pytest.mark.parametrize("source", TAMPERING)
def test_tampering_is_named(source):
    assert TAMPERING[source] in findings(source)


@pytest.mark.parametrize("exercise, answer, right", answer_suites.submissions(),
                         ids=lambda v: getattr(v, "__name__", getattr(v, "label", str(v))))
def test_no_answer_of_the_library_is_flagged(exercise, answer, right):
    assert findings(answer_suites.plant(answer, exercise.name)) == []


def test_the_course_notebooks_are_not_flagged(root):
    for folder in ("solutions", "notebooks"):
        for path in sorted((root / folder).glob("*/*.ipynb")):
            assert audit(path) == [], path


def test_only_code_nbgrader_will_not_restore_is_read(tmp_path):
    nb = nbformat.v4.new_notebook()
    locked = nbformat.v4.new_code_cell("torch.allclose = None", metadata={"nbgrader": {"locked": True}})
    student = nbformat.v4.new_code_cell("torch.manual_seed = None")
    nb.cells = [locked, student, nbformat.v4.new_markdown_cell("torch.allclose = None")]
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert audit(tmp_path / "a.ipynb") == ["assigns to torch.manual_seed"]
    (tmp_path / "b.ipynb").write_text("not json")
    assert audit(tmp_path / "b.ipynb") == []


# --- probing: what the sandboxed kernel reports (vae_helpers.grading.confine) ----------------------------
from pathlib import Path  # noqa: E402

from vae_helpers.grading import confine, sandbox  # noqa: E402

# (event, its arguments, what the report must say or None); {tmp} plays the sandbox's /tmp, where the
# kernel's folder is {tmp}/job/submitted and the class course {tmp}/class
PROBES = [
    ("open", ("/srv/course/gradebook.db", "r", 0), "opened /srv/course/gradebook.db (outside its folder)"),
    ("os.listdir", ("/home",), "listed /home (outside its folder)"),
    ("open", ("{tmp}/class/submitted/bob/02/02.ipynb", "r", 0), "opened {tmp}/class/submitted/bob/02/02.ipynb"),
    ("shutil.rmtree", ("{tmp}/class/submitted", None), "deleted {tmp}/class/submitted"),
    ("open", ("{tmp}/job/other.ipynb", "r", 0), "opened {tmp}/job/other.ipynb"),  # next to its folder
    ("socket.connect", (None, ("127.0.0.1", 8888)), "used the network (socket.connect ('127.0.0.1', 8888))"),
    ("subprocess.Popen", ("sh", ["sh", "-c", "cat /etc/passwd"], None, None), "started a process"),
    ("os.kill", (1, 9), "sent a signal to process 1"),
    ("open", ("{tmp}/scratch.txt", "w", 0), None),  # its own /tmp
    ("open", ("{tmp}/.config/matplotlib/fontlist.json", "r", 0), None),
    ("open", ("/usr/lib/python3/x.py", "r", 0), None),
    ("open", ("data.txt", "r", 0), None),  # its own folder
    ("open", (3, "r", 0), None),
    ("subprocess.Popen", ("/sbin/ldconfig", ["/sbin/ldconfig", "-p"], None, None), None),  # ctypes.util
]


@pytest.mark.parametrize("event, args, expected", PROBES, ids=lambda v: str(v)[:40])
def test_each_reach_outside_is_named_and_the_kernels_own_world_is_not(event, args, expected, tmp_path, monkeypatch):
    workdir = tmp_path / "job" / "submitted"
    workdir.mkdir(parents=True)
    monkeypatch.setattr(confine, "TMP", str(tmp_path))
    monkeypatch.chdir(workdir)
    args = tuple(a.format(tmp=tmp_path) if isinstance(a, str) else a for a in args)
    said = confine.describe(event, args, confine.Outside([str(workdir)], [str(tmp_path / "class")]))
    if expected is None:
        assert said is None
    else:
        assert said is not None and expected.format(tmp=tmp_path) in said, said


def test_the_reasons_a_submission_was_flagged_are_kept_for_the_export(tmp_path):
    from vae_helpers.grading.audit import probe_flags, record_flags

    assert probe_flags(tmp_path, "02", "bob") == []
    record_flags(tmp_path, "02", "bob", ["opened /srv/gradebook.db (outside its folder)", "started a process"])
    assert probe_flags(tmp_path, "02", "bob") == ["opened /srv/gradebook.db (outside its folder)", "started a process"]
    record_flags(tmp_path, "02", "bob", [])  # regraded, honest now
    assert probe_flags(tmp_path, "02", "bob") == []


@pytest.mark.slow
def test_no_right_answer_of_the_library_reaches_outside_its_folder(tmp_path):
    """Every right answer, with its exercise's test cells (visible and hidden), in one sandboxed kernel
    per assignment: the audit hook reports nothing (no false flag on honest work)."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent))
    from test_sandbox import Kernel

    reported = {}
    for assignment in sorted({e.assignment for e in answer_suites.EXERCISES}):
        cells = answer_suites.solution_cells(assignment)
        setup = [c.source for c in cells if c.id == "setup"]
        solutions = [c.source for c in cells if c.metadata.get("nbgrader", {}).get("solution")]
        kernel = Kernel(tmp_path)
        try:
            for code in setup + solutions:
                assert kernel.run(code)[1] == "", code[:200]
            for exercise in (e for e in answer_suites.EXERCISES if e.assignment == assignment):
                tests = [c.source for c in cells if c.id in exercise.tests]
                for answer in exercise.correct:
                    kernel.run(answer_suites.plant(answer, exercise.name))
                    errors = [kernel.run(code)[1] for code in tests]
                    assert not any(errors), (answer.__name__, errors)
            reported[assignment] = kernel.manager.attempts()
            kernel.run("import os\ntry:\n    os.listdir('/srv/class')\nexcept OSError:\n    pass")
            assert kernel.manager.attempts() == ["listed /srv/class (outside its folder)"]  # the hook is there
        finally:
            kernel.stop()
    assert all(not attempts for attempts in reported.values()), reported


def test_a_job_reads_the_sandboxs_reports_from_nbgraders_log_each_once():
    from vae_helpers.grading import jobs

    log = (f"[AutogradeApp | INFO] Autograding ...\n[AutogradeApp | WARNING] {sandbox.PROBED} listed /home (outside "
           f"its folder)\n[AutogradeApp | WARNING] {sandbox.PROBED} started a process (os.system: ls)\n"
           f"[AutogradeApp | WARNING] {sandbox.PROBED} listed /home (outside its folder)\n")
    assert jobs.probes(log) == ["listed /home (outside its folder)", "started a process (os.system: ls)"]
    assert jobs.probes("[AutogradeApp | INFO] nothing to see\n") == []
