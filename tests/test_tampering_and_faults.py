"""A mixed batch (right, wrong, tampered, faulty, hostile) graded by `make autograde`'s own code.

`make autograde WORKERS=2`: two submissions at a time, each kernel in the bubblewrap sandbox.
The expected scores are read from the tables in docs/grading.md, so the documentation
is what is tested. The hostile submissions attack the grader (its files, the gradebook, the
network, memory, processes, the disk, time, its own process); each must stay contained, with
the error the documentation names, while every other file of the course stays byte-identical.
Also: the same submission autograded five times gets the same grade.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import grading_batch
from vae_helpers.grading import audit, course, export, jobs, sandbox

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

ASSIGNMENT = "02_reparameterization"
VISIBLE = "test-reparameterize-basics"

WRONG = '''def reparameterize(mu, logvar):
    """Draws with torch.normal: the right values, but no gradient flows back."""
    return torch.normal(mu, torch.exp(0.5 * logvar))
'''

ALWAYS_EQUAL = '''class AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True


def reparameterize(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar)).as_subclass(AlwaysEqual)
'''

REDEFINED_CHECKS = WRONG + '''

def check_reparameterize_basics(reparameterize):
    print("\N{CHECK MARK} reparameterize passed")


def close(a, b, **kwargs):
    return True


def fail(message):
    pass
'''

STDERR_NOISE = '''import sys
import warnings

warnings.warn("a warning at the top of the cell")
print("a note to stderr", file=sys.stderr)


def reparameterize(mu, logvar):
    warnings.warn("a warning on every call")
    print("debugging to stderr", file=sys.stderr)
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
'''


# Code that attacks the grader, run before score_function_gradient's answer (so its error leaves
# score_function_gradient undefined: 6 / 11), and the error it must end with. COURSE is the class
# course's folder and PORT a port the test listens on: the attacker is assumed to know both.
HOSTILE = {
    "reads-others": ('print(open(COURSE + "/submitted/correct/02_reparameterization/02_reparameterization.ipynb")'
                     '.read())', "FileNotFoundError"),
    "vandal": ('import shutil\n\nopen(COURSE + "/gradebook.db", "ab").write(b"graded by me")\n'
               'shutil.rmtree(COURSE + "/submitted")', "FileNotFoundError"),
    "phones-home": ('import socket\n\nsocket.create_connection(("127.0.0.1", PORT), timeout=10).sendall(b"answers")',
                    "ConnectionRefusedError"),
    "memory-hog": ("hog = []\nwhile True:\n    hog.append(bytearray(256 * 1024**2))", "MemoryError"),
    "fork-bomb": ('import subprocess\n\nchildren = [subprocess.Popen(["sleep", "654"]) for _ in range(100_000)]',
                  "BlockingIOError"),
    "disk-filler": ('import itertools\n\nfor i in itertools.count():\n    with open(f"/tmp/fill-{i}", "wb") as f:\n'
                    '        f.write(bytes(64 * 1024**2))', "OSError"),
    "sleeps-forever": ("import time\n\ntime.sleep(10**9)", "CellTimeoutError"),
    "kills-parent": ("import os\nimport signal\n\nos.kill(os.getppid(), signal.SIGKILL)", "PermissionError"),
}


# Flagged for review: tampering found in the code (audit.py), or probing seen by the sandbox (confine.py)
FLAGGED = {"redefines-checks", "patches-checks", "always-equal", "patches-allclose", "kernel-crash", "kills-parent",
           "reads-others", "vandal", "phones-home", "fork-bomb"}


def documented_scores() -> dict[str, str]:
    """{student: score text} from the mixed-batch table of docs/grading.md."""
    text = (grading_batch.ROOT / "docs" / "grading.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` \|.*\| (\d+ / 11|dropped) \|$", text, re.M)
    assert len(rows) >= 15, "the mixed-batch table in docs/grading.md was not found"
    return dict(rows)


def mixed_batch(released, course_dir=None, port=0) -> dict[str, nbformat.NotebookNode | str]:
    """The mixed batch of docs/grading.md: {student: submitted notebook, or the text of a broken file};
    the hostile ones aim at the class course in ``course_dir`` and at ``port``."""
    solution = grading_batch.solution_notebook(released, ASSIGNMENT)
    source = {c.id: c.source for c in solution.cells}
    blank = nbformat.read(released / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)

    def answer(code: str, cell: str = "reparameterize", nb=None):
        return grading_batch.with_cell(nb or solution, cell, code)

    def wrong_with_visible_test(change):
        nb = answer(WRONG)
        index = next(i for i, c in enumerate(nb.cells) if c.id == VISIBLE)
        change(nb, index)
        return nb

    def duplicate(nb, index):
        copy = nbformat.from_dict(nb.cells[index])  # what copy and paste in Jupyter makes:
        copy.id, copy.source = "pasted-copy", "pass"  # a new cell id, the same nbgrader metadata
        nb.cells.insert(index + 1, copy)

    def retype(nb, index):
        cell = nb.cells[index]
        nb.cells[index] = nbformat.v4.new_markdown_cell(cell.source, id=cell.id, metadata=cell.metadata)

    return {
        "correct": solution,
        "blank": blank,
        "wrong": answer(WRONG),
        "deletes-test": wrong_with_visible_test(lambda nb, i: nb.cells.pop(i)),
        "edits-test": wrong_with_visible_test(lambda nb, i: setattr(nb.cells[i], "source", "pass")),
        "duplicates-test": wrong_with_visible_test(duplicate),
        "retypes-test": wrong_with_visible_test(retype),
        "redefines-checks": answer(REDEFINED_CHECKS),
        "patches-checks": answer(WRONG + "\n\nimport vae_helpers.checks\n"
                                 "vae_helpers.checks.check_reparameterize_basics = lambda f: None\n"),
        "always-equal": answer(ALWAYS_EQUAL),
        "patches-allclose": answer(WRONG + "\n\ntorch.allclose = lambda *args, **kwargs: True\n"),
        "infinite-loop": answer("while True:\n    pass\n\n" + source["score-function"], "score-function"),
        "kernel-crash": answer("import os\n\nos._exit(1)\n\n" + source["score-function"], "score-function"),
        "output-flood": answer("for i in range(100_000):\n    print('line', i)\n\n" + source["reparameterize"]),
        "stderr-noise": answer(STDERR_NOISE),
        "huge-allocation": answer("big = torch.empty(10**13)\n\n" + source["score-function"], "score-function"),
        "early-exception": answer('raise ValueError("not finished")\n\n' + source["reparameterize"]),
        "garbled": nbformat.writes(solution)[:500],  # a file cut short in the upload
        **{student: answer(f"COURSE, PORT = {str(course_dir)!r}, {port}\n{code}\n\n" + source["score-function"],
                           "score-function") for student, (code, _) in HOSTILE.items()},
    }


def fingerprints(folder) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def class_graded(released, tmp_path_factory):
    """The mixed batch submitted to a copy of the released course and graded as `make autograde
    WORKERS=2` does, with a listener on a local port for the hostile ones to call.

    Returns (course directory, what it printed, its exit status, the course's files before grading
    {path: sha256}, the connections the listener received).
    """
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    course_dir = tmp_path_factory.mktemp("mixed") / "course"
    shutil.copytree(released, course_dir)
    with open(course_dir / "nbgrader_config.py", "a") as f:
        # The course allows 600 s; the test need not wait that long for the infinite loop. Honest
        # cells of 02 take about 1 s, so 60 s holds on a loaded machine too.
        f.write("\nc.Execute.timeout = 60\n")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        for student, nb in mixed_batch(released, course_dir, listener.getsockname()[1]).items():
            target = course_dir / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            target.parent.mkdir(parents=True)
            target.write_text(nb if isinstance(nb, str) else nbformat.writes(nb))
        before = fingerprints(course_dir)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # what `make autograde WORKERS=2 AUTOGRADE_ARGS="--memory 2"` runs
            status = course.main(["autograde", "--root", str(course_dir), "--workers", "2", "--memory", "2"])
        calls = []
        with contextlib.suppress(BlockingIOError):
            calls.append(listener.accept())
    return course_dir, printed.getvalue(), status, before, calls


def test_the_documented_batch_is_the_tested_batch(released):
    assert set(documented_scores()) == set(mixed_batch(released))


def test_every_submission_gets_its_documented_score(class_graded):
    course_dir, printed, *_ = class_graded
    measured = {}
    with course.gradebook(course_dir) as gb:
        for student in documented_scores():
            submission = gb.find_submission(ASSIGNMENT, student)
            graded = export.status(submission)[0] == export.GRADED
            measured[student] = f"{submission.score:g} / 11" if graded else "dropped"
    assert measured == documented_scores(), printed


def test_make_autograde_reports_the_dropped_submission_and_grades_the_rest(class_graded):
    _, printed, status, *_ = class_graded
    assert status == 1  # a dropped submission makes `make autograde` exit with status 1
    assert re.search(r"^!! kernel-crash/02_reparameterization: nbgrader dropped this submission "
                     r"\(.*DeadKernelError.*killed the Python kernel.*\); the others are graded\.$", printed, re.M)
    assert re.search(r"^!! garbled/02_reparameterization: nbgrader dropped this submission "
                     r"\(.*NotJSONError.*not a readable notebook.*\); the others are graded\.$", printed, re.M)
    assert f"Graded {len(documented_scores()) - 2} of {len(documented_scores())} submission(s)" in printed
    assert "Sandbox: on (memory 2 GiB, 256 processes" in printed
    assert "Dropped by nbgrader, not graded: garbled/02_reparameterization, kernel-crash/02_reparameterization" \
        in printed
    for student, score in documented_scores().items():
        if score != "dropped":
            assert re.search(rf"^{student}/02_reparameterization: {score} \(", printed, re.M), student


def test_tampering_is_flagged_for_review_and_honest_work_is_not(class_graded):
    course_dir, printed, *_ = class_graded
    flagged = dict(re.findall(r"^   review ([\w-]+)/02_reparameterization: its code (.*)$", printed, re.M))
    assert set(flagged) == FLAGGED, printed
    assert "defines check_reparameterize_basics" in flagged["redefines-checks"]
    assert "assigns to vae_helpers.checks.check_reparameterize_basics" in flagged["patches-checks"]
    assert "assigns to torch.allclose" in flagged["patches-allclose"]
    assert "AlwaysEqual defines __eq__" in flagged["always-equal"]
    assert "os._exit" in flagged["kernel-crash"]
    assert "os.kill" in flagged["kills-parent"]
    # probing, seen by the sandbox although it stopped each attempt and the code did not catch the error
    assert f"opened {course_dir}/submitted/correct/02_reparameterization/02_reparameterization.ipynb" \
        in flagged["reads-others"]
    assert f"opened {course_dir}/gradebook.db (outside its folder)" in flagged["vandal"]
    assert "used the network (socket.connect" in flagged["phones-home"]
    assert "started a process" in flagged["fork-bomb"]
    assert "sent a signal to process" in flagged["kills-parent"]
    for student in FLAGGED:  # the reasons, for the export and the class report
        assert audit.probe_flags(course_dir, ASSIGNMENT, student) == flagged[student].split("; "), student
    with course.gradebook(course_dir) as gb:  # where the Formgrader shows it ("Flagged?")
        marked = {sub.student_id for sub in gb.find_assignment(ASSIGNMENT).submissions
                  if any(nb.flagged for nb in sub.notebooks)}
    assert marked == set(flagged)  # kernel-crash too: it is in the gradebook, to be graded by hand


def test_the_export_tells_earned_scores_from_submissions_to_grade_by_hand(class_graded):
    """The course's `nbgrader export`: a dropped submission is "needs grading by hand" with the reason
    and no score (nbgrader's own CSV gives it 0.0, like an earned zero); flags are in a column."""
    course_dir, *_ = class_graded
    run = course.nbgrader(course_dir, "export", "--to", "export.csv")
    assert run.returncode == 0, run.stdout + run.stderr
    with open(course_dir / "export.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}
    assert set(rows) == set(documented_scores())
    for student, documented in documented_scores().items():
        row = rows[student]
        if documented == "dropped":
            assert (row["status"], row["score"], row["raw_score"]) == ("needs grading by hand", "", ""), row
            assert row["note"].startswith("Not autograded: "), row
        else:
            assert row["status"] == "graded" and f"{float(row['score']):g} / 11" == documented, row
    assert "killed the Python kernel" in rows["kernel-crash"]["note"]
    assert "not a readable notebook" in rows["garbled"]["note"]
    assert {s for s, row in rows.items() if row["flagged"] == "yes"} == FLAGGED


def errors_of(course_dir, student) -> dict[str, str]:
    """{cell id: "ename: evalue"} of the errors in ``student``'s autograded notebook."""
    nb = nbformat.read(course_dir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return {c.id: f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"}


def test_every_hostile_submission_is_stopped_where_docs_grading_says(class_graded):
    course_dir, *_ = class_graded
    stopped = {student: errors_of(course_dir, student).get("score-function", "no error") for student in HOSTILE}
    assert {s: e.split(":")[0] for s, e in stopped.items()} == {s: e for s, (_, e) in HOSTILE.items()}, stopped
    assert "No space left on device" in stopped["disk-filler"]


def test_hostile_submissions_change_no_file_and_reach_no_one(class_graded):
    """Every file of the course as it was before grading is byte-identical after it (grading adds
    autograded/, feedback material and reports, and writes grades through the gradebook's one
    writer); the listener got no call; no process the fork bomb started outlives its kernel."""
    course_dir, _, _, before, calls = class_graded
    after = fingerprints(course_dir)
    changed = sorted(path for path, digest in before.items() if after.get(path) != digest and path != "gradebook.db")
    assert changed == []
    assert calls == []
    leftovers = subprocess.run(["pgrep", "-f", "sleep 654"], capture_output=True, text=True).stdout.split()
    assert leftovers == []


def test_tampered_checks_say_why_they_refuse(class_graded):
    course_dir, *_ = class_graded

    assert "This notebook replaced torch.allclose" in errors_of(course_dir, "patches-allclose")[VISIBLE]
    assert "subclass of torch.Tensor" in errors_of(course_dir, "always-equal")[VISIBLE]
    restored = nbformat.read(course_dir / "autograded" / "deletes-test" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                             as_version=4)
    assert any("was missing from the submission" in c.source for c in restored.cells)


def test_the_same_submission_autograded_five_times_gets_the_same_grade_and_feedback(released, tmp_path):
    """Statistical checks seed themselves: a borderline wrong answer gets the same verdict every time."""
    import answer_suites

    course_dir = tmp_path / "course"
    shutil.copytree(released, course_dir)
    lean = grading_batch.lean_notebook(course_dir, ASSIGNMENT)
    nb = grading_batch.with_cell(lean, "score-function",
                                 answer_suites.plant(answer_suites.rep.uniform_samples, "score_function_gradient"))
    (course_dir / "submitted" / "student" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, course_dir / "submitted" / "student" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    runs = []
    for _ in range(5):
        course.autograde(course_dir, ASSIGNMENT, "student")
        outcome = grading_batch.read_outcome(course_dir, ASSIGNMENT, "student")
        runs.append({cell: (r.score, r.error, r.text) for cell, r in outcome.cells.items()})
    assert 0 < sum(score for score, _, _ in runs[0].values()) < 11
    assert all(run == runs[0] for run in runs[1:])


def test_without_bubblewrap_make_autograde_refuses_unless_the_sandbox_is_turned_off(released, tmp_path, monkeypatch):
    """No bwrap: `make autograde` grades nothing and says how to install it; `SANDBOX=off` grades,
    and its summary says student code ran unconfined."""
    course_dir = tmp_path / "course"
    shutil.copytree(released, course_dir)
    blank = course_dir / "submitted" / "blank" / ASSIGNMENT
    blank.mkdir(parents=True)
    shutil.copy(released / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", blank)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = course.main(["autograde", "--root", str(course_dir)])
    assert status == 1
    assert "refuses to run student code unconfined" in printed.getvalue()
    assert "apt-get install bubblewrap" in printed.getvalue() and "SANDBOX=off" in printed.getvalue()
    assert not (course_dir / "autograded").exists()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = course.main(["autograde", "--root", str(course_dir), "--sandbox", "off"])
    assert status == 0, printed.getvalue()
    assert "blank/02_reparameterization: 0 / 11" in printed.getvalue()
    assert "Sandbox: OFF (SANDBOX=off): student code ran with your rights" in printed.getvalue()
    report = next((course_dir / "autograde-reports").iterdir()).read_text()
    assert "Sandbox: OFF" in report and "blank/02_reparameterization: 0 / 11" in report


def test_nbgrader_warns_about_restored_cells_only_when_a_student_edited_one(released, tmp_path):
    """Honest work logs no "checksum has changed" (plain nbgrader warns for every cell with hidden
    tests, jupyter/nbgrader#1961); an edited test cell still does, and gets its code back."""
    course_dir = tmp_path / "course"
    shutil.copytree(released, course_dir)
    honest = nbformat.read(course_dir / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    edited = grading_batch.with_cell(honest, VISIBLE, "pass")
    for student, nb in (("honest", honest), ("edited", edited)):
        target = course_dir / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{ASSIGNMENT}.ipynb")
    logs = {student: course.nbgrader(course_dir, "autograde", ASSIGNMENT, "--student", student, "--force")
            for student in ("honest", "edited")}
    assert all(run.returncode == 0 for run in logs.values()), logs
    assert "has changed" not in logs["honest"].stdout + logs["honest"].stderr
    warned = re.findall(r"Attribute '(\w+)' for cell ([\w-]+) has changed", logs["edited"].stdout + logs["edited"].stderr)
    assert warned == [("checksum", VISIBLE)]


def test_nbgrader_autograde_typed_by_hand_runs_student_code_in_the_sandbox(released, tmp_path):
    """Not only `make autograde`: a plain `nbgrader autograde` starts the kernel in the sandbox
    (nbgrader_config.py), VAE_SANDBOX=off runs it unconfined, and without bubblewrap it refuses
    and says how to install it."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    course_dir = tmp_path / "course"
    shutil.copytree(released, course_dir)
    probe = (f"import os\nprint('HOME=' + os.environ['HOME'], 'gradebook visible:', "
             f"os.path.exists({str(course_dir / 'gradebook.db')!r}))\n\n")
    solution = grading_batch.solution_notebook(course_dir, ASSIGNMENT)
    cell = next(c for c in solution.cells if c.id == "reparameterize")
    submission = grading_batch.with_cell(solution, "reparameterize", probe + cell.source)
    for student in ("confined", "unconfined", "no-bwrap"):
        target = course_dir / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(submission, target / f"{ASSIGNMENT}.ipynb")
    environment = jobs.nbgrader_environment()
    runs = {
        "confined": environment,
        "unconfined": {**environment, "VAE_SANDBOX": "off"},
        "no-bwrap": {**environment, "PATH": str(Path(sys.executable).parent)},  # bwrap is not on this PATH
    }
    printed = {}
    for student, env in runs.items():
        run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", student, "--force"],
                             cwd=course_dir, env=env, capture_output=True, text=True)
        printed[student] = run.stdout + run.stderr
    shown = {student: "".join(o.get("text", "") for c in nbformat.read(
                 course_dir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).cells
                 if c.id == "reparameterize" for o in c.outputs)
             for student in ("confined", "unconfined")}
    assert shown["confined"] == "HOME=/tmp gradebook visible: False\n", printed["confined"][-3000:]
    assert "gradebook visible: True" in shown["unconfined"]
    assert not (course_dir / "autograded" / "no-bwrap" / ASSIGNMENT).exists()
    assert "the sandbox, which cannot start here: bubblewrap (bwrap) is not installed" in printed["no-bwrap"]
    assert "apt-get install bubblewrap" in printed["no-bwrap"] and "VAE_SANDBOX=off" in printed["no-bwrap"]
