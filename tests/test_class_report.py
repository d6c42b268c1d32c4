"""What the class got wrong: the per-assignment report `make autograde` writes, on a graded batch.

A class of seven submits 02: the solution, the same wrong answer twice, the blank notebook, the
solution late, the solution with code that probes the class course, and a garbled file. The
report must count the failures per test cell, group the two identical symptoms before the blank's,
name the section to revisit and what each cell checks, and list the flagged, late and dropped
submissions; the HTML embeds its bar chart; both files are the instructor's only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import re
import stat
from pathlib import Path

import nbformat
import pytest

import grading_batch
from vae_helpers import checks
from vae_helpers.grading import course, privacy, report, sandbox

pytestmark = pytest.mark.slow  # grades notebooks in kernels: left out of `make quick`

ASSIGNMENT = "02_reparameterization"
BASICS = "test-reparameterize-basics"
WRONG = '''def reparameterize(mu, logvar):
    """Draws with torch.normal: the right values, but no gradient flows back."""
    return torch.normal(mu, torch.exp(0.5 * logvar))
'''
DUE = datetime.datetime(2026, 1, 10, 12, 0)


@pytest.fixture(scope="module")
def class_reported(tmp_path_factory):
    """A released 02 with a due date, the class above submitted and graded by `make autograde` (WORKERS=2).
    Returns (course folder, the CSV rows, the HTML page, what make autograde printed)."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    root = course.make_scratch_course(grading_batch.ROOT, tmp_path_factory.mktemp("class") / "course")
    course.release(root, [ASSIGNMENT])
    with course.gradebook(root) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    solution = grading_batch.solution_notebook(root, ASSIGNMENT)
    wrong = grading_batch.with_cell(solution, "reparameterize", WRONG)
    answer = next(c.source for c in solution.cells if c.id == "reparameterize")
    probe = grading_batch.with_cell(solution, "reparameterize", f"import os\ntry:\n    os.listdir({str(root)!r} + "
                                    f"'/submitted')\nexcept OSError:\n    pass\n\n{answer}")
    blank = nbformat.read(root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    stamps = {"late": "2026-01-12 12:00:00.000000 UTC"}
    for student, nb in {"correct": solution, "wrong-1": wrong, "wrong-2": wrong, "blank": blank, "late": solution,
                        "prober": probe, "garbled": None}.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        text = nbformat.writes(solution)[:300] if nb is None else nbformat.writes(nb)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
        (folder / "timestamp.txt").write_text(stamps.get(student, "2026-01-09 12:00:00.000000 UTC"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        course.main(["autograde", "--root", str(root), "--workers", "2"])
    folder = root / report.REPORTS
    with open(folder / f"{ASSIGNMENT}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return root, rows, (folder / f"{ASSIGNMENT}.html").read_text(), printed.getvalue()


def test_make_autograde_writes_the_report_for_the_instructor_only(class_reported):
    root, _, _, printed = class_reported
    for suffix in ("html", "csv"):
        path = root / report.REPORTS / f"{ASSIGNMENT}.{suffix}"
        assert f"Class report: {path}" in printed
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((root / report.REPORTS).stat().st_mode) == 0o700


def test_failures_are_counted_per_test_cell_and_symptoms_grouped_most_common_first(class_reported):
    root, rows, _, printed = class_reported
    cells = [r for r in rows if r["kind"] == "test cell"]
    basics = [r for r in cells if r["test_cell"] == BASICS]
    assert {r["failed"] for r in basics} == {"3"} and {r["graded"] for r in basics} == {"6"}, basics  # garbled: dropped
    counts = [int(r["count"]) for r in basics]
    assert counts == sorted(counts, reverse=True) and counts[0] == 2, basics  # the two wrong answers, then the blank
    shown = grading_batch.read_outcome(root, ASSIGNMENT, "wrong-1").cells[BASICS].error
    assert shown.split(": ", 1)[1] == basics[0]["symptom"]  # the message as the feedback shows it
    assert "not implemented yet" in basics[1]["symptom"]
    assert basics[0]["section"].startswith("Exercise 1") and "reparameterize" in basics[0]["section"]
    first_paragraph = " ".join(checks.check_reparameterize_basics.__doc__.strip().split("\n\n")[0].split())
    assert basics[0]["checks"] == first_paragraph
    untouched = [r for r in cells if r["test_cell"] == "test-score-function-properties"]
    assert [(r["failed"], r["symptom"]) for r in untouched] == [("1", untouched[0]["symptom"])]  # the blank only
    assert {r["test_cell"] for r in cells} == set(grading_batch.read_outcome(root, ASSIGNMENT, "correct").cells)


def test_flagged_late_and_dropped_submissions_are_listed_with_why(class_reported):
    _, rows, _, _ = class_reported
    apart = {(r["kind"], r["student"]): r["detail"] for r in rows if r["kind"] != "test cell"}
    assert set(apart) == {("flagged", "prober"), ("late", "late"), ("dropped", "garbled")}, apart
    assert "listed" in apart["flagged", "prober"] and "/submitted (outside its folder)" in apart["flagged", "prober"]
    assert apart["late", "late"].startswith("2 d late")
    assert "not a readable notebook" in apart["dropped", "garbled"]


def test_the_html_page_embeds_its_chart_and_names_every_cell(class_reported):
    root, rows, page, _ = class_reported
    assert "data:image/png;base64," in page
    for row in rows:
        if row["kind"] == "test cell":
            assert f"id='{row['test_cell']}'" in page
    assert "2 d late" in page and "prober" in page and "garbled" in page


def test_the_html_page_is_kept_in_build_for_the_docs_figure(class_reported):
    """docs/images/class-report.png is a screenshot of this page (the command is in docs/instructors.md)."""
    root, _, page, _ = class_reported
    kept = grading_batch.ROOT / "build" / "class-report" / f"{ASSIGNMENT}.html"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(page)
    assert "7 submission(s), 6 graded; 1 flagged, 1 late, 1 dropped." in page  # the figure's first line


def test_the_report_is_also_its_own_command(class_reported, capsys):
    root, rows, _, _ = class_reported
    (root / report.REPORTS / f"{ASSIGNMENT}.csv").unlink()
    assert report.main(["--root", str(root), "--assignment", ASSIGNMENT]) == 0
    assert f"Class report: {root / report.REPORTS / f'{ASSIGNMENT}.csv'}" in capsys.readouterr().out
    with open(root / report.REPORTS / f"{ASSIGNMENT}.csv", newline="") as f:
        assert list(csv.DictReader(f)) == rows


def test_feedback_names_each_test_cell_by_what_it_checks(class_reported):
    """nbgrader's feedback labels every score line "Test cell"; the course's template names the cell and its check."""
    root, rows, _, _ = class_reported
    run = course.nbgrader(root, "generate_feedback", ASSIGNMENT, "--student", "wrong-1", "--force")
    assert run.returncode == 0, run.stdout + run.stderr
    page = (root / "feedback" / "wrong-1" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    privacy.make_private(root)  # what the next make autograde does: closed folders, files fetchable via the exchange
    assert stat.S_IMODE((root / "feedback" / "wrong-1").stat().st_mode) == 0o700
    assert stat.S_IMODE(page.stat().st_mode) == 0o644
    toc = re.findall(r'<li><a href="#([\w-]+)">([^<]*)</a> \(Score', page.read_text())
    cells = [r["test_cell"] for r in rows if r["kind"] == "test cell"]
    assert [cell for cell, _ in toc] == list(dict.fromkeys(cells)), toc
    assert all(label != "Test cell" and label.startswith(f"{cell}: ") for cell, label in toc), toc
    assert dict(toc)[BASICS] == report.test_label("check_reparameterize_basics(reparameterize)", BASICS)
