"""The second week of a semester, through nbgrader's exchange (issue 27): resubmissions, lateness,
changed points, an exercise added after submissions, the LMS export.

One scratch course (``03_kl_divergence``, small and quick to grade; ``02_reparameterization``
generated but never released to students) and two students who fetch and submit with nbgrader's
own commands: alice submits the solution on time; bob submits the blank notebook on time, then the
solution after the due date. The class's late policy ("zero") is set in the untracked
``class_config.py``, as docs/instructors.md says. The steps run in order, each a test; together
they are the week-two script of the issue, with three parts kept where their fixtures already are:
a probing submission flagged (tests/test_tampering_and_faults.py, the mixed batch), the class report
(tests/test_class_report.py), and a second OS user who reads no class data (tests/test_privacy.py).
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vae_helpers.grading import course, sandbox

pytestmark = pytest.mark.slow  # grades notebooks in kernels

ROOT = Path(__file__).resolve().parents[1]
NAME, UNRELEASED = "03_kl_divergence", "02_reparameterization"
ROSTER = "id,first_name,last_name,email\nalice,Alice,Ant,alice@example.org\nbob,Bob,Bee,bob@example.org\n"
CHANGED_TEST = "test-kl-value"  # its points go from 2 to 3 in week two


def run(course_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m vae_helpers.grading.course ARGS --root course_dir``, as the Makefile runs it."""
    return subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", *args, "--root", str(course_dir)],
                          capture_output=True, text=True, env=course.nbgrader_environment())


