"""A wrong answer stops at its own test cell: every later cell that needs it says so in one line.

A student runs the cells in order and does not stop at the first error. When an exercise
is wrong, the demonstrations after it would fail with errors that say nothing about the
cause (``len() of a 0-d tensor`` inside matplotlib, a ``NameError`` two cells later). So
every code cell that uses an exercise, directly or through a name computed from it,
starts with ``require(...)``, which stops the cell with one line naming the exercise to
fix until it passes its visible test.

- Statically, for every notebook: each code cell after the first exercise calls
  ``require`` exactly when it depends on an exercise, naming exactly those it depends on.
- Dynamically, in one kernel per notebook: every wrong answer of the library is planted
  into its exercise cell, and its visible test cells and every cell that requires it are
  run in order, not stopping at errors. The test cell shows a ``CheckFailed`` whose
  traceback has no frame of the checks; each later cell shows only the one-line pointer.
"""

from __future__ import annotations

import ast
import copy
import difflib
import os
import re
import tempfile

import nbformat
import pytest

import answer_suites
from answer_suites import EXERCISES
from vae_helpers.grading import course

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

ASSIGNMENTS = sorted({e.assignment for e in EXERCISES})


class _Names(ast.NodeVisitor):
    """The names a cell reads (anywhere) and the module-level names it binds, mutates or imports."""

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self.stores: set[str] = set()
        self.mutated: set[str] = set()
        self.imported: set[str] = set()
        self.loop_variables: set[str] = set()  # bound by the cell's own loops before the body reads them
        self.depth = 0  # > 0 inside a function, class, lambda or comprehension

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        elif self.depth == 0:
            self.stores.add(node.id)

    def _scope(self, node: ast.AST) -> None:
        if self.depth == 0 and isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            self.stores.add(node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_ClassDef = visit_Lambda = _scope
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scope

    def visit_For(self, node: ast.For) -> None:
        if self.depth == 0:
            self.loop_variables |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self.depth == 0:
            self.imported |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}

    visit_ImportFrom = visit_Import

    @staticmethod
    def _base(node: ast.AST) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def visit_Subscript(self, node: ast.Subscript | ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Store) and self.depth == 0 and self._base(node):
            self.mutated.add(self._base(node))  # x[i] = ..., x.attr = ...
        self.generic_visit(node)

    visit_Attribute = visit_Subscript

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and self.depth == 0 and self._base(node.func.value):
            self.mutated.add(self._base(node.func.value))  # x.append(...), x.update(...)
        self.generic_visit(node)


def _names(source: str) -> _Names:
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    names = _Names()
    names.visit(ast.parse(code))
    return names


def dependencies(nb) -> dict[str, set[str]]:
    """{code cell id: the exercises it depends on} for the ungraded code cells after the first exercise.

    A cell depends on an exercise when it reads the exercise's name, or a name that a cell
    depending on it bound or mutated (modules excepted).
    """
    taint: dict[str, set[str]] = {}
    found: dict[str, set[str]] = {}
    modules: set[str] = set()
    started = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        names = _names(cell.source)
        modules |= names.imported
        if meta.get("solution"):
            started = True
            taint.update({name: {name} for name in names.stores})
            continue
        if meta.get("grade") or not started:
            continue
        needs = set().union(*(taint.get(name, set()) for name in names.loads - names.loop_variables))
        found[cell.id] = needs
        taint.update({name: set(needs) for name in names.stores - modules})
        for name in names.mutated - modules:
            taint[name] = taint.get(name, set()) | needs
    return found


def required(source: str) -> set[str] | None:
    """The exercises named by a ``require(...)`` call that opens the cell, or None without one."""
    body = ast.parse(source).body
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
            and getattr(first.value.func, "id", None) == "require"):
        return {keyword.arg for keyword in first.value.keywords}
    return None


def _solution(assignment: str):
    return nbformat.read(answer_suites.ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_cell_that_uses_an_exercise_requires_exactly_those_it_uses(assignment):
    nb = _solution(assignment)
    needs = dependencies(nb)
    assert any(needs.values())
    sources = {cell.id: cell.source for cell in nb.cells}
    wrong = {cell: (sorted(need), required(sources[cell])) for cell, need in needs.items()
             if (required(sources[cell]) or set()) != need}
    assert not wrong, f"(cell: exercises it uses, exercises its require() names): {wrong}"
    for cell in nb.cells:  # and require() is used nowhere else
        if cell.cell_type == "code" and cell.id not in needs:
            assert "require(" not in cell.source, cell.id


ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def walkthroughs():
    """{(assignment, student): {cell id: its outputs}}: every wrong answer run as a student would."""
    from nbclient import NotebookClient

    found = {}
    for assignment in ASSIGNMENTS:
        nb = _solution(assignment)
        needs = dependencies(nb)
        cells = {cell.id: cell for cell in nb.cells}
        first = next(i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("solution"))
        prefix = [cell for cell in nb.cells[:first] if cell.cell_type == "code"]
        solutions = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("solution")]
        with tempfile.TemporaryDirectory() as scratch:
            client = NotebookClient(nb, timeout=None, kernel_name="python3", allow_errors=True,
                                    startup_timeout=course.KERNEL_WAIT, iopub_timeout=course.KERNEL_WAIT,
                                    resources={"metadata": {"path": scratch}})
            with client.setup_kernel():
                for index, cell in enumerate(prefix + solutions):
                    client.execute_cell(cell, index)
                for exercise in (e for e in EXERCISES if e.assignment == assignment):
                    run = [cid for cid in cells if cid in exercise.visible or exercise.name in needs.get(cid, ())]
                    for answer in exercise.wrong:
                        planted = copy.deepcopy(cells[exercise.cell])
                        planted.source = answer_suites.plant(answer, exercise.name)
                        outputs = {}
                        for index, cell in enumerate([planted] + [copy.deepcopy(cells[cid]) for cid in run]):
                            client.execute_cell(cell, index)
                            outputs[cell.id] = cell.outputs
                        found[assignment, answer_suites.student(exercise, answer)] = (exercise, outputs)
                        client.execute_cell(copy.deepcopy(cells[exercise.cell]), 0)  # the right answer back
    return found


