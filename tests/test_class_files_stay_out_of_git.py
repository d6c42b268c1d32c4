"""A round of grading in a clone of the course leaves `git status` clean.

Release, a submission, `make autograde`, feedback and export write the gradebook, submitted/,
autograded/, feedback/, autograde-reports/ and grades.csv at the course root, next to a README
that tells instructors to commit; none of it may show up as something to commit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vae_helpers.grading import course, sandbox

pytestmark = pytest.mark.slow  # grades a notebook in a kernel

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02_reparameterization"


def test_release_grading_feedback_and_export_leave_git_status_clean(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and the course as a git repository")
    clone = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    cli = [sys.executable, "-m", "vae_helpers.grading.course"]
    subprocess.run([*cli, "release", "--root", str(clone), "--assignment", ASSIGNMENT], check=True,
                   capture_output=True)
    course.submit(clone, "alice", ASSIGNMENT, clone / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    grading = subprocess.run([*cli, "autograde", "--root", str(clone), "--workers", "1",
                              "--sandbox", "on" if sandbox.unavailable() is None else "off"],
                             capture_output=True, text=True)
    assert grading.returncode == 0 and "alice/02_reparameterization: 11 / 11" in grading.stdout, grading.stdout
    for step in (["generate_feedback", ASSIGNMENT], ["export"]):
        run = course.nbgrader(clone, *step)
        assert run.returncode == 0, run.stdout + run.stderr
    made = ["gradebook.db", "submitted", "autograded", "feedback", "autograde-reports", "grades.csv"]
    assert all((clone / name).exists() for name in made)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
