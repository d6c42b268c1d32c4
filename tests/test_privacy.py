"""Class data is the instructor's on a shared machine: a second OS user reads none of it.

A course is released, one submission collected and graded by `make autograde`'s code, a roster and
an old export (made by hand, world-readable) lie around, and the assignment is released to the
exchange. Then a throwaway OS user (made with useradd, so only when the suite runs as root) tries
to read every piece of class data by path, and must fail; it can still fetch from the exchange.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import nbformat
import pytest

import grading_batch
from vae_helpers.grading import course, privacy, sandbox

try:
    import pwd
except ImportError:  # Windows: no OS users to switch to, and pytest -m "not slow" still collects this file
    pytest.skip("needs POSIX users (the pwd module)", allow_module_level=True)

ASSIGNMENT = "02_reparameterization"


def test_class_data_is_made_private_and_the_rest_left_alone(tmp_path):
    """Without a second user: the rights themselves (group and others get nothing)."""
    (tmp_path / "submitted" / "bob").mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / "a.ipynb").write_text("{}")
    (tmp_path / "gradebook.db").write_text("")
    (tmp_path / "notebooks").mkdir()
    for path in tmp_path.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    privacy.make_private(tmp_path)
    for path in [tmp_path / "submitted", tmp_path / "submitted" / "bob", tmp_path / "submitted" / "bob" / "a.ipynb",
                 tmp_path / "gradebook.db"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert stat.S_IMODE((tmp_path / "notebooks").stat().st_mode) == 0o755
    old = privacy.private_umask()
    try:
        (tmp_path / "new.txt").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o600


@pytest.fixture
def throwaway_user():
    """A new OS user with no rights on anything here; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to add a second OS user (useradd); the suite runs as root in .ci/run")
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("needs useradd and setpriv (util-linux) to act as a second OS user")
    name = f"vae-st-{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def as_user(user, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
                           *command], capture_output=True, text=True)


@pytest.fixture
def shared_folder():
    """A folder every user can pass through, as a course's on a shared machine (pytest's own are private)."""
    folder = Path(tempfile.mkdtemp(prefix="vae-shared-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow  # releases and grades a notebook: left out of `make quick`
def test_a_second_user_reads_no_class_data_but_can_fetch(throwaway_user, shared_folder):
    root = course.make_scratch_course(grading_batch.ROOT, shared_folder / "course")
    root.chmod(0o755)
    assert as_user(throwaway_user, "ls", str(root / "solutions")).returncode == 0  # the user could read, before
    course.release(root, [ASSIGNMENT])  # as a fresh clone would, with the usual umask: world-readable
    blank = nbformat.read(root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    course.submit(root, "alice", ASSIGNMENT, root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nbformat.write(blank, root / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (root / "roster.csv").write_text("id,first_name,last_name,email\nalice,Alice,A,alice@example.org\n")
    (root / "grades.csv").write_text("assignment,student_id,score\n")  # an export made by hand earlier
    for path in [root / "gradebook.db", root / "roster.csv", root / "grades.csv", *(root / "submitted").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    args = ["autograde", "--root", str(root), "--workers", "1"]
    if sandbox.unavailable() is not None:
        args += ["--sandbox", "off"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert course.main(args) == 0, printed.getvalue()
    old = privacy.private_umask()  # as `make` would run it, through the course's entry points
    try:
        run = course.nbgrader(root, "release_assignment", ASSIGNMENT, "--force")
    finally:
        os.umask(old)
    assert run.returncode == 0, run.stdout + run.stderr
    class_data = [root / "gradebook.db", root / "roster.csv", root / "grades.csv",
                  root / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                  root / "autograded" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                  *(p for p in (root / "autograde-reports").rglob("*") if p.is_file()),
                  *(p for p in (root / "class-reports").rglob("*") if p.is_file())]
    assert all(p.exists() for p in class_data) and len(class_data) > 7, class_data
    for path in class_data:
        read = as_user(throwaway_user, "cat", str(path))
        assert read.returncode != 0 and "Permission denied" in read.stderr, path
    for folder in ("submitted", "autograded", "autograde-reports", "class-reports"):
        assert as_user(throwaway_user, "ls", str(root / folder)).returncode != 0, folder
    assert as_user(throwaway_user, "ls", str(root)).returncode == 0  # the course folder stays traversable
    released = root / "exchange" / "vae-course" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    fetched = as_user(throwaway_user, "cat", str(released))
    assert fetched.returncode == 0 and '"cells"' in fetched.stdout, fetched.stderr
