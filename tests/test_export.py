"""The export's words and layouts, without grading anything (tests/test_week_two.py grades through
the exchange): lateness in words, one row per student for Canvas and Moodle, and the one-paragraph
error of a release nbgrader refuses."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from vae_helpers.grading import course
from vae_helpers.grading.export import COLUMNS, Lateness, late_words, wide_rows, write_lms


def test_lateness_in_words():
    assert late_words(0) == "on time" and Lateness(0, 0).words() == "on time"
    assert late_words(20) == "1 min late"  # late is late, however little
    assert late_words(3 * 3600 + 12 * 60) == "3 h 12 min late"
    assert late_words(26 * 3600 + 59) == "1 d 2 h late"
    assert Lateness(2 * 86400, 11).words() == "2 d late, penalty 11 points"
    assert Lateness(600, 1).words() == "10 min late, penalty 1 point"


def row(student: str, assignment: str, score: str, flagged: str = "") -> dict[str, str]:
    review = "opened a socket" if flagged and assignment == "03_b" else ""
    return {**dict.fromkeys(COLUMNS, ""), "student_id": student, "assignment": assignment, "score": score,
            "first_name": student.capitalize(), "last_name": "Zed", "email": f"{student}@example.org",
            "flagged": flagged, "review": review}


def test_one_row_per_student_for_canvas_and_moodle(tmp_path):
    rows = [row("bob", "02_a", "3.0", "yes"), row("bob", "03_b", "", "yes"), row("alice", "02_a", "5.5"),
            row("alice", "03_b", "4.0"), row("alice", "04_unreleased", "")]
    wide = wide_rows(rows, ["02_a", "03_b"])
    assert [w["id"] for w in wide] == ["alice", "bob"]
    assert (wide[0]["total"], wide[1]["total"], wide[1]["03_b"], wide[1]["flagged"]) == ("9.5", "3", "", "02_a | 03_b: opened a socket")
    canvas, moodle = write_lms(rows, ["02_a", "03_b"], tmp_path)
    with open(canvas, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "02_a", "03_b"]
    assert table[1] == ["Zed, Alice", "", "", "alice", "", "5.5", "4.0"]  # no total: Canvas would make it an assignment
    with open(moodle, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["Email address", "ID number", "First name", "Last name", "02_a", "03_b", "Total",
                        "Flagged for review"]
    assert table[2] == ["bob@example.org", "bob", "Bob", "Zed", "3.0", "", "3", "02_a | 03_b: opened a socket"]


NBGRADER_REFUSAL = """[GenerateAssignmentApp | ERROR] There was an error processing assignment: /c/solutions/03
Traceback (most recent call last):
  File "nbgrader/preprocessors/savecells.py", line 96, in preprocess
    raise RuntimeError(msg)
RuntimeError: Cannot add or remove cells for notebook '03' because there are submissions associated with it
[GenerateAssignmentApp | ERROR] nbgrader generate_assignment failed
"""


def test_a_refused_release_is_one_paragraph_and_keeps_the_log(tmp_path: Path):
    (tmp_path / "build").mkdir()
    message = course.release_failure(tmp_path, "03", NBGRADER_REFUSAL)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("Cannot release 03: students have submitted it")
    assert "notebooks/03/ is unchanged" in message and "new assignment" in message
    assert (tmp_path / "build" / "release-03.log").read_text() == NBGRADER_REFUSAL
    other = course.release_failure(tmp_path, "03", "[GenerateAssignmentApp | ERROR] There was an error processing\n"
                                   "Traceback ...\nFileNotFoundError: [Errno 2] No such file: 'alembic'\n")
    assert other.startswith("Cannot release 03: nbgrader generate_assignment failed (FileNotFoundError: ") and "\n" not in other


def test_the_instructor_make_targets(tmp_path):
    """make collect and make export run the course's commands; make formgrader's address keeps its token
    (a "?" in default_url made jupyter print .../lab?formgrader=true?token=..., which opens the login page)."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    root = Path(__file__).resolve().parents[1]
    plan = subprocess.run(["make", "-n", "collect", "export", "formgrader", "ASSIGNMENT=03_kl_divergence"], cwd=root,
                          capture_output=True, text=True, check=True).stdout
    assert "vae_helpers.grading.course collect --assignment 03_kl_divergence" in plan
    assert "nbgrader_main export --assignment 03_kl_divergence" in plan
    lab = next(line for line in plan.splitlines() if "jupyter lab" in line)
    assert "?" not in lab, lab
    assert "&formgrader=true" in plan  # how to open the Formgrader, said before jupyter prints its address


def test_the_lms_files_are_the_instructors_only(tmp_path):
    for path in write_lms([row("alice", "02_a", "5.5")], ["02_a"], tmp_path):
        assert path.stat().st_mode & 0o077 == 0, path
