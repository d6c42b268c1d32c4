"""A round of grading as an instructor runs it: it leaves `git status` clean, and keeps deadlines.

Release, a submission, `make autograde`, feedback and export write the gradebook, submitted/,
autograded/, feedback/, autograde-reports/ and grades.csv at the course root, next to a README
that tells instructors to commit; none of it may show up as something to commit. And a
submission collected after its due date gets the course's late policy through make autograde's
jobs (docs/instructors.md, "Deadline and late policy").
"""

from __future__ import annotations

import csv
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


def test_make_autograde_applies_the_late_policy_to_collected_submissions(tmp_path):
    """A submission collected with a timestamp after the due date: with `penalty_method = "zero"`
    make autograde's job records the penalty, and the export shows the raw score, the penalty and 0."""
    root = course.make_scratch_course(ROOT, tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course.release(root, [ASSIGNMENT])
    run = course.nbgrader(root, "db", "assignment", "add", ASSIGNMENT, "--duedate=2027-03-01 12:00:00 UTC")
    assert run.returncode == 0, run.stdout + run.stderr
    for student, stamp in (("on-time", "2027-03-01 11:59:00.000000 UTC"), ("late", "2027-03-02 09:00:00.000000 UTC")):
        course.submit(root, student, ASSIGNMENT, root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        (root / "submitted" / student / ASSIGNMENT / "timestamp.txt").write_text(stamp)
    grading = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "autograde", "--root", str(root),
                              "--workers", "1", "--sandbox", "on" if sandbox.unavailable() is None else "off"],
                             capture_output=True, text=True)
    assert grading.returncode == 0, grading.stdout + grading.stderr
    assert course.nbgrader(root, "export", "--to", "export.csv").returncode == 0
    with open(root / "export.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert (rows["on-time"]["raw_score"], rows["on-time"]["late_submission_penalty"], rows["on-time"]["score"]) == \
        ("11.0", "0.0", "11.0")
    assert (rows["late"]["raw_score"], rows["late"]["late_submission_penalty"], rows["late"]["score"]) == \
        ("11.0", "11.0", "0.0")
    assert rows["late"]["timestamp"].startswith("2027-03-02 09:00:00") and rows["late"]["status"] == "graded"
