"""How long does the course take to run and to grade?

For every assignment, this times

- execute: running the solution notebook top to bottom in a fresh kernel (what a
  student waits for with *Run All*, kernel start included);
- autograde: ``nbgrader autograde`` of that notebook submitted by one student (what an
  instructor waits for per student and assignment: nbgrader's own work included),

and prints a table with the totals: the whole series, and an autograde of one full
submission (every assignment). Budgets (DESIGN.md): each notebook about 30-40 s or
less, the series and one full autograde about 150 s, on 2 CPU cores.

    python benchmarks/bench_notebooks.py                 # every assignment
    python benchmarks/bench_notebooks.py --assignment 04_vae
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vae_helpers import course

ROOT = Path(__file__).resolve().parents[1]
BUDGET_NOTEBOOK_S, BUDGET_SERIES_S = 40, 150


def execute_seconds(notebook: Path) -> float:
    """Wall-clock seconds to run ``notebook`` in a fresh python3 kernel, in a scratch copy of its folder."""
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", action="append", help="limit to this assignment (repeatable)")
    args = parser.parse_args()
    names = args.assignment or course.assignments(ROOT)
    os.environ.setdefault("VAE_DATA_SOURCE", "embedded")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, data: {os.environ['VAE_DATA_SOURCE']}", flush=True)

    executed = {}
    for name in names:
        print(f"executing {name} ...", flush=True)
        executed[name] = execute_seconds(ROOT / "solutions" / name / f"{name}.ipynb")

    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_scratch_course(ROOT, Path(tmp) / "course")
        course.release(course_dir, names)
        grades = {}
        for name in names:
            print(f"autograding {name} ...", flush=True)
            course.submit(course_dir, "student", name, course_dir / "solutions" / name / f"{name}.ipynb")
            grades[name] = course.autograde(course_dir, name, "student")

    header = f"{'notebook':<24} {'execute s':>10} {'autograde s':>12} {'score':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for name in names:
        over = "  (over budget)" if executed[name] > BUDGET_NOTEBOOK_S else ""
        print(f"{name:<24} {executed[name]:>10.1f} {grades[name].seconds:>12.1f} {grades[name].cell():>8}{over}")
    series, graded = sum(executed.values()), sum(g.seconds for g in grades.values())
    print("-" * len(header))
    print(f"{'total':<24} {series:>10.1f} {graded:>12.1f}")
    print(f"whole series {series:.0f} s, one full autograde {graded:.0f} s (budget {BUDGET_SERIES_S} s each)")


if __name__ == "__main__":
    main()
