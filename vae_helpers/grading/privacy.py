"""Class data is the instructor's: on a shared machine, no student reads another's work, or anyone's grades.

The grading entry points (``python -m vae_helpers.grading.course release|collect|autograde``, so the
``make`` targets) create files with ``umask 077`` and, when they end, take every permission of group
and others off the class data already there (:data:`CLASS_DATA`: the gradebook, the submissions,
their autograded versions and feedback, reports, exports, the roster). The course folder itself stays
traversable, and the exchange keeps the permissions nbgrader gives it (it sets them explicitly), so
students still fetch and submit.
"""

from __future__ import annotations

import os
from pathlib import Path

CLASS_DATA = ("gradebook.db", "gradebook.db-journal", "submitted", "autograded", "feedback", "autograde-reports",
              "class-reports", "grades.csv", "grades-canvas.csv", "grades-moodle.csv", "roster.csv")
PRIVATE = 0o077  # the permission bits of group and others


def private_umask() -> int:
    """From now on, this process and the ones it starts create files readable by this user only; returns the old umask."""
    return os.umask(PRIVATE)


FOLDERS_ONLY = ("feedback",)  # files keep their rights: nbgrader release_feedback copies them, rights and all,
# into the exchange, where each student fetches theirs; their closed folders keep them private here


def make_private(course_root: Path) -> list[Path]:
    """Take group's and others' permissions off the class data in ``course_root`` (recursively; in ``feedback/``
    off its folders only); the paths changed."""
    changed = []
    for name in CLASS_DATA:
        top = course_root / name
        if not top.exists() or top.is_symlink():
            continue
        paths = [top] + (sorted(top.rglob("*")) if top.is_dir() else [])
        for path in paths:
            if path.is_symlink() or (name in FOLDERS_ONLY and not path.is_dir()):
                continue
            mode = path.stat().st_mode
            if mode & PRIVATE:
                path.chmod(mode & ~PRIVATE & 0o7777)
                changed.append(path)
    return changed


def private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (its folders made if needed), readable and writable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was there before, with other rights
    with os.fdopen(fd, "w", newline="") as f:
        f.write(text)