def autograde(course_dir: Path, *args: str) -> str:
    result = run(course_dir, "autograde", "--workers", "1", "--sandbox",
                 "on" if sandbox.unavailable() is None else "off", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def as_student(week, student: str, *args: str) -> str:
    """Run ``nbgrader ARGS`` as ``student`` in their own folder, on the course's exchange."""
    home = week["students"] / student
    home.mkdir(parents=True, exist_ok=True)
    result = course.nbgrader(home, *args, "--course", "vae-course", f"--Exchange.root={week['course'] / 'exchange'}",
                             f"--CourseDirectory.student_id={student}")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def submit(week, student: str, notebook: Path) -> datetime.datetime:
    """``student`` puts ``notebook`` in place of their fetched copy and submits it; returns its time."""
    target = week["students"] / student / NAME / f"{NAME}.ipynb"
    target.write_bytes(notebook.read_bytes())
    log = as_student(week, student, "submit", NAME)
    from nbgrader.utils import parse_utc

    return parse_utc(re.search(r"Submitted as: vae-course \S+ (.+ UTC)", log).group(1))


def exported(course_dir: Path, stem: str) -> dict[str, list[dict[str, str]]]:
    """``nbgrader export`` into ``<stem>.csv``: the long rows and the Canvas and Moodle rows."""
    result = course.nbgrader(course_dir, "export", "--to", f"{stem}.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    read = {}
    for kind, path in (("long", f"{stem}.csv"), ("canvas", f"{stem}-canvas.csv"), ("moodle", f"{stem}-moodle.csv")):
        with open(course_dir / path, newline="") as f:
            read[kind] = list(csv.DictReader(f))
    read["log"] = result.stdout + result.stderr
    return read


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The course after week one: released, both students submitted on time, collected and graded;
    the due date set between alice's submission and bob's late resubmission (made, not collected)."""
    scratch = tmp_path_factory.mktemp("week-two")
    course_dir = course.make_scratch_course(ROOT, scratch / "course")
    (course_dir / "class_config.py").write_text('c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    (course_dir / "roster.csv").write_text(ROSTER)
    course.release(course_dir, [NAME, UNRELEASED])
    for step in (["db", "student", "import", "roster.csv"], ["release_assignment", NAME]):
        result = course.nbgrader(course_dir, *step)
        assert result.returncode == 0, result.stdout + result.stderr
    week = {"course": course_dir, "students": scratch / "students"}
    for student in ("alice", "bob"):
        as_student(week, student, "fetch_assignment", NAME)
    blank = course_dir / "notebooks" / NAME / f"{NAME}.ipynb"
    solution = course_dir / "solutions" / NAME / f"{NAME}.ipynb"
    submit(week, "alice", solution)
    bob_at = submit(week, "bob", blank)
    collected = run(course_dir, "collect")
    assert collected.returncode == 0 and "Collecting submission: bob" in collected.stdout, collected.stdout
    if os.getuid() == 0:  # the students' submissions are root's: nbgrader's warning, explained
        assert "cheating attempt? (expected when you submitted for several students" in collected.stdout
    week["first grading"] = autograde(course_dir)
    bob_late_at = submit(week, "bob", solution)
    due = bob_at + (bob_late_at - bob_at) / 2  # both first submissions on time, the resubmission late
    result = course.nbgrader(course_dir, "db", "assignment", "add", NAME, f"--duedate={due:%Y-%m-%d %H:%M:%S.%f} UTC")
    assert result.returncode == 0, result.stdout + result.stderr
    return week


def test_a_resubmission_not_collected_is_named_before_grading_the_old_one(week):
    assert re.search(r"alice/03_kl_divergence: 10 / 10", week["first grading"]), week["first grading"]
    assert re.search(r"bob/03_kl_divergence: 0 / 10", week["first grading"]), week["first grading"]
    assert "newer submission" not in week["first grading"]
    stale = autograde(week["course"], "--student", "bob")
    assert re.search(r"!! bob/03_kl_divergence: the exchange holds a newer submission .*make collect", stale), stale
    assert re.search(r"bob/03_kl_divergence: 0 / 10", stale), stale  # still the old notebook, said so above
    assert "alice/03_kl_divergence: the exchange" not in stale


def test_collect_takes_the_resubmission_and_the_regrade_grades_it_late(week):
    collected = run(week["course"], "collect", "--assignment", NAME)
    assert "Updating submission: bob" in collected.stdout, collected.stdout
    regrade = autograde(week["course"], "--student", "bob")
    assert "newer submission" not in regrade
    line = re.search(r"^bob/03_kl_divergence: 10 / 10; (.*) \(", regrade, re.M)
    assert line, regrade
    assert re.fullmatch(r"(\d+ min|\d+ h( \d+ min)?) late, penalty 10 points: 0 / 10 after it", line.group(1)), line.group(1)
    assert re.search(r"^Late \(.*\): bob/03_kl_divergence", regrade, re.M), regrade


def test_the_export_shows_lateness_and_one_row_per_student_for_the_lms(week):
    grades = exported(week["course"], "grades")
    rows = {(r["student_id"], r["assignment"]): r for r in grades["long"]}
    assert UNRELEASED not in {a for _, a in rows}, "generated but never released: not in the export"
    bob, alice = rows["bob", NAME], rows["alice", NAME]
    assert (bob["raw_score"], bob["late_submission_penalty"], bob["score"]) == ("10.0", "10.0", "0.0")
    assert bob["late"].endswith(" late") and alice["late"] == "on time"
    assert (alice["score"], alice["outdated"]) == ("10.0", "")
    assert list(grades["canvas"][0])[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    canvas = {r["SIS Login ID"]: r for r in grades["canvas"]}
    assert list(grades["canvas"][0])[5:] == [NAME]
    assert (canvas["alice"]["Student"], canvas["alice"][NAME], canvas["bob"][NAME]) == ("Ant, Alice", "10.0", "0.0")
    moodle = {r["Email address"]: r for r in grades["moodle"]}
    assert (moodle["alice@example.org"]["Total"], moodle["bob@example.org"]["Total"]) == ("10", "0")
    assert list(grades["moodle"][0]) == ["Email address", "ID number", "First name", "Last name", NAME, "Total",
                                          "Flagged for review"]


def edit_solution(course_dir: Path, change) -> None:
    path = course_dir / "solutions" / NAME / f"{NAME}.ipynb"
    nb = json.loads(path.read_text())
    change(nb["cells"])
    path.write_text(json.dumps(nb, indent=1) + "\n")


def test_changed_points_release_and_old_scores_are_called_outdated(week):
    course_dir = week["course"]

    def more_points(cells):
        next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == CHANGED_TEST)[
            "metadata"]["nbgrader"]["points"] = 3

    edit_solution(course_dir, more_points)
    result = run(course_dir, "release", "--assignment", NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    grades = exported(course_dir, "after-points")
    rows = {r["student_id"]: r for r in grades["long"]}
    assert rows["alice"]["outdated"] == f"{CHANGED_TEST} now 3 points, graded out of 2", rows["alice"]
    assert "graded against an older version" in grades["log"]
    regrade = autograde(course_dir, "--student", "alice")
    assert re.search(r"^alice/03_kl_divergence: 11 / 11 \(", regrade, re.M), regrade
    assert re.search(r"^!! bob/03_kl_divergence: scored against an older version .*STUDENT=bob", regrade, re.M), regrade
    assert "!! alice" not in regrade
    rows = {r["student_id"]: r for r in exported(course_dir, "after-regrade")["long"]}
    assert (rows["alice"]["outdated"], rows["alice"]["score"]) == ("", "11.0")


def test_adding_an_exercise_after_submissions_fails_cleanly_and_keeps_every_file(week):
    course_dir = week["course"]
    released = course_dir / "notebooks" / NAME / f"{NAME}.ipynb"
    before = {p: p.read_bytes() for p in (course_dir / "notebooks").rglob("*") if p.is_file()}

    def new_exercise(cells):
        test = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == CHANGED_TEST)
        extra = json.loads(json.dumps(test))
        extra["id"] = extra["metadata"]["nbgrader"]["grade_id"] = "test-week-two-extra"
        cells.append(extra)

    edit_solution(course_dir, new_exercise)
    result = run(course_dir, "release", "--assignment", NAME)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message + result.stdout, message
    assert "students have submitted it" in message and "new assignment" in message and "--force" in message, message
    assert released.is_file()
    after = {p: p.read_bytes() for p in (course_dir / "notebooks").rglob("*") if p.is_file()}
    assert after == before
    assert not list((course_dir / "build").glob("release-*/")), "the scratch release folder is left behind"