WRONG = [(e, a) for e in EXERCISES for a in e.wrong]


@pytest.mark.parametrize("exercise, answer", WRONG,
                         ids=lambda v: v.label.replace(" ", "-") if isinstance(v, answer_suites.Exercise) else v.__name__)
def test_a_wrong_answer_shows_its_message_once_and_later_cells_point_to_it(walkthroughs, exercise, answer):
    _, outputs = walkthroughs[exercise.assignment, answer_suites.student(exercise, answer)]
    errors = {cid: [o for o in outs if o.output_type == "error"] for cid, outs in outputs.items()}
    assert not errors[exercise.cell], errors[exercise.cell]
    failed = [cid for cid in exercise.visible if errors[cid]]
    for cid in failed:
        (error,) = errors[cid]
        assert error.ename == "CheckFailed", (cid, error.ename, error.evalue)
        shown = ANSI.sub("", "\n".join(error.traceback))
        assert "vae_helpers/checks" not in shown and "vae_helpers\\checks" not in shown, shown
        assert shown.rstrip().endswith(f"CheckFailed: {error.evalue}".rstrip()), shown[-300:]
    later = [cid for cid in outputs if cid != exercise.cell and cid not in exercise.visible]
    assert later
    for cid in later:
        if not failed:  # the visible test passes: the demonstrations run as they would for a right answer
            assert not errors[cid], (cid, [(e.ename, e.evalue) for e in errors[cid]])
            continue
        assert [e.ename for e in errors[cid]] == ["ExerciseNotReady"], (cid, [(e.ename, e.evalue) for e in errors[cid]])
        (line,) = errors[cid][0].traceback
        assert exercise.name in line and "visible test" in line, line
        assert not [o for o in outputs[cid] if o.output_type != "error"], (cid, "printed before the pointer")


FIXTURE = answer_suites.ROOT / "tests" / "walkthrough.md"


def transcript(walkthroughs) -> str:
    """What a student sees for each wrong answer: its test cell's message, then the cells that point to it."""
    lines = ["# What a student sees after each wrong answer",
             "",
             "Generated by `tests/test_walkthrough.py` (`UPDATE_WALKTHROUGH=1` rewrites it); review the diff.",
             "For each wrong answer of the library, planted into its exercise: the message of its first",
             "failing visible test cell, then the later cells that stop at their `require(...)` line.", ""]
    for exercise in EXERCISES:
        lines += [f"## {exercise.label}", ""]
        for answer in exercise.wrong:
            _, outputs = walkthroughs[exercise.assignment, answer_suites.student(exercise, answer)]
            errors = {cid: [o for o in outs if o.output_type == "error"] for cid, outs in outputs.items()}
            failed = [cid for cid in exercise.visible if errors[cid]]
            pointers = [cid for cid, errs in errors.items() if errs and errs[0].ename == "ExerciseNotReady"]
            shown = f"{errors[failed[0]][0].ename}: {errors[failed[0]][0].evalue}" if failed else "(no message)"
            lines += [f"- `{answer.__name__}` ({failed[0] if failed else 'passes'}): {shown}",
                      f"  - then {len(pointers)} cells stop at `require`: {', '.join(pointers)}"]
        lines.append("")
    return "\n".join(lines)


def test_what_students_see_is_the_reviewed_transcript(walkthroughs):
    text = transcript(walkthroughs)
    if os.environ.get("UPDATE_WALKTHROUGH"):
        FIXTURE.write_text(text)
    old = FIXTURE.read_text() if FIXTURE.exists() else ""
    diff = "\n".join(difflib.unified_diff(old.splitlines(), text.splitlines(), "reviewed", "now", lineterm=""))
    assert text == old, ("What students see has changed; review the diff, then rerun with UPDATE_WALKTHROUGH=1 "
                         "to accept it:\n" + diff[:6000])
