"""How fast does a class grade: plain nbgrader, `make autograde` one and two at a time, two Dask workers?

A class of 02_reparameterization submissions (right, wrong and faulty mixed; 24 by default) is
released once into a scratch course and graded four ways, each from a fresh copy:

- serial nbgrader: ``nbgrader autograde 02_reparameterization`` (every student in one process,
  no sandbox), what an instructor ran before this course had its own grading;
- ``make autograde WORKERS=1`` and ``WORKERS=2``: one sandboxed job (its own nbgrader process)
  per submission, one or two at a time;
- Dask: the same jobs on a local cluster of two single-threaded worker processes.

It prints seconds, seconds per submission and submissions per minute, and checks that all four
give every student the same score. Then one student's whole submission (the five solution
notebooks) is graded with ``make autograde WORKERS=2``, with the demonstration cells shortened
(the default) and as released (``--demos full``); it prints the seconds of each and checks the
scores agree. Figures, not verdicts: the machine may be busy.

    python benchmarks/bench_grading.py
    python benchmarks/bench_grading.py --students 8
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from vae_helpers.grading import course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02_reparameterization"
WRONG_REPARAMETERIZE = ("def reparameterize(mu, logvar):\n"
                        "    return torch.normal(mu, torch.exp(0.5 * logvar))\n")
CRASH = "import os\n\nos._exit(1)\n"
EARLY = 'raise ValueError("not finished")\n'


def submissions(course_dir: Path, students: int) -> dict[str, str]:
    """{student: notebook text}: right, wrong, crashing, unfinished and blank, in turn."""
    solution = nbformat.read(course_dir / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    blank = nbformat.read(course_dir / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)

    def answer(prefix: str = "", replace: str | None = None) -> str:
        nb = nbformat.from_dict(solution)
        cell = next(c for c in nb.cells if c.id == "reparameterize")
        cell.source = prefix + (replace if replace is not None else cell.source)
        return nbformat.writes(nb)

    kinds = [answer(), answer(replace=WRONG_REPARAMETERIZE), answer(CRASH), answer(EARLY), nbformat.writes(blank)]
    return {f"student-{i:03d}": kinds[i % len(kinds)] for i in range(students)}


def class_course(released: Path, target: Path, batch: dict[str, str]) -> Path:
    shutil.copytree(released, target)
    for student, text in batch.items():
        folder = target / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
    return target


def scores(course_dir: Path, students: list[str]) -> dict[str, float | None]:
    with course.gradebook(course_dir) as gb:
        found = {}
        for student in students:
            graded = course_dir / "autograded" / student / ASSIGNMENT
            found[student] = gb.find_submission(ASSIGNMENT, student).score if graded.exists() else None
        return found


def serial_nbgrader(course_dir: Path) -> None:
    course.nbgrader(course_dir, "autograde", ASSIGNMENT, "--force", env={"VAE_SANDBOX": "off"})


def make_autograde(course_dir: Path, *options: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        course.main(["autograde", "--root", str(course_dir), *options])


def whole_submission(scratch: Path) -> None:
    """One student's five solution notebooks, graded two at a time, shortened and in full."""
    released = course.make_scratch_course(ROOT, scratch / "whole-released")
    names = course.assignments(released)
    course.release(released, names)
    print(f"\none student's whole submission ({len(names)} solution notebooks), make autograde WORKERS=2")
    header = f"{'demonstration cells':<30} {'seconds':>8}  score"
    print(header + "\n" + "-" * len(header))
    reference = None
    for demos in ("short", "full"):
        course_dir = scratch / f"whole-{demos}"
        shutil.copytree(released, course_dir)
        for name in names:
            course.submit(course_dir, "student", name, course_dir / "solutions" / name / f"{name}.ipynb")
        start = time.perf_counter()
        make_autograde(course_dir, "--workers", "2", "--demos", demos)
        seconds = time.perf_counter() - start
        with course.gradebook(course_dir) as gb:
            got = {name: gb.find_submission(name, "student").score for name in names}
        reference = reference or got
        same = "" if got == reference else "  !! scores differ from the shortened grading"
        label = "shortened (default)" if demos == "short" else "as released (--demos full)"
        print(f"{label:<30} {seconds:>8.1f}  {sum(got.values()):g}{same}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=24)
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as scratch:
        released = course.make_scratch_course(ROOT, Path(scratch) / "released")
        course.release(released, [ASSIGNMENT])
        batch = submissions(released, args.students)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            ways = {"serial nbgrader (no sandbox)": serial_nbgrader,
                    "make autograde WORKERS=1": lambda c: make_autograde(c, "--workers", "1"),
                    "make autograde WORKERS=2": lambda c: make_autograde(c, "--workers", "2"),
                    "Dask, 2 local workers": lambda c: make_autograde(c, "--scheduler", cluster.scheduler_address)}
            print(f"{args.students} submissions of {ASSIGNMENT} (right, wrong, crashing, unfinished, blank in turn)")
            header = f"{'how':<30} {'seconds':>8} {'s / submission':>15} {'submissions / min':>18}"
            print(header + "\n" + "-" * len(header))
            reference = None
            for i, (how, grade) in enumerate(ways.items()):
                course_dir = class_course(released, Path(scratch) / f"class-{i}", batch)
                start = time.perf_counter()
                grade(course_dir)
                seconds = time.perf_counter() - start
                got = scores(course_dir, sorted(batch))
                reference = reference or got
                same = "" if got == reference else "  !! scores differ from serial nbgrader"
                print(f"{how:<30} {seconds:>8.1f} {seconds / len(batch):>15.2f} "
                      f"{60 * len(batch) / seconds:>18.1f}{same}", flush=True)
        whole_submission(Path(scratch))


if __name__ == "__main__":
    main()
