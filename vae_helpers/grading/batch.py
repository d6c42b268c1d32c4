"""Grade a class: every submission a sandboxed job (``jobs.py``), several at a time, one gradebook writer.

``make autograde`` runs :func:`grade_class`. Jobs run ``workers`` at a time on this machine (each
kernel with ``cores / workers`` torch threads, so they do not stall each other), or on a Dask
cluster (``cluster.py``). As each job finishes, this process alone records its scores in the
class gradebook, puts its autograded notebook where ``nbgrader generate_feedback`` looks for
it, and prints a line; the summary is also written to ``autograde-reports/`` in the course.
"""

from __future__ import annotations

import datetime
import os
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .audit import audit, record_flags
from . import jobs
from .export import Lateness, lateness
from .sandbox import Limits, unavailable

REPORTS = "autograde-reports"
CLASS_CONFIG = "class_config.py"  # this class's settings (late policy, ...), read by nbgrader_config.py


@dataclass
class Grade:
    """One autograded submission: its score, or why nbgrader produced none."""

    assignment: str
    student: str
    score: float | None
    max_score: float
    seconds: float
    problem: str = ""
    flags: list[str] = field(default_factory=list)  # code an instructor should review (see vae_helpers.grading.audit)
    late: Lateness | None = None  # how late, and the late policy's penalty (None: not recorded)

    def cell(self) -> str:
        return "DROPPED" if self.score is None else f"{self.score:g} / {self.max_score:g}"

    def lateness(self) -> str:
        """"" when on time; else how late, the penalty and the score after it."""
        if self.late is None or self.late.seconds <= 0:
            return ""
        after = "" if self.score is None else f": {max(0.0, self.score - self.late.penalty):g} / {self.max_score:g} after it"
        return f"{self.late.words()}{after}"


