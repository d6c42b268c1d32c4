"""The audit flags code that tampers with grading, and nothing in honest work."""

from __future__ import annotations

import nbformat
import pytest

import answer_suites
from vae_helpers.grading.audit import audit, findings

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
