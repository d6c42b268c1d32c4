"""The instructor's pipeline around nbgrader: release, check the course, autograde a class.

Used by the Makefile::

    python -m vae_helpers.grading.course release     # solutions/ -> notebooks/ (nbgrader generate_assignment)
    python -m vae_helpers.grading.course check       # the whole course end to end, with a score table
    python -m vae_helpers.grading.course collect     # the latest submissions from the exchange (nbgrader collect --update)
    python -m vae_helpers.grading.course autograde   # grade submitted/<student>/<assignment>/ of a class
    python -m vae_helpers.grading.course execute --assignment 04_vae --source full --set "SEEDS=[0, 1, 2]"
                                             # run a solution notebook on one data source, print what it prints

``check`` works in a scratch course directory (``build/course``): it releases
every assignment, submits each solution notebook as student ``solution`` and
each blank student notebook as student ``blank``, autogrades both with nbgrader
(the demonstration cells in full, as released), keeps the executed solutions and their
HTML under ``build/``, and fails unless
every solution earns full marks without errors and every blank earns zero.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import batch, privacy, report
from .audit import audit
from .batch import Grade
from .export import GRADED, outdated, status
from .jobs import nbgrader_environment, why_dropped
from .sandbox import GIB, MIB, OFF_SWITCH, Limits

SOLUTION, BLANK = "solution", "blank"
DATA_SOURCES = {"subset": "embedded", "full": "torchvision"}  # the course's names -> VAE_DATA_SOURCE
# Seconds to wait for a kernel to start, and for the rest of a cell's output once it has replied.
# No grade may depend on how busy the machine is: nbclient's defaults (60 s and 4 s) can drop a
# failing check's error output on a loaded machine and grade the cell as passing.
KERNEL_WAIT = 600


def assignments(root: Path) -> list[str]:
    """Names of the assignments in ``root/solutions``, in course order."""
    return sorted(p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


def nbgrader(course_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course_dir`` (so its nbgrader_config.py applies), with ``env`` added."""
    cmd = [sys.executable, "-m", "vae_helpers.grading.nbgrader_main", *args]
    return subprocess.run(cmd, cwd=course_dir, capture_output=True, text=True, env=nbgrader_environment(env))


class ReleaseError(RuntimeError):
    """``make release`` could not regenerate an assignment; the message is meant for the instructor."""


# nbgrader's refusal to change the cells of an assignment that has submissions in the gradebook
FORBIDDEN = re.compile(r"Cannot add or remove (cells|notebooks)[^\n]*because there are submissions")


def release(course_dir: Path, names: list[str]) -> None:
    """Generate the student notebooks of ``names`` into ``course_dir/notebooks`` (and the gradebook).

    nbgrader's ``generate_assignment --force`` deletes the old student folder before it starts, so a
    failure would leave the course without it: each is generated into a scratch folder under
    ``build/`` and moved into place only when nbgrader succeeded. Raises :class:`ReleaseError`,
    with ``notebooks/`` untouched, when it did not."""
    (course_dir / "build").mkdir(exist_ok=True)
    for name in names:
        with tempfile.TemporaryDirectory(prefix="release-", dir=course_dir / "build") as scratch:
            result = nbgrader(course_dir, "generate_assignment", name, "--force",
                              f"--CourseDirectory.release_directory={scratch}")
            made = Path(scratch) / name
            if result.returncode != 0 or not made.is_dir():
                raise ReleaseError(release_failure(course_dir, name, result.stdout + result.stderr))
            target = course_dir / "notebooks" / name
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                target.rename(Path(scratch) / "previous")
            made.rename(target)


