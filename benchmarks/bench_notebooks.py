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

The budgets are for the reference machine (2 cores, AMD EPYC) running at its usual speed.
A shared virtual machine is sometimes several times slower, so the script also measures
how fast this machine multiplies matrices right now (the fp32 products of one training
step, as in ``bench_training.py``), before and after, and prints how that compares with
the reference machine's 118-158 GFLOP/s (docs/performance.md, 2026-11-25). When it is slower, it also
prints each time scaled to 118 GFLOP/s: an estimate (training is bound by those products),
labelled as one.

    python benchmarks/bench_notebooks.py                 # every assignment
    python benchmarks/bench_notebooks.py --assignment 04_vae
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import torch
from bench_training import gemm_throughput

from vae_helpers import data
from vae_helpers.grading import course

ROOT = Path(__file__).resolve().parents[1]
BUDGETS_S = {"subset": (40, 150), "full": (60, 240)}  # (per notebook, whole series)
REFERENCE_GFLOPS = 118.0  # the slowest of the reference machine's idle runs (docs/performance.md, 2026-11-25)


def gflops() -> float:
    """This machine's fp32 GEMM throughput right now, in GFLOP/s."""
    return gemm_throughput(torch.device("cpu")) / 1e9


def verdicts(label: str, seconds: dict[str, dict[str, float]]) -> None:
    """One line per source: the slowest notebook and the series against their budgets."""
    for s, times in seconds.items():
        per, series = BUDGETS_S[s]
        worst, total = max(times.values()), sum(times.values())
        verdict = "within budget" if worst <= per and total <= series else "OVER BUDGET"
        print(f"{label}{s}: slowest notebook {worst:.0f} s (budget {per} s), series {total:.0f} s "
              f"(budget {series} s): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", action="append", help="limit to this assignment (repeatable)")
    args = parser.parse_args()
    names = args.assignment or course.assignments(ROOT)
    sources = ["subset"] + (["full"] if data._torchvision_files_present(data.default_data_dir()) else [])
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, sources: {', '.join(sources)}"
          f"{'' if 'full' in sources else ' (no full MNIST under ' + str(data.default_data_dir()) + ')'}",
          flush=True)

    speed_before = gflops()
    executed = {source: {} for source in sources}
    for source in sources:
        for name in names:
            print(f"executing {name} on the {source} ...", flush=True)
            _, executed[source][name] = course.execute(ROOT / "solutions" / name / f"{name}.ipynb", source)

    os.environ["VAE_DATA_SOURCE"] = "embedded"
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.make_scratch_course(ROOT, Path(tmp) / "course")
        course.release(course_dir, names)
        grades = {}
        for name in names:
            print(f"autograding {name} ...", flush=True)
            course.submit(course_dir, "student", name, course_dir / "solutions" / name / f"{name}.ipynb")
            grades[name] = course.autograde(course_dir, name, "student")

    speed = (speed_before + gflops()) / 2
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
    print(f"one full autograde {graded:.0f} s ('!' marks a notebook over its budget)")
    print(f"GEMM speed {speed:.0f} GFLOP/s (mean of before and after; the reference machine idle: 118-158)")
    verdicts("measured, ", executed)
    if speed < REFERENCE_GFLOPS:
        factor = speed / REFERENCE_GFLOPS
        print(f"this machine runs at {factor:.2f} x the reference speed now; scaled to {REFERENCE_GFLOPS:.0f} GFLOP/s "
              "(an estimate):")
        verdicts("estimated at reference speed, ",
                 {s: {name: t * factor for name, t in times.items()} for s, times in executed.items()})

if __name__ == "__main__":
    main()