def default_workers() -> int:
    """One job per core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def gradebook_url(root: Path) -> str:
    """The class gradebook of the course at ``root``: ``c.CourseDirectory.db_url`` of its
    nbgrader_config.py (SQLite ``gradebook.db`` by default, or e.g. ``postgresql+psycopg2://...``)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    url = config.CourseDirectory.get("db_url", f"sqlite:///{jobs.GRADEBOOK}")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):  # relative to the course
        url = f"sqlite:///{root.resolve() / url.removeprefix('sqlite:///')}"
    return url


def course_config(root: Path) -> str:
    """The course's nbgrader configuration as one file: ``nbgrader_config.py`` followed by this class's
    ``class_config.py`` if there is one (a job's folder holds only the first)."""
    config = (root / "nbgrader_config.py").read_text()
    local = root / CLASS_CONFIG
    if local.is_file():
        config += f"\n\n# ---- {CLASS_CONFIG} (this class's settings)\n{local.read_text()}"
    return config


def make_jobs(root: Path, db_url: str, submissions: list[tuple[str, str]], limits: Limits, sandbox: bool,
              threads: int, shorten: bool = True) -> list[jobs.Job]:
    """A job for each (student, assignment), with the releases of the gradebook at ``db_url`` as they are now."""
    gradebook, config = jobs.snapshot(db_url), course_config(root)
    return [jobs.Job(name, student, jobs.read_folder(root / "submitted" / student / name), gradebook, config,
                     limits, sandbox, threads, shorten, str(root.resolve())) for student, name in submissions]


def run_locally(batch: list[jobs.Job], workers: int) -> Iterator[jobs.Result]:
    """Run ``batch`` ``workers`` at a time on this machine; yield each result as it comes."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(jobs.run, job) for job in batch]):
            yield future.result()


def max_scores_of(db_url: str, assignments: set[str]) -> dict[str, float]:
    """The points of each of ``assignments``, as released into the gradebook at ``db_url``."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {name: gb.find_assignment(name).max_score for name in assignments}


def record(root: Path, db_url: str, result: jobs.Result, max_score: float) -> Grade:
    """Write one result into the class course (the gradebook at ``db_url``, autograded/); return its grade."""
    from nbgrader.api import Gradebook

    assignment, student = result.assignment, result.student
    submitted = root / "submitted" / student / assignment / f"{assignment}.ipynb"
    flags = list(dict.fromkeys((audit(submitted) if submitted.exists() else []) + result.probes))
    record_flags(root, assignment, student, flags)  # the reasons, for the export and the class report
    score = None
    with warnings.catch_warnings():  # nbgrader's own add_submission warns about its ORM session
        warnings.simplefilter("ignore")
        if result.grades is not None:
            score = jobs.record(db_url, assignment, student, result.grades, flagged=bool(flags))
            jobs.place(root, assignment, student, result.files)
        else:  # to grade by hand: in the gradebook as such, and readable in the Formgrader if it is a notebook
            jobs.record_dropped(db_url, assignment, student, result.problem, jobs.submitted_timestamp(submitted.parent),
                                flagged=bool(flags))
            if readable(submitted):
                jobs.place(root, assignment, student, jobs.read_folder(submitted.parent))
        with Gradebook(db_url) as gb:
            late = lateness(gb, assignment, student)
    return Grade(assignment, student, score, max_score, result.seconds, result.problem, flags, late)


def readable(notebook: Path) -> bool:
    """Whether ``notebook`` is a notebook nbformat can read."""
    import nbformat

    try:
        nbformat.read(notebook, as_version=4)
    except Exception:  # not JSON, not a notebook, unreadable: all the same here
        return False
    return True


def grade_class(root: Path, submissions: list[tuple[str, str]], workers: int, sandbox: bool = True,
                limits: Limits = Limits(), runner: Callable | None = None, say: Callable = print,
                shorten: bool = True) -> list[Grade]:
    """Autograde ``submissions`` [(student, assignment)] of the course at ``root``; print as they finish.

    ``runner(batch)`` yields results (default: :func:`run_locally` with ``workers``; elsewhere, e.g.
    on Dask, each job's kernel gets one torch thread). With ``shorten``, the demonstration cells
    run with grading budgets (vae_helpers/grading/preprocessors.py).
    """
    threads = max(1, default_workers() // workers) if runner is None else 1
    db_url = gradebook_url(root)
    batch = make_jobs(root, db_url, submissions, limits, sandbox, threads, shorten)
    max_scores = max_scores_of(db_url, {assignment for _, assignment in submissions})
    runner = runner or (lambda b: run_locally(b, workers))
    grades = []
    for done, result in enumerate(runner(batch), start=1):
        student, assignment = result.student, result.assignment
        grade = record(root, db_url, result, max_scores[assignment])
        grades.append(grade)
        where = f" on {result.host}" if result.host and result.host != os.uname().nodename else ""
        late = f"; {grade.lateness()}" if grade.lateness() else ""
        if grade.score is None:
            say(f"!! {student}/{assignment}: nbgrader dropped this submission ({grade.problem}){late}; "
                f"the others are graded.")
        else:
            say(f"{student}/{assignment}: {grade.cell()}{late} ({grade.seconds:.1f} s{where}) [{done}/{len(batch)}]")
        if grade.flags:
            say(f"   review {student}/{assignment}: its code {'; '.join(grade.flags)}")
    return grades


def summary(grades: list[Grade], sandbox: bool, limits: Limits, where: str, seconds: float,
            shorten: bool = True) -> list[str]:
    """The closing lines of a grading run: counts, dropped and flagged submissions, the sandbox's state,
    and whether the demonstration cells ran shorter."""
    dropped = [f"{g.student}/{g.assignment}" for g in grades if g.score is None]
    flagged = [f"{g.student}/{g.assignment}" for g in grades if g.flags]
    late = [f"{g.student}/{g.assignment} ({g.lateness()})" for g in grades if g.lateness()]
    lines = [f"Graded {len(grades) - len(dropped)} of {len(grades)} submission(s) in {seconds:.0f} s "
             f"({where}); scores are in the class gradebook (nbgrader export writes a CSV).",
             f"Sandbox: on ({limits.describe()})." if sandbox else
             "Sandbox: OFF (SANDBOX=off): student code ran with your rights, unconfined.",
             "Demonstration cells: shortened while grading (no grade uses them; each feedback opens with a note "
             "saying which ran shorter; --demos full runs them as released)." if shorten else
             "Demonstration cells: run as released (--demos full)."]
    if dropped:
        lines.append(f"Dropped by nbgrader, not graded: {', '.join(sorted(dropped))}")
    if flagged:
        lines.append(f"Flagged for review (tampering or probing; why in the review lines above, the export and class-reports/): {', '.join(sorted(flagged))}")
    if late:
        lines.append(f"Late (the late policy of nbgrader_config.py / {CLASS_CONFIG} applied): {', '.join(sorted(late))}")
    return lines


def write_report(root: Path, lines: list[str]) -> Path:
    """Keep a grading run's printed lines in ``autograde-reports/<time>.txt`` (outside git)."""
    folder = root / REPORTS
    folder.mkdir(exist_ok=True)
    path = folder / f"{datetime.datetime.now():%Y-%m-%d-%H%M%S}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def refusal(sandbox: bool) -> str | None:
    """Why grading with the sandbox cannot go ahead here (None if it can, or if it is off)."""
    why = unavailable() if sandbox else None
    return None if why is None else f"make autograde refuses to run student code unconfined: {why}"