def release_failure(course_dir: Path, name: str, log: str) -> str:
    """One paragraph on why ``name`` was not released and what to do; nbgrader's log goes to build/."""
    kept = course_dir / "build" / f"release-{name}.log"
    kept.write_text(log)
    unchanged = f"notebooks/{name}/ is unchanged; nbgrader's log: {kept}."
    if FORBIDDEN.search(log):
        return (f"Cannot release {name}: students have submitted it, and once the gradebook holds submissions "
                f"nbgrader forbids adding or removing graded cells (exercises, tests, written answers) or notebooks, "
                f"since the recorded scores refer to them. Changing points, fixing a test or editing text is allowed: "
                f"undo the added or removed cells, release again, re-release to the exchange (nbgrader "
                f"release_assignment {name} --force) and regrade (make autograde ASSIGNMENT={name}). To add an "
                f"exercise mid-semester, give it a new assignment (a new folder in solutions/), or leave it "
                f"ungraded (no nbgrader cell metadata). See docs/instructors.md, \"Changing a released "
                f"assignment\". {unchanged}")
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"\w+(Error|Exception): ", line)]  # the exception, not its traceback
    logged = [line for line in lines if re.search(r"\| (CRITICAL|ERROR)\]", line)]
    why = (raised[-1:] or logged[:1] or lines[-1:] or ["no output"])[0]
    return f"Cannot release {name}: nbgrader generate_assignment failed ({why}). {unchanged}"


def make_scratch_course(root: Path, scratch: Path) -> Path:
    """A fresh course directory at ``scratch`` with the repo's config and solutions."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", scratch)
    shutil.copytree(root / "solutions", scratch / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return scratch


def submit(course_dir: Path, student: str, name: str, notebook: Path) -> None:
    """Place ``notebook`` as ``student``'s submission of assignment ``name``."""
    target = course_dir / "submitted" / student / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, target / f"{name}.ipynb")


def gradebook(course_dir: Path):
    """The nbgrader gradebook of ``course_dir`` (use it as a context manager)."""
    from nbgrader.api import Gradebook

    return Gradebook(batch.gradebook_url(course_dir))


def autograde(course_dir: Path, name: str, student: str, shorten: bool = True) -> Grade:
    """Autograde one of the course's own notebooks (a solution or a blank, so unsandboxed) with nbgrader
    and read its score from the gradebook; ``shorten=False`` runs the demonstration cells as released."""
    from nbgrader.api import MissingEntry

    start = time.perf_counter()
    full = [] if shorten else ["--ShortenDemos.enabled=False"]
    result = nbgrader(course_dir, "autograde", name, "--student", student, "--force", *full,
                      env={OFF_SWITCH: "off"})  # the course's own notebooks, not student code
    seconds = time.perf_counter() - start
    graded = course_dir / "autograded" / student / name / f"{name}.ipynb"
    with gradebook(course_dir) as gb:
        max_score = gb.find_assignment(name).max_score
        try:
            submission = gb.find_submission(name, student)
        except MissingEntry:
            submission = None
        score = submission.score if submission is not None and graded.exists() else None
    problem = why_dropped(result.stdout + result.stderr, result.returncode) if score is None else ""
    submitted = course_dir / "submitted" / student / name / f"{name}.ipynb"
    flags = audit(submitted) if submitted.exists() else []
    return Grade(name, student, score, max_score, seconds, problem, flags)


