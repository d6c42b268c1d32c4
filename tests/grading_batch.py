"""Autograde many planted submissions with nbgrader, fast, and read every cell's result.

The grading tests submit hundreds of notebooks. Three things keep that quick:

- a *lean* submission keeps only the setup cell, the solution cells and the graded test
  cells of a solution notebook (a student may delete the demonstration cells: nothing
  graded depends on them, and they are not restored by nbgrader);
- one ``nbgrader autograde ASSIGNMENT`` run grades every student of an assignment;
- two course directories, copies of one released course, grade side by side, each
  kernel on one thread.

Two graders starting kernels at the same time can race for a TCP port (jupyter_client
picks a free port, closes it and hands it to the kernel; the other grader can take it in
between, and the kernel dies at start). So each grader's kernels talk over Unix sockets
in a folder of its own.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat

from vae_helpers.grading import course

WORKERS = 2
ROOT = Path(__file__).resolve().parents[1]


def is_graded(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def solution_notebook(course_dir: Path, assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(course_dir / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def lean_notebook(course_dir: Path, assignment: str) -> nbformat.NotebookNode:
    """The solution notebook with only its setup, solution and graded test cells."""
    nb = solution_notebook(course_dir, assignment)
    nb.cells = [c for c in nb.cells if c.id == "setup" or is_solution(c) or is_graded(c)]
    return nb


def with_cell(nb: nbformat.NotebookNode, cell_id: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cell ``cell_id`` holds ``source``."""
    nb = nbformat.from_dict(nb)
    cells = [c for c in nb.cells if c.id == cell_id]
    assert len(cells) == 1, f"no single cell {cell_id!r}"
    cells[0].source = source
    return nb


@dataclass
class CellResult:
    """One graded test cell after autograding: its points, and what it showed the student."""

    score: float
    max_score: float
    error: str  # "Ename: message" of the cell's error, or ""
    text: str   # everything else it printed (and the traceback lines)


@dataclass
class Outcome:
    """One autograded submission: None for ``score`` and no cells when nbgrader dropped it."""

    score: float | None
    cells: dict[str, CellResult]
    notebook: Path | None
    log: str

    def lost(self) -> dict[str, float]:
        """Points lost, by test cell."""
        return {cid: r.max_score - r.score for cid, r in self.cells.items() if r.score < r.max_score}


def read_outcome(course_dir: Path, assignment: str, student: str, log: str = "") -> Outcome:
    """The autograded result of ``student``'s ``assignment`` in ``course_dir``."""
    from nbgrader.api import MissingEntry

    graded = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not graded.exists():
        return Outcome(None, {}, None, log)
    shown = {}
    for cell in nbformat.read(graded, as_version=4).cells:
        if cell.cell_type == "code" and is_graded(cell):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            error = f"{errors[-1].ename}: {errors[-1].evalue}" if errors else ""
            text = "".join(o.get("text", "") for o in cell.outputs) + "\n".join(
                line for o in errors for line in o.get("traceback", []))
            shown[cell.metadata.nbgrader["grade_id"]] = (error, text)
    with course.gradebook(course_dir) as gb:
        try:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            return Outcome(None, {}, None, log)
        cells = {g.name: CellResult(g.score, g.max_score, *shown.get(g.name, ("", "")))
                 for g in notebook.grades}
        return Outcome(notebook.score, cells, graded, log)


def autograde_batch(released: Path, work: Path,
                    submissions: dict[tuple[str, str], nbformat.NotebookNode]) -> dict[tuple[str, str], Outcome]:
    """Autograde ``submissions`` ({(assignment, student): notebook}) in copies, under ``work``, of
    ``released``: a course directory where every assignment was released into its gradebook.
    """
    jobs = sorted(submissions)
    shares = [jobs[i::WORKERS] for i in range(WORKERS)]
    results: dict[tuple[str, str], Outcome] = {}
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "VAE_SANDBOX": "off"}  # the answer library: our own code

    def grade(share: list[tuple[str, str]], course_dir: Path) -> None:
        if course_dir.exists():
            shutil.rmtree(course_dir)
        shutil.copytree(released, course_dir, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback"))
        for assignment, student in share:
            target = course_dir / "submitted" / student / assignment
            target.mkdir(parents=True, exist_ok=True)
            nbformat.write(submissions[assignment, student], target / f"{assignment}.ipynb")
        # a short path: Unix socket names are limited to about 100 characters
        with tempfile.TemporaryDirectory(prefix="vae-kernels-") as sockets:
            if sys.platform != "win32":
                with open(course_dir / "nbgrader_config.py", "a") as config:
                    config.write(f'\nc.KernelManager.transport = "ipc"\nc.KernelManager.ip = "{sockets}/kernel"\n')
            for assignment in sorted({a for a, _ in share}):
                run = course.nbgrader(course_dir, "autograde", assignment, "--force", env=env)
                log = run.stdout + run.stderr
                for a, student in share:
                    if a == assignment:
                        results[a, student] = read_outcome(course_dir, a, student, log)

    threads = [threading.Thread(target=grade, args=(share, work / f"worker{i}"))
               for i, share in enumerate(shares) if share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = set(jobs) - set(results)
    assert not missing, f"no result for {sorted(missing)[:5]} (a grading thread crashed)"
    return results


def released_course(root: Path, target: Path) -> Path:
    """A scratch course at ``target`` with every assignment released into its gradebook."""
    course_dir = course.make_scratch_course(root, target)
    course.release(course_dir, course.assignments(root))
    return course_dir

