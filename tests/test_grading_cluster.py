"""Grading on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on this machine.

The same class is graded twice: one job at a time on this machine (`make autograde WORKERS=1`),
and on the cluster (`make autograde SCHEDULER=...`), where one worker is killed with SIGKILL while
it grades. Every submission must be graded exactly once, with the grades and feedback of the
serial run, and the killed worker's job must leave no process behind.
"""

from __future__ import annotations

import contextlib
import os
import io
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import answer_suites
import grading_batch
from vae_helpers.grading import course
from vae_helpers.grading import sandbox

pytestmark = pytest.mark.slow  # grades notebooks with nbgrader: left out of `make quick`

ASSIGNMENT = "02_reparameterization"
WRONG = {  # cell: a wrong answer from the answer library, so the class gets three different grades
    "reparameterize": answer_suites.plant(answer_suites.rep.torch_normal, "reparameterize"),
    "score-function": answer_suites.plant(answer_suites.rep.score_not_divided, "score_function_gradient"),
}
STUDENTS = 6
BIN = Path(sys.executable).parent


def make_class(released: Path, target: Path) -> Path:
    """A copy of the released course with STUDENTS lean submissions of 02: right, and wrong in each exercise."""
    shutil.copytree(released, target)
    lean = grading_batch.lean_notebook(target, ASSIGNMENT)
    variants = [lean] + [grading_batch.with_cell(lean, cell, code) for cell, code in WRONG.items()]
    for i in range(STUDENTS):
        folder = target / "submitted" / f"student-{i}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(variants[i % len(variants)], folder / f"{ASSIGNMENT}.ipynb")
    return target


def autograde(course_dir: Path, *options: str) -> tuple[int, str]:
    """`make autograde` with ``options``: (exit status, what it printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = course.main(["autograde", "--root", str(course_dir), *options])
    return status, printed.getvalue()


def outcomes(course_dir: Path) -> dict[str, tuple]:
    """{student: (score, the text and error of each test cell)} of the graded class."""
    found = {}
    for i in range(STUDENTS):
        outcome = grading_batch.read_outcome(course_dir, ASSIGNMENT, f"student-{i}")
        found[f"student-{i}"] = (outcome.score, {c: (r.score, r.error, r.text) for c, r in outcome.cells.items()})
    return found


class Cluster:
    """`dask scheduler` and two `dask worker` processes (one job each at a time), stopped at the end."""

    def __init__(self, folder: Path):
        self.file = folder / "scheduler.json"
        self.log = folder / "cluster.log"
        log = self.log.open("w")
        self.tmp = folder / "tmp"  # where the workers' jobs keep their scratch folders
        self.tmp.mkdir()
        common = {"stdout": log, "stderr": subprocess.STDOUT, "cwd": folder,
                  "env": {**os.environ, "TMPDIR": str(self.tmp)}}
        self.scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--scheduler-file", self.file,
                                           "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], **common)
        self.workers = {name: subprocess.Popen([BIN / "dask", "worker", "--scheduler-file", self.file, "--name", name,
                                                "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                                "--host", "127.0.0.1"], **common)
                        for name in ("one", "two")}

    def client(self):
        from distributed import Client

        return Client(scheduler_file=str(self.file), timeout="300s")

    def address(self) -> str:
        import json

        deadline = time.monotonic() + 300
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return json.loads(self.file.read_text())["address"]

    def stop(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            process.terminate()
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def kill_a_worker_while_it_grades(cluster: Cluster, killed: list) -> None:
    """SIGKILL the first worker seen running a job; remember which, and the job folders left then."""
    with cluster.client() as client:
        client.wait_for_workers(2, timeout=300)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            busy = [info["name"] for address, info in client.scheduler_info()["workers"].items()
                    if client.processing().get(address)]
            if busy:
                time.sleep(2)  # well inside the job: nbgrader and the sandboxed kernel are running
                cluster.workers[busy[0]].send_signal(signal.SIGKILL)
                cluster.workers[busy[0]].wait()
                killed.append(busy[0])
                killed.append(sorted(path.name for path in cluster.tmp.glob("vae-job-*")))
                return
            time.sleep(0.1)


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """The class graded serially and on the cluster: (serial course, cluster course, cluster's print, killed)."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    work = tmp_path_factory.mktemp("cluster")
    serial = make_class(released, work / "serial")
    status, printed = autograde(serial, "--workers", "1")
    assert status == 0, printed
    cluster = Cluster(work)
    try:
        on_dask, killed = make_class(released, work / "dask"), []
        killer = threading.Thread(target=kill_a_worker_while_it_grades, args=(cluster, killed))
        killer.start()
        status, printed = autograde(on_dask, "--scheduler", cluster.address())
        killer.join()
        assert status == 0, printed + cluster.log.read_text()
    finally:
        cluster.stop()
    return serial, on_dask, printed, killed


def test_a_worker_was_killed_in_the_middle_of_the_batch(graded):
    *_, killed = graded
    assert len(killed) == 2 and killed[0] in ("one", "two")


def test_every_submission_is_graded_exactly_once(graded):
    _, on_dask, printed, _ = graded
    for i in range(STUDENTS):
        assert len([line for line in printed.splitlines() if line.startswith(f"student-{i}/")]) == 1, printed
    assert f"Graded {STUDENTS} of {STUDENTS} submission(s)" in printed
    assert "on the Dask cluster at tcp://127.0.0.1:" in printed
    with course.gradebook(on_dask) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == STUDENTS


def test_the_cluster_gives_the_grades_and_feedback_of_serial_grading(graded):
    serial, on_dask, *_ = graded
    expected = outcomes(serial)
    assert len({score for score, _ in expected.values()}) == 3  # right, and wrong in either exercise
    assert outcomes(on_dask) == expected


def test_the_killed_workers_job_folder_is_swept_by_the_next_job(graded):
    """A SIGKILLed worker cannot delete its job's folder; the job run again elsewhere removes it."""
    _, on_dask, _, killed = graded
    assert killed[1], "the killed worker left its job folder"
    assert list((on_dask.parent / "tmp").glob("vae-job-*")) == []


def test_the_killed_workers_job_left_no_process_behind(graded):
    """The killed worker's nbgrader (and so its sandboxed kernel) died with it."""
    jobs = subprocess.run(["pgrep", "-f", f"autograde {ASSIGNMENT} --student student-"], capture_output=True, text=True)
    assert jobs.stdout.split() == [], subprocess.run(["ps", "-ef"], capture_output=True, text=True).stdout
