"""How long does the course take to run and to grade, on both data sources?

For every assignment, this times

- execute: running the solution notebook top to bottom in a fresh kernel (what a
  student waits for with *Run All*, kernel start included), once on the embedded
  subset (4,000 + 1,000 digits, offline) and once on the full MNIST (60,000 + 10,000,
  what every student online gets);
- autograde: ``nbgrader autograde`` of that notebook submitted by one student, on the
  embedded subset (what ``make autograde`` uses): nbgrader's own work included,

and prints one table with the totals and the budgets of DESIGN.md: each notebook at
most 40 s on the subset and 60 s on full MNIST, the series at most 150 s and 240 s.
Without the full MNIST files (``$VAE_DATA_DIR/MNIST/raw``) that column is left out.

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

from vae_helpers import course, data

ROOT = Path(__file__).resolve().parents[1]
BUDGETS_S = {"subset": (40, 150), "full": (60, 240)}  # (per notebook, whole series)
SOURCES = {"subset": "embedded", "full": "torchvision"}


def execute_seconds(notebook: Path, source: str) -> float:
    """Wall-clock seconds to run ``notebook`` in a fresh python3 kernel on ``source``, in a scratch folder."""
    nb = nbformat.read(notebook, as_version=4)
    env = {**os.environ, "VAE_DATA_SOURCE": SOURCES[source], "VAE_DATA_DOWNLOAD": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": tmp}})
        start = time.perf_counter()
        client.execute(env=env)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", action="append", help="limit to this assignment (repeatable)")
    args = parser.parse_args()
    names = args.assignment or course.assignments(ROOT)
    sources = ["subset"] + (["full"] if data._torchvision_files_present(data.default_data_dir()) else [])
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, sources: {', '.join(sources)}"
          f"{'' if 'full' in sources else ' (no full MNIST under ' + str(data.default_data_dir()) + ')'}",
          flush=True)

    executed = {source: {} for source in sources}
    for source in sources:
        for name in names:
            print(f"executing {name} on the {source} ...", flush=True)
            executed[source][name] = execute_seconds(ROOT / "solutions" / name / f"{name}.ipynb", source)

    os.environ["VAE_DATA_SOURCE"] = "embedded"
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_scratch_course(ROOT, Path(tmp) / "course")
        course.release(course_dir, names)
        grades = {}
        for name in names:
            print(f"autograding {name} ...", flush=True)
            course.submit(course_dir, "student", name, course_dir / "solutions" / name / f"{name}.ipynb")
            grades[name] = course.autograde(course_dir, name, "student")

    columns = "".join(f"{source + ' s':>10}" for source in sources)
    header = f"{'notebook':<24}{columns} {'autograde s':>12} {'score':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for name in names:
        cells = "".join(f"{executed[s][name]:>9.1f}{'!' if executed[s][name] > BUDGETS_S[s][0] else ' '}"
                        for s in sources)
        print(f"{name:<24}{cells} {grades[name].seconds:>12.1f} {grades[name].cell():>8}")
    print("-" * len(header))
    totals = {s: sum(executed[s].values()) for s in sources}
    graded = sum(g.seconds for g in grades.values())
    print(f"{'series':<24}" + "".join(f"{totals[s]:>9.1f} " for s in sources) + f" {graded:>12.1f}")
    for s in sources:
        per, series = BUDGETS_S[s]
        worst = max(executed[s].values())
        verdict = "within budget" if worst <= per and totals[s] <= series else "OVER BUDGET"
        print(f"{s}: slowest notebook {worst:.0f} s (budget {per} s), series {totals[s]:.0f} s "
              f"(budget {series} s): {verdict}")
    print(f"one full autograde {graded:.0f} s ('!' marks a notebook over its budget)")


if __name__ == "__main__":
    main()
