"""One grading job per submission: nbgrader autogrades it in a folder of its own, its kernel sandboxed.

A :class:`Job` carries everything by value (the submission's files, the class gradebook as of
release, the course's nbgrader configuration), so it can run in another process or on another
machine (see ``cluster.py``). :func:`run` lays out a private course folder, runs
``nbgrader autograde`` there with the kernel in the sandbox (``sandbox.py``) and a time limit, and
returns a :class:`Result`: the autograded files, the scores nbgrader wrote into the job's own
gradebook, and nbgrader's log. The class gradebook is written by one process only, the caller,
with :func:`record`; so parallel jobs never contend for it, and a job that dies leaves no trace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import COURSE_ROOT, DIED, OFF_SWITCH, PROBED, Limits

GRADEBOOK = "gradebook.db"
JOB_PREFIX = "vae-job-"  # a job's scratch folder: vae-job-<pid of the grader>-<random>
# What a job needs of the class gradebook: the released assignments, their cells, the students.
# Never other students' submissions or grades.
RELEASE_TABLES = ("course", "student", "assignment", "notebook", "base_cell", "source_cell", "grade_cells",
                  "solution_cells", "task_cells")


@dataclass(frozen=True)
class Job:
    """One submission to autograde: ``files`` are the submitted folder's, by relative path."""

    assignment: str
    student: str
    files: dict[str, bytes]
    gradebook: bytes       # an SQLite snapshot of the class gradebook's releases (see snapshot())
    config: str            # the course's nbgrader_config.py
    limits: Limits = Limits()
    sandbox: bool = True
    threads: int = 1       # torch threads of the kernel
    shorten: bool = True   # run the demonstration cells with grading budgets (see preprocessors.py)
    course: str = ""       # the class course's folder: the sandbox reports the kernel's attempts to reach it


@dataclass
class Result:
    """What a job sends back: scores (None if nbgrader produced none), files, log, time taken."""

    assignment: str
    student: str
    grades: dict | None
    files: dict[str, bytes] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0
    problem: str = ""
    host: str = ""
    probes: list[str] = field(default_factory=list)  # the code's attempts to reach outside its folder (sandbox.PROBED)


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path -> bytes) under ``folder``, refusing paths that leave it."""
    for relative, data in files.items():
        target = (folder / relative).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"refusing to write {relative!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def readable_to_the_kernel(folder: Path) -> None:
    """Let the kernel's own user (as root, not ours) read ``folder``, whatever the umask (privacy.py sets 077)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def nbgrader_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for running nbgrader, with ``extra`` added.

    Grading is fast and the same everywhere with the embedded data, unless the instructor exports
    VAE_DATA_SOURCE themselves; nbgrader shells out to ``alembic``, which lives next to this Python.
    """
    return {"VAE_DATA_SOURCE": "embedded", **os.environ, **(extra or {}),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def nbgrader_command(job: Job) -> list[str]:
    """``nbgrader autograde`` for the job's one submission, its kernel in the sandbox unless turned off."""
    cmd = [sys.executable, "-m", "vae_helpers.grading.nbgrader_main", "autograde", job.assignment, "--student", job.student, "--force",
           f"--CourseDirectory.db_url=sqlite:///{GRADEBOOK}"]  # the job's copy, whatever the class uses
    if not job.shorten:
        cmd.append("--ShortenDemos.enabled=False")
    if job.sandbox:
        limits = job.limits
        cmd += ["--Execute.kernel_manager_class=vae_helpers.grading.sandbox.SandboxedKernelManager",
                f"--SandboxedKernelManager.memory={limits.memory}",
                f"--SandboxedKernelManager.processes={limits.processes}",
                f"--SandboxedKernelManager.disk={limits.disk}",
                f"--SandboxedKernelManager.file_size={limits.file_size}"]
    return cmd


# Run a command so that it is killed when the process that started it dies (Linux: PR_SET_PDEATHSIG),
# so a grading job does not outlive a Dask worker that was killed in the middle of it.
DIES_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"  # 1: PR_SET_PDEATHSIG
                    "if os.getppid() != int(sys.argv[1]):\n    sys.exit('the grader ended before the job started')\n"
                    "os.execv(sys.argv[2], sys.argv[2:])")


def tied_to_this_process(cmd: list[str]) -> list[str]:
    """``cmd``, killed when this process dies (where the system can do that)."""
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-c", DIES_WITH_PARENT, str(os.getpid()), *cmd]


