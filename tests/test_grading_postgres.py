"""A class gradebook in a real PostgreSQL server, started by the test and stopped at the end.

The course is released into PostgreSQL (nbgrader's ``db_url``), a small class is graded with
`make autograde WORKERS=2` (jobs get an SQLite snapshot of the releases, the grader writes the
scores to PostgreSQL), and `nbgrader export` and `nbgrader generate_feedback` read them back.
Needs PostgreSQL's server programs (skipped otherwise, saying how to install them); `.ci/run`
installs them.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

import answer_suites
import grading_batch
from vae_helpers.grading import course
from vae_helpers.grading import sandbox

pytestmark = pytest.mark.slow  # grades notebooks with nbgrader: left out of `make quick`

ASSIGNMENT = "02_reparameterization"
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [os.path.dirname(shutil.which("initdb") or "")]
INITDB = Path(BIN[0]) / "initdb" if BIN[0] else None
if INITDB is None or not INITDB.exists():
    pytest.skip("PostgreSQL's server programs are not installed: apt-get install postgresql", allow_module_level=True)


class PostgreSQL:
    """A throwaway PostgreSQL server on a Unix socket in ``folder`` (run as user postgres when we are root)."""

    def __init__(self, folder: Path):
        self.folder, self.data, self.port = folder, folder / "data", self.free_port()
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        self.run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.run("pg_ctl", "-D", self.data, "-l", folder / "server.log", "-w", "start", "-o",
                 f"-k {folder} -p {self.port} -c listen_addresses='' -c fsync=off")
        self.run("createdb", "-h", folder, "-p", str(self.port), "-U", "postgres", "gradebook")
        self.url = f"postgresql+psycopg2://postgres@/gradebook?host={folder}&port={self.port}"

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def run(self, program: str, *args) -> None:
        command = [str(Path(BIN[0]) / program), *map(str, args)]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"

    def stop(self) -> None:
        self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="module")
def postgres():
    """The server, its files in a folder of /tmp the postgres user can reach; all removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="vae-postgres-"))
    folder.chmod(0o755)
    try:
        server = PostgreSQL(folder / "server")
        yield server
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(postgres, tmp_path_factory):
    """A course whose gradebook is in PostgreSQL: released, three submissions graded, exported.
    Returns (course directory, what make autograde printed, the exported rows)."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    course_dir = course.make_scratch_course(grading_batch.ROOT, tmp_path_factory.mktemp("pg") / "course")
    with open(course_dir / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.CourseDirectory.db_url = {postgres.url!r}\n")
    course.release(course_dir, [ASSIGNMENT])
    lean = grading_batch.lean_notebook(course_dir, ASSIGNMENT)
    wrong = grading_batch.with_cell(lean, "reparameterize",
                                    answer_suites.plant(answer_suites.rep.torch_normal, "reparameterize"))
    blank = nbformat.read(course_dir / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student, nb in {"right": lean, "wrong": wrong, "blank": blank}.items():
        (course_dir / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, course_dir / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = course.main(["autograde", "--root", str(course_dir), "--workers", "2"])
    assert status == 0, printed.getvalue()
    exported = course.nbgrader(course_dir, "export", "--to", "grades.csv")
    assert exported.returncode == 0, exported.stderr
    with open(course_dir / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    return course_dir, printed.getvalue(), rows


def test_the_releases_and_grades_live_in_postgresql_not_in_a_file(graded, postgres):
    course_dir, _, _ = graded
    assert not (course_dir / "gradebook.db").exists()
    with course.gradebook(course_dir) as gb:
        assert gb.db.bind.dialect.name == "postgresql"
        assert {s.student_id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions} == \
            {"right": 11.0, "wrong": 7.0, "blank": 0.0}


def test_nbgrader_export_reads_the_grades_back(graded):
    _, printed, rows = graded
    assert {student: row["score"] for student, row in rows.items()} == {"right": "11.0", "wrong": "7.0", "blank": "0.0"}
    assert "Graded 3 of 3 submission(s)" in printed


def test_feedback_is_generated_from_the_postgresql_gradebook(graded):
    course_dir, _, _ = graded
    result = course.nbgrader(course_dir, "generate_feedback", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stderr
    page = (course_dir / "feedback" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "CheckFailed" in page and "Score: 7.0 / 11.0" in page
