"""``nbgrader export`` for the course: every row says whether its score was earned.

nbgrader's CSV gives a student who submitted nothing, and one whose submission could not be
autograded, the same ``0.0`` as a student who earned zero. The course's exporter
(``c.ExportApp.plugin_class`` in ``nbgrader_config.py``) writes nbgrader's columns plus

- ``status``: ``graded``, ``needs grading by hand`` (autograding failed: see ``note``) or
  ``not submitted``; the score columns are empty unless the status is ``graded``;
- ``flagged``: ``yes`` when the audit flagged the submission for review (possible tampering);
- ``note``: why autograding failed, as ``make autograde`` recorded it.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin

GRADED, BY_HAND, MISSING = "graded", "needs grading by hand", "not submitted"
NOT_AUTOGRADED = "Not autograded: "  # how make autograde's note on a dropped submission begins
COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score", "status", "flagged", "note"]


def status(submission) -> tuple[str, str]:
    """(status, note) of a submission in the gradebook (``None``: not submitted)."""
    if submission is None:
        return MISSING, ""
    notes = [c.auto_comment for nb in submission.notebooks for c in nb.comments
             if (c.auto_comment or "").startswith(NOT_AUTOGRADED)]
    ungraded = any(g.needs_manual_grade and g.manual_score is None for nb in submission.notebooks for g in nb.grades)
    return (BY_HAND if ungraded else GRADED), (notes[0] if notes else "")


def rows(gradebook: Gradebook, assignments: list[str] = (), students: list[str] = ()) -> list[dict[str, str]]:
    """One row per (assignment, student) of the gradebook, limited to the given ones if any."""
    found = []
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                submission = None
            state, note = status(submission)
            row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": assignment.max_score, "status": state, "note": note,
                   "timestamp": submission.timestamp if submission else None,
                   "flagged": "yes" if submission and any(nb.flagged for nb in submission.notebooks) else ""}
            if state == GRADED:
                penalty = submission.late_submission_penalty or 0.0
                row.update(raw_score=submission.score, late_submission_penalty=penalty,
                           score=max(0.0, submission.score - penalty))
            found.append({key: "" if row.get(key) is None else str(row[key]) for key in COLUMNS})
    return found


class CsvExport(CsvExportPlugin):
    """nbgrader's CSV export (``--to`` names the file, default ``grades.csv``) with status, flagged and note."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS)
            writer.writeheader()
            writer.writerows(rows(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student]))
