"""The Formgrader's Autograde button, through the course's grading path (a Jupyter server extension).

nbgrader's Formgrader grades a submission inside the Jupyter server when its Autograde button is
pressed: the student's code runs with the instructor's rights, without the sandbox, and the server
answers nobody until it is done (a status request waited 3 to 4 s per submission). With this
extension on, the button runs the same sandboxed job as ``make autograde`` for that one
submission, in a worker thread, so the server keeps answering while it grades. The scores, the
flag for review, the report in ``autograde-reports/`` and the message when a submission cannot be
graded are those of ``make autograde``. Where the sandbox cannot run, the button says why instead
of grading (as ``make autograde`` refuses).

``make setup`` turns it on for every Jupyter server of the course's environment, by copying
``jupyter-config/vae-course.json`` into ``<environment>/etc/jupyter/jupyter_server_config.d/``
(do the same on a JupyterHub image, or pass
``--ServerApp.jpserver_extensions="{'vae_helpers.grading.formgrader': True}"``).
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

from nbgrader.server_extensions.formgrader import apihandlers
from tornado import web

from . import batch

GRADED_BY = "graded by the course's grading path (vae_helpers.grading): sandboxed, one job"


def grade_one(root: Path, assignment: str, student: str) -> dict:
    """Autograde one submission of the course at ``root`` as ``make autograde`` does; the Formgrader's
    answer: ``success``, ``log`` (the lines ``make autograde`` prints) and, on failure, ``error``."""
    refused = batch.refusal(sandbox=True)
    if refused:
        return {"success": False, "error": refused, "log": refused}
    lines: list[str] = []
    grades = batch.grade_class(root, [(student, assignment)], workers=1, say=lines.append)
    lines.append(f"({GRADED_BY}; report: {batch.write_report(root, lines)})")
    grade = grades[0]
    answer = {"success": grade.score is not None, "log": "\n".join(lines)}
    if grade.score is None:
        answer["error"] = f"nbgrader could not grade this submission: {grade.problem}"
    return answer


@web.authenticated
@apihandlers.check_xsrf
@apihandlers.check_notebook_dir
async def post(self, assignment_id: str, student_id: str) -> None:
    """POST /formgrader/api/submission/<assignment>/<student>/autograde, without blocking the server."""
    root = Path(self.coursedir.root)
    answer = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(grade_one, root, assignment_id, student_id))
    self.write(json.dumps(answer))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "vae_helpers.grading.formgrader"}]


def _load_jupyter_server_extension(serverapp) -> None:
    # Handlers are looked up on the class at each request, so replacing the method reroutes the
    # button whichever extension registered its URL first.
    apihandlers.AutogradeHandler.post = post
    serverapp.log.info("vae-course: the Formgrader's Autograde button uses the course's sandboxed grading")
