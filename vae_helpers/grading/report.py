"""What the class got wrong: per assignment, an HTML report with a bar chart, and the same as a CSV.

The checks diagnose each wrong answer with a symptom ("the loss looks averaged over the batch"),
which nbgrader shows the one student in their feedback and then forgets. After grading, this
module reads the gradebook and the autograded notebooks and writes, per assignment,
``class-reports/<assignment>.html`` and ``class-reports/<assignment>.csv`` in the course:

- for each test cell, named by what it checks (the first line of its check's docstring): how many
  graded students lost points on it (a bar chart of it), their symptom messages grouped (numbers
  aside) and counted, most common first, and the notebook section to revisit (the heading above);
- the submissions flagged for review (with the reasons, ``audit.probe_flags``), late (how late,
  the penalty) and dropped (to grade by hand, with why).

``make autograde`` writes them at its end; ``python -m vae_helpers.grading.report [--root R]
[--assignment A]`` writes them on its own. Like every file of class data, they are readable by
the instructor only (``privacy.py``).
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .privacy import private_text

REPORTS = "class-reports"
CSV_COLUMNS = ["assignment", "kind", "test_cell", "checks", "section", "failed", "graded", "symptom", "count",
               "student", "detail"]
NO_MESSAGE = "(no message: the cell lost points without showing an error)"


@dataclass
class TestCell:
    """One graded test cell: its id, what it checks, the section it belongs to, its points."""

    grade_id: str
    checks: str
    section: str
    points: float = 0.0
    failed: list[str] = field(default_factory=list)          # students who lost points on it
    symptoms: Counter = field(default_factory=Counter)       # grouped message -> count
    example: dict[str, str] = field(default_factory=dict)    # grouped message -> one message as shown


def what_it_checks(source: str, fallback: str) -> str:
    """What a test cell checks, in words: the first docstring line of each course check it calls."""
    from vae_helpers import checks

    said = []
    for name in dict.fromkeys(re.findall(r"\b(check_\w+)\s*\(", source)):
        doc = (getattr(getattr(checks, name, None), "__doc__", None) or "").strip()
        said.append(" ".join(doc.split("\n\n")[0].split()) if doc else name)
    return "; ".join(said) or fallback


def test_label(source: str, grade_id: str, width: int = 110) -> str:
    """A test cell's name in the feedback's table of contents: its id and what it checks, cut to ``width``
    characters (a Jinja filter of the course's feedback template, ``templates/course-feedback``)."""
    what = what_it_checks(source, "")
    label = f"{grade_id}: {what}" if what else grade_id
    return label if len(label) <= width else label[:width].rsplit(" ", 1)[0] + " …"


FEEDBACK_TEMPLATES = Path(__file__).with_name("templates")  # c.HTMLExporter.extra_template_basedirs


def heading(source: str) -> str | None:
    """The last Markdown heading in ``source`` (without its #s), or None."""
    found = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", source, re.M)
    return found[-1].replace("`", "").replace("**", "") if found else None


def test_cells(nb: nbformat.NotebookNode) -> dict[str, TestCell]:
    """The graded test cells of ``nb`` in order, each with what it checks and the section above it."""
    cells, section = {}, ""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            section = heading(cell.source) or section
        elif meta.get("grade") and not meta.get("solution"):
            cells[meta["grade_id"]] = TestCell(meta["grade_id"], what_it_checks(cell.source, meta["grade_id"]),
                                               section, float(meta.get("points", 0)))
    return cells


def symptoms(nb: nbformat.NotebookNode) -> dict[str, str]:
    """{test cell id: the message of its last error} in an autograded notebook (a check's message as is,
    any other error as ``Name: message``)."""
    found = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id and errors:
            error = errors[-1]
            message = error.get("evalue", "").strip()
            found[grade_id] = message if error.get("ename") == "CheckFailed" else f"{error.get('ename')}: {message}"
    return found


def group(message: str) -> str:
    """``message`` with its numbers left out, so the same mistake groups across students."""
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", message)


@dataclass
class Flagged:
    """One submission the report lists apart: flagged, late or dropped, with the detail."""

    student: str
    kind: str
    detail: str


@dataclass
class AssignmentReport:
    assignment: str
    submissions: int
    graded: int
    cells: dict[str, TestCell]
    apart: list[Flagged]


def gather(course_root: Path, assignment: str) -> AssignmentReport:
    """Read ``assignment``'s grades, autograded notebooks, flags and lateness from the course at ``course_root``."""
    from nbgrader.api import Gradebook

    from . import audit, batch, export

    cells: dict[str, TestCell] = {}
    apart: list[Flagged] = []
    graded = 0
    with Gradebook(batch.gradebook_url(course_root)) as gb:
        released = gb.find_assignment(assignment)
        notebooks = [nb.name for nb in released.notebooks]
        for name in notebooks:
            source = course_root / "solutions" / assignment / f"{name}.ipynb"
            if source.is_file():
                cells.update(test_cells(nbformat.read(source, as_version=4)))
        submissions = sorted(released.submissions, key=lambda s: s.student_id)
        for submission in submissions:
            student = submission.student_id
            state, note = export.status(submission)
            reasons = audit.probe_flags(course_root, assignment, student)
            if reasons or any(nb.flagged for nb in submission.notebooks):
                apart.append(Flagged(student, "flagged", "; ".join(reasons) or "flagged in the gradebook"))
            late = export.lateness(gb, assignment, student)
            if late is not None and late.seconds > 0:
                apart.append(Flagged(student, "late", late.words()))
            if state != export.GRADED:
                apart.append(Flagged(student, "dropped", note or state))
                continue
            graded += 1
            for nb in submission.notebooks:
                path = course_root / "autograded" / student / assignment / f"{nb.name}.ipynb"
                autograded = nbformat.read(path, as_version=4) if path.is_file() else nbformat.v4.new_notebook()
                for grade_id, cell in test_cells(autograded).items():
                    cells.setdefault(grade_id, cell)
                messages = symptoms(autograded)
                for grade in nb.grades:
                    if grade.name not in cells or grade.score is None or grade.score >= grade.max_score:
                        continue
                    cell = cells[grade.name]
                    cell.points = cell.points or float(grade.max_score)
                    cell.failed.append(student)
                    message = messages.get(grade.name, NO_MESSAGE)
                    cell.symptoms[group(message)] += 1
                    cell.example.setdefault(group(message), message)
    return AssignmentReport(assignment, len(submissions), graded, cells, apart)


def chart(report: AssignmentReport) -> bytes:
    """A horizontal bar chart (PNG): students who lost points on each test cell, out of the graded ones."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    cells = list(report.cells.values())
    figure = Figure(figsize=(8, 0.45 * len(cells) + 1.2))
    axes = figure.subplots()
    axes.barh([c.grade_id for c in cells], [len(c.failed) for c in cells], color="#c0504d")
    axes.invert_yaxis()
    axes.set_xlim(0, max(1, report.graded))
    axes.set_xlabel(f"students who lost points (of {report.graded} graded)")
    axes.set_title(f"{report.assignment}: what the class got wrong")
    axes.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def csv_rows(report: AssignmentReport) -> list[dict[str, object]]:
    """The report as rows of :data:`CSV_COLUMNS`: a row per test cell and symptom (most common first; one
    row with no symptom for a cell nobody failed), then a row per flagged, late or dropped submission."""
    rows = []
    for cell in report.cells.values():
        base = {"assignment": report.assignment, "kind": "test cell", "test_cell": cell.grade_id,
                "checks": cell.checks, "section": cell.section, "failed": len(cell.failed), "graded": report.graded}
        for key, count in cell.symptoms.most_common() or [("", "")]:
            rows.append({**base, "symptom": cell.example.get(key, ""), "count": count})
    rows += [{"assignment": report.assignment, "kind": f.kind, "student": f.student, "detail": f.detail}
             for f in report.apart]
    return rows


def render_html(report: AssignmentReport) -> str:
    """The report as one self-contained HTML page (the chart embedded as a PNG)."""
    e = html.escape
    png = base64.b64encode(chart(report)).decode()
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(report.assignment)}: what the class got "
             f"wrong</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
             f"td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}}"
             f"table{{border-collapse:collapse}}.n{{text-align:right}}</style></head><body>",
             f"<h1>{e(report.assignment)}: what the class got wrong</h1>",
             f"<p>{report.submissions} submission(s), {report.graded} graded; "
             f"{sum(f.kind == 'flagged' for f in report.apart)} flagged, "
             f"{sum(f.kind == 'late' for f in report.apart)} late, "
             f"{sum(f.kind == 'dropped' for f in report.apart)} dropped.</p>",
             f"<img alt='students who lost points, per test cell' src='data:image/png;base64,{png}'>",
             "<h2>Test cells</h2>"]
    for cell in report.cells.values():
        parts.append(f"<h3 id='{e(cell.grade_id)}'>{e(cell.grade_id)}: {len(cell.failed)} of {report.graded} "
                     f"lost points</h3><p>Checks: {e(cell.checks)}<br>Section to revisit: {e(cell.section or '?')}</p>")
        if cell.symptoms:
            parts.append("<table><tr><th class='n'>students</th><th>symptom (as the checks said it)</th></tr>")
            parts += [f"<tr><td class='n'>{count}</td><td>{e(cell.example[key])}</td></tr>"
                      for key, count in cell.symptoms.most_common()]
            parts.append("</table>")
    parts.append("<h2>Submissions to look at</h2>")
    if report.apart:
        parts.append("<table><tr><th>student</th><th>why</th><th>detail</th></tr>")
        parts += [f"<tr><td>{e(f.student)}</td><td>{f.kind}</td><td>{e(f.detail)}</td></tr>" for f in report.apart]
        parts.append("</table>")
    else:
        parts.append("<p>None: no submission was flagged, late or dropped.</p>")
    return "\n".join(parts) + "\n</body></html>\n"


def write_report(course_root: Path, assignment: str) -> tuple[Path, Path]:
    """Write ``class-reports/<assignment>.html`` and ``.csv`` for the course at ``course_root``."""
    report = gather(course_root, assignment)
    folder = course_root / REPORTS
    folder.mkdir(mode=0o700, exist_ok=True)
    page, table = folder / f"{assignment}.html", folder / f"{assignment}.csv"
    private_text(page, render_html(report))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(report))
    private_text(table, buffer.getvalue())
    return page, table


def write_reports(course_root: Path, assignments: list[str] | None = None) -> list[Path]:
    """Write the report of each of ``assignments`` (default: every one with submissions in the gradebook)."""
    from nbgrader.api import Gradebook

    from . import batch

    with Gradebook(batch.gradebook_url(course_root)) as gb:
        names = [a.name for a in gb.assignments if a.submissions and (assignments is None or a.name in assignments)]
    return [path for name in names for path in write_report(course_root, name)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_helpers.grading.report", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course (default: .)")
    parser.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    args = parser.parse_args(argv)
    paths = write_reports(args.root.resolve(), args.assignment)
    for path in paths:
        print(f"Class report: {path}")
    if not paths:
        print("No graded submissions in the gradebook yet: run make autograde first.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