def alive(pid: int) -> bool:
    """Whether process ``pid`` is running (a zombie, killed but not yet reaped, is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(folder: Path) -> None:
    """Remove the job folders in ``folder`` whose grader died in the middle of a job (a Dask worker
    killed with SIGKILL cannot clean up): their names start with ``vae-job-<pid of the grader>-``."""
    for path in folder.glob(f"{JOB_PREFIX}*"):
        pid = path.name.removeprefix(JOB_PREFIX).split("-")[0]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def run(job: Job) -> Result:
    """Autograde ``job`` in a scratch course folder and return what it produced (never raises for
    the submission's faults: a crash, a timeout or a garbled file end up in ``Result.problem``)."""
    start = time.perf_counter()
    sweep_orphans(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{JOB_PREFIX}{os.getpid()}-") as scratch:
        course = Path(scratch)
        (course / "nbgrader_config.py").write_text(job.config)
        (course / GRADEBOOK).write_bytes(job.gradebook)
        write_folder(course / "submitted" / job.student / job.assignment, job.files)
        readable_to_the_kernel(course / "submitted")  # the scratch folder itself stays private (0700)
        (course / "tmp").mkdir()  # nbgrader's temporary files (the kernel's sockets): gone with the job
        env = nbgrader_environment({"OMP_NUM_THREADS": str(job.threads), "MKL_NUM_THREADS": str(job.threads),
                                    "TMPDIR": str(course / "tmp"), OFF_SWITCH: "on" if job.sandbox else "off",
                                    COURSE_ROOT: job.course})
        process = subprocess.Popen(tied_to_this_process(nbgrader_command(job)), cwd=course, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                   umask=0o022)  # the kernel's own user reads its folder; the scratch stays 0700
        try:
            log, problem = process.communicate(timeout=job.limits.seconds)[0], ""
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # nbgrader and the sandbox it started (--die-with-parent)
            log = process.communicate()[0]
            problem = f"grading took longer than {job.limits.seconds} s and was stopped"
        graded = course / "autograded" / job.student / job.assignment
        grades = read_grades(course / GRADEBOOK, job.assignment, job.student) if graded.is_dir() and not problem else None
        if grades is None and not problem:
            problem = why_dropped(log, process.returncode)
        files = read_folder(graded) if grades is not None else {}
    return Result(job.assignment, job.student, grades, files, log, time.perf_counter() - start, problem,
                  os.uname().nodename, probes(log))


def probes(log: str) -> list[str]:
    """The attempts to reach outside its folder that the sandbox reported in nbgrader's ``log``, each once."""
    return list(dict.fromkeys(ln.split(PROBED, 1)[1].strip() for ln in log.splitlines() if PROBED in ln))


# Why nbgrader produced no grades, in words an instructor can act on.
DROP_HINTS = {
    "DeadKernelError": "the student's code killed the Python kernel (os._exit, a crash, or running out of "
                       "memory); grade it by hand or ask for a fixed notebook",
    "NotJSONError": "the file is not a readable notebook; ask the student to submit it again",
}


def why_dropped(log: str, returncode: int | None) -> str:
    """The last error line of nbgrader's ``log``, with a hint when the cause is a known one. A kernel that
    died before it could run anything is reported with its own last words (its stderr), which nbgrader's
    "Kernel died before replying to kernel_info" leaves out."""
    died = [ln.split(DIED, 1)[1] for ln in log.splitlines() if DIED in ln]
    if died and "before replying to kernel_info" in log:
        return (f"the grading kernel died as it started, before running any of the notebook{died[-1]} (not the "
                f"student's code: the course's installation or the grading limits; every submission graded here "
                f"fails the same way)")
    lines = [ln for ln in log.splitlines() if "[ERROR]" in ln or "Error" in ln]
    problem = lines[-1].strip() if lines else f"nbgrader exited with code {returncode}"
    for error, hint in DROP_HINTS.items():
        if error in log:
            return f"{problem}: {hint}"
    return problem


def snapshot(db_url: str) -> bytes:
    """An SQLite file with the release tables of the gradebook at ``db_url`` (SQLite or PostgreSQL, ...)."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, select, text

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / GRADEBOOK
        source, target = create_engine(db_url), create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(target)
        with source.connect() as read, target.begin() as write:
            version = read.execute(text("SELECT version_num FROM alembic_version")).scalar()
            write.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            write.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
            for table in Base.metadata.sorted_tables:  # parents before the tables that refer to them
                rows = [dict(row._mapping) for row in read.execute(select(table))] if table.name in RELEASE_TABLES else []
                if rows:
                    write.execute(table.insert(), rows)
        source.dispose()
        target.dispose()
        return path.read_bytes()


def read_grades(gradebook: Path, assignment: str, student: str) -> dict | None:
    """The autograder's results for one submission in an SQLite gradebook, as plain data (or None)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {"timestamp": submission.timestamp, "notebooks": {
            nb.name: {"late_submission_penalty": nb.late_submission_penalty,
                      "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                      "comments": {c.name: c.auto_comment for c in nb.comments}}
            for nb in submission.notebooks}}


def record(db_url: str, assignment: str, student: str, grades: dict, flagged: bool = False) -> float:
    """Write one job's ``grades`` into the class gradebook (the only writer); returns the score."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, timestamp=grades["timestamp"])
        for nb in submission.notebooks:
            got = grades["notebooks"][nb.name]
            for grade in nb.grades:
                grade.auto_score, grade.needs_manual_grade = got["grades"][grade.name]
            for comment in nb.comments:
                comment.auto_comment = got["comments"][comment.name]
            nb.late_submission_penalty = got["late_submission_penalty"]
            nb.flagged = flagged
        gb.db.commit()
        return gb.find_submission(assignment, student).score


def record_dropped(db_url: str, assignment: str, student: str, problem: str, timestamp=None,
                   flagged: bool = False) -> None:
    """Record a submission nbgrader could not grade in the class gradebook: every test cell needs
    grading by hand (no automatic score), and the first comment says why (the Formgrader shows it;
    the course's ``nbgrader export`` writes "needs grading by hand" and no score)."""
    from nbgrader.api import Gradebook

    from .export import NOT_AUTOGRADED

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.auto_score, grade.needs_manual_grade = None, True
            nb.flagged = flagged
        comments = [c for nb in submission.notebooks for c in nb.comments]
        if comments:
            comments[0].auto_comment = f"{NOT_AUTOGRADED}{problem}"
        gb.db.commit()


def submitted_timestamp(folder: Path):
    """When the submission in ``folder`` was made (nbgrader's ``timestamp.txt``), or None."""
    from nbgrader.utils import parse_utc

    stamp = folder / "timestamp.txt"
    return parse_utc(stamp.read_text().strip()) if stamp.is_file() else None


def place(course_dir: Path, assignment: str, student: str, files: dict[str, bytes]) -> None:
    """Put a job's autograded files where nbgrader keeps them (``autograded/<student>/<assignment>``)."""
    target = course_dir / "autograded" / student / assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    write_folder(target, files)