def in_gradebook(course_dir: Path, name: str) -> bool:
    """Whether ``nbgrader generate_assignment`` has recorded assignment ``name`` in the gradebook."""
    from nbgrader.api import MissingEntry

    url = batch.gradebook_url(course_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    with gradebook(course_dir) as gb:
        try:
            gb.find_assignment(name)
        except MissingEntry:
            return False
    return True


def error_cells(notebook: Path) -> list[str]:
    """Descriptions of the cells of an executed notebook whose output is an error."""
    nb = json.loads(notebook.read_text())
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


def export_html(notebook: Path, target: Path) -> None:
    """Write ``notebook`` as a standalone HTML page at ``target``."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)


def with_parameters(nb, parameters: dict[str, str]):
    """``nb`` with the first top-level ``NAME = ...`` statement of each NAME replaced by ``NAME = expression``.

    ``parameters`` maps names to Python expressions (as text), e.g. ``{"SEEDS": "[0, 1, 2]"}``.
    The assignment is replaced where it stands, so code after it in the same cell sees
    the new value; the rest of the notebook runs as written.
    """
    for name, expression in parameters.items():
        ast.parse(expression, mode="eval")  # a SyntaxError here names the bad expression
        for cell in nb.cells:
            if cell.cell_type != "code" or name not in cell.source:
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics: not a cell we can edit safely
                continue
            target = next((node for node in tree.body if isinstance(node, ast.Assign)
                           and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)), None)
            if target is not None:
                lines = cell.source.split("\n")
                lines[target.lineno - 1:target.end_lineno] = [f"{name} = {expression}  # set from the command line"]
                cell.source = "\n".join(lines)
                break
        else:
            raise ValueError(f"no code cell assigns {name} at its top level; nothing to override")
    return nb


def execute(notebook: Path, source: str, *, parameters: dict[str, str] | None = None,
            workdir: Path | None = None, env: dict[str, str] | None = None):
    """Run ``notebook`` top to bottom in a fresh python3 kernel on data ``source`` ("subset" or "full").

    No time limit (a busy machine is slow, not wrong; the benchmarks time it). The kernel
    starts in ``workdir`` (default: a scratch folder) with ``env`` added to this process's
    environment. Returns (the executed notebook, seconds from kernel start to the last cell).
    """
    import nbformat
    from nbclient import NotebookClient

    if source not in DATA_SOURCES:
        raise ValueError(f"unknown data source {source!r}; choose from {', '.join(DATA_SOURCES)}")
    nb = with_parameters(nbformat.read(notebook, as_version=4), parameters or {})
    env = {**os.environ, **(env or {}), "VAE_DATA_SOURCE": DATA_SOURCES[source]}
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(nb, timeout=None, kernel_name="python3", startup_timeout=KERNEL_WAIT, iopub_timeout=KERNEL_WAIT,
                                resources={"metadata": {"path": str(workdir or scratch)}})
        start = time.perf_counter()
        client.execute(env=env)
        return nb, time.perf_counter() - start


def printed_text(nb) -> dict[str, str]:
    """The text each code cell of an executed notebook printed, by cell id."""
    return {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"}


@dataclass
class NotebookResult:
    """How one assignment fared in :func:`run_course`."""

    name: str
    solution: Grade
    blank: Grade
    problems: list[str]


def run_course(root: Path, build: Path, names: list[str] | None = None,
               publish: bool = True) -> list[NotebookResult]:
    """Release every assignment in a scratch course under ``build`` and autograde solutions and blanks.

    With ``publish`` the released notebooks are copied into ``root/notebooks`` and the
    executed solutions (notebook + HTML) into ``build/executed``.
    """
    names = names or assignments(root)
    course_dir = make_scratch_course(root, build / "course")
    print(f"Releasing {len(names)} assignment(s) in {course_dir} ...", flush=True)
    release(course_dir, names)
    results = []
    for name in names:
        submit(course_dir, SOLUTION, name, course_dir / "solutions" / name / f"{name}.ipynb")
        submit(course_dir, BLANK, name, course_dir / "notebooks" / name / f"{name}.ipynb")
        print(f"Autograding {name} ...", flush=True)
        # in full, as released: the executed solutions are the lecture's, and the tests read their claims
        solution, blank = (autograde(course_dir, name, student, shorten=False) for student in (SOLUTION, BLANK))
        problems = []
        if solution.score is None or solution.score != solution.max_score:
            problems.append(f"solution scored {solution.cell()} {solution.problem}".strip())
        if blank.score is None or blank.score != 0:
            problems.append(f"blank scored {blank.cell()} {blank.problem}".strip())
        executed = course_dir / "autograded" / SOLUTION / name / f"{name}.ipynb"
        if executed.exists():
            problems += [f"solution error in {e}" for e in error_cells(executed)]
            if publish:
                (build / "executed").mkdir(parents=True, exist_ok=True)
                shutil.copy(executed, build / "executed" / f"{name}.ipynb")
                export_html(executed, build / "executed" / f"{name}.html")
        if publish:
            target = root / "notebooks" / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(course_dir / "notebooks" / name / f"{name}.ipynb", target / f"{name}.ipynb")
        results.append(NotebookResult(name, solution, blank, problems))
    return results


def print_table(results: list[NotebookResult]) -> None:
    """Notebook, solution and blank scores, and the seconds each autograde took."""
    header = f"{'notebook':<24} {'solution':>10} {'blank':>10} {'solution s':>11} {'blank s':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(f"{r.name:<24} {r.solution.cell():>10} {r.blank.cell():>10} "
              f"{r.solution.seconds:>11.1f} {r.blank.seconds:>8.1f}")
        for problem in r.problems:
            print(f"    !! {problem}")
    total = sum(r.solution.seconds + r.blank.seconds for r in results)
    print("-" * len(header) + f"\n{'total autograde time':<46} {total:>11.1f} s")


# a submission in the exchange as `nbgrader list --inbound` prints it: course, student, assignment, time
INBOUND_LINE = re.compile(r"^\[ListApp \| INFO\] (\S+) (\S+) (\S+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Z]+)",
                          re.M)


def in_exchange(root: Path) -> dict[tuple[str, str], datetime.datetime]:
    """The time of the latest submission in the exchange of each (student, assignment) of the course
    at ``root`` (empty when there is no exchange). Read with ``nbgrader list --inbound``, so the
    exchange is the one nbgrader_config.py (or /etc/jupyter) names."""
    from nbgrader.utils import parse_utc

    result = nbgrader(root, "list", "--inbound")
    latest: dict[tuple[str, str], datetime.datetime] = {}
    for _, student, name, stamp in INBOUND_LINE.findall(result.stdout + result.stderr):
        when = parse_utc(stamp)
        latest[student, name] = max(when, latest.get((student, name), when))
    return latest


def collect(root: Path, names: list[str] | None = None) -> bool:
    """``nbgrader collect --update`` each of ``names`` (default: every assignment with submissions in
    the exchange): the latest submission of each student replaces an older one in ``submitted/``."""
    names = names or sorted({name for _, name in in_exchange(root)})
    if not names:
        print("Nothing to collect: the exchange holds no submissions (nbgrader list --inbound).")
        return True
    ok = True
    for name in names:
        result = nbgrader(root, "collect", "--update", name)
        ok = ok and result.returncode == 0
        for line in (result.stdout + result.stderr).splitlines():
            line = re.sub(r"^\[CollectApp \| (INFO|WARNING)\] ", "", line).rstrip()
            if "cheating attempt?" in line:
                line += (" (expected when you submitted for several students from one account; "
                         "c.ExchangeCollect.check_owner = False silences it: docs/instructors.md)")
            if line and not line.startswith("you may disable this warning"):
                print(line)
    return ok


def newer_in_exchange(root: Path, names: list[str], students: list[str] | None = None) -> list[str]:
    """A warning for each student (of ``students``, default all) whose latest submission of one of
    ``names`` in the exchange is newer than the one in ``submitted/``, or was never collected."""
    from .jobs import submitted_timestamp

    warnings = []
    for (student, name), latest in sorted(in_exchange(root).items()):
        if name not in names or (students and student not in students):
            continue
        have = submitted_timestamp(root / "submitted" / student / name)
        if have is None or latest > have:
            what = f"from {have:%Y-%m-%d %H:%M:%S} UTC" if have else "none"
            warnings.append(f"!! {student}/{name}: the exchange holds a newer submission ({latest:%Y-%m-%d %H:%M:%S} UTC) "
                            f"than submitted/ ({what}); run `make collect` (nbgrader collect --update), then grade again.")
    return warnings


def outdated_scores(root: Path, names: list[str], regraded: set[tuple[str, str]]) -> list[str]:
    """A warning for each score of ``names`` in the gradebook graded against an older version of its
    assignment (points or tests changed since), leaving out the ``regraded`` (student, assignment)."""
    from nbgrader.api import MissingEntry

    warnings = []
    with gradebook(root) as gb:
        for name in names:
            for student in gb.students:
                try:
                    submission = gb.find_submission(name, student.id)
                except MissingEntry:
                    continue
                if (student.id, name) in regraded or status(submission)[0] != GRADED:  # by hand: its own notebook
                    continue
                why = outdated(root, gb, name, student.id)
                if why:
                    warnings.append(f"!! {student.id}/{name}: scored against an older version of {name} ({why}); "
                                    f"regrade: make autograde ASSIGNMENT={name} STUDENT={student.id}")
    return warnings


def autograde_class(root: Path, names: list[str] | None = None, students: list[str] | None = None,
                    workers: int | None = None, sandbox: bool = True, limits: Limits = Limits(),
                    scheduler: str | None = None, shorten: bool = True) -> bool:
    """Autograde every submission under ``root/submitted``, one line each; False if any was dropped.

    ``workers`` jobs at a time on this machine (default: one per core), or on the Dask cluster at
    ``scheduler``; each kernel in the sandbox with ``limits`` unless ``sandbox`` is False (see
    vae_helpers.grading), the demonstration cells shortened unless ``shorten`` is False. The summary
    is also kept in ``autograde-reports/``.
    """
    submitted = root / "submitted"
    if not submitted.is_dir():
        print(f"No submissions: put them in {submitted}/<student>/<assignment>/<assignment>.ipynb "
              f"(nbgrader collect or zip_collect does this).")
        return False
    # by default, every assignment somebody submitted
    names = names or [name for name in assignments(root) if any(submitted.glob(f"*/{name}"))]
    unreleased = [name for name in names if not in_gradebook(root, name)]
    if unreleased:
        print(f"{', '.join(unreleased)} not in the gradebook ({batch.gradebook_url(root)}) yet: run `make release` first "
              f"(it records each assignment and its tests, which autograding restores).")
        return False
    refused = batch.refusal(sandbox)
    if refused:
        print(refused)
        return False
    stale = newer_in_exchange(root, names, students)
    students = students or sorted(p.name for p in submitted.iterdir() if p.is_dir())
    submissions = [(student, name) for student in students for name in names if (submitted / student / name).is_dir()]
    workers = workers or batch.default_workers()
    runner = None
    if scheduler:
        from .cluster import run_on_dask

        runner = lambda jobs: run_on_dask(jobs, scheduler)  # noqa: E731
    printed: list[str] = []

    def say(line: str) -> None:
        printed.append(line)
        print(line, flush=True)

    for line in stale:
        say(line)
    start = time.perf_counter()
    grades = batch.grade_class(root, submissions, workers, sandbox, limits, runner, say=say, shorten=shorten)
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"{workers} at a time"
    for line in batch.summary(grades, sandbox, limits, where, time.perf_counter() - start, shorten):
        say(line)
    for line in outdated_scores(root, names, {(g.student, g.assignment) for g in grades if g.score is not None}):
        say(line)
    print(f"This report: {batch.write_report(root, printed)}")
    for path in report.write_reports(root, sorted({g.assignment for g in grades})):  # what the class got wrong
        print(f"Class report: {path}")
    privacy.make_private(root)  # class data made before, e.g. by hand, with other rights
    return all(g.score is not None for g in grades)


def main(argv: list[str] | None = None) -> int:
    """The command line; files it and the nbgrader it starts create are the instructor's only (privacy.py)."""
    old = privacy.private_umask()
    try:
        return run_command(argv)
    finally:
        os.umask(old)


def run_command(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_helpers.grading.course", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["release", "check", "collect", "autograde", "execute"])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: .)")
    parser.add_argument("--assignment", action="append", help="limit to this assignment (repeatable)")
    parser.add_argument("--student", action="append", help="autograde: limit to this student (repeatable)")
    parser.add_argument("--workers", type=int, help="autograde: submissions graded at a time (default: one per core)")
    parser.add_argument("--scheduler", help="autograde: the Dask scheduler to send the jobs to, e.g. tcp://host:8786")
    parser.add_argument("--sandbox", choices=["on", "off"], default="on",
                        help="autograde: run each submission's kernel in the bubblewrap sandbox (default: on)")
    parser.add_argument("--memory", type=float, default=Limits.memory / GIB, help="autograde: GiB per kernel")
    parser.add_argument("--processes", type=int, default=Limits.processes, help="autograde: processes per kernel")
    parser.add_argument("--disk", type=float, default=Limits.disk / MIB, help="autograde: MiB a kernel may write")
    parser.add_argument("--timeout", type=int, default=Limits.seconds, help="autograde: seconds per submission")
    parser.add_argument("--demos", choices=["short", "full"], default="short",
                        help="autograde: run the demonstration cells with grading budgets (default) or as released")
    parser.add_argument("--source", choices=sorted(DATA_SOURCES), default="subset",
                        help="execute: the embedded subset (offline) or the full MNIST ($VAE_DATA_DIR)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=EXPRESSION",
                        help="execute: override a notebook variable, e.g. \"SEEDS=[0, 1, 2]\" (repeatable)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "solutions").is_dir():
        parser.error(f"{root} has no solutions/ folder: run this from the course repository.")
    names = args.assignment or assignments(root)
    unknown = sorted(set(names) - set(assignments(root)))
    if unknown:
        parser.error(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(assignments(root))}")
    if args.command == "release":
        try:
            release(root, names)
        except ReleaseError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"Released {', '.join(names)} into {root / 'notebooks'}")
        return 0
    if args.command == "collect":
        return 0 if collect(root, args.assignment) else 1
    if args.command == "check":
        start = time.perf_counter()
        results = run_course(root, root / "build", names)
        print_table(results)
        ok = not any(r.problems for r in results)
        print(f"make course: {'OK' if ok else 'FAILED'} in {time.perf_counter() - start:.0f} s "
              f"(executed solutions: {root / 'build' / 'executed'})")
        return 0 if ok else 1
    if args.command == "execute":
        return execute_and_print(root, names, args.source, args.set, parser)
    limits = Limits(memory=int(args.memory * GIB), processes=args.processes, disk=int(args.disk * MIB),
                    seconds=args.timeout)
    ok = autograde_class(root, args.assignment, args.student, args.workers, args.sandbox == "on", limits,
                         args.scheduler, args.demos == "short")
    return 0 if ok else 1


def execute_and_print(root: Path, names: list[str], source: str, settings: list[str],
                      parser: argparse.ArgumentParser) -> int:
    """``execute``: run each solution notebook on ``source``, print its text output, keep it under build/."""
    import nbformat

    if any("=" not in setting for setting in settings):
        parser.error("--set takes NAME=EXPRESSION, e.g. --set \"SEEDS=[0, 1, 2]\"")
    parameters = dict(setting.split("=", 1) for setting in settings)
    for name in names:
        print(f"executing {name} on the {source} ...", flush=True)
        nb, seconds = execute(root / "solutions" / name / f"{name}.ipynb", source, parameters=parameters)
        for cell_id, text in printed_text(nb).items():
            if text.strip():
                print(f"--- {cell_id}\n{text.rstrip()}")
        target = root / "build" / f"executed-{source}" / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        print(f"{name}: {seconds:.0f} s; executed notebook: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
