"""The Formgrader's Autograde button goes through the course's grading path and never blocks the server.

A real Jupyter server runs at the root of a scratch course with the course's server extension
(vae_helpers/grading/formgrader.py) enabled as `make setup` enables it. The button's request
grades a submission whose code sleeps for a while; a status request sent meanwhile must come back
while the grading is still going on (nbgrader alone grades inside the server, and the status
request waits for it). The grade must be the one `make autograde` gives, recorded the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from vae_helpers.grading import course, sandbox

pytestmark = pytest.mark.slow  # starts a Jupyter server and grades in a kernel

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, STUDENT, TOKEN = "02_reparameterization", "alice", "formgrader-test"
SLEEP = 30  # seconds the submission sleeps: the status request has all that time to come back


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, path: str, method: str = "GET", timeout: float = 600) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None,
                                 headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.fixture
def formgrader(tmp_path):
    """A Jupyter server with the Formgrader at the root of a released course with one submission."""
    if (why := sandbox.unavailable()) is not None:
        pytest.skip(why)
    root = course.make_scratch_course(ROOT, tmp_path / "course")
    course.release(root, [ASSIGNMENT])
    nb = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.id == "reparameterize")
    cell.source = f"import time\n\ntime.sleep({SLEEP})\n\n" + cell.source
    target = root / "submitted" / STUDENT / ASSIGNMENT
    target.mkdir(parents=True)
    nbformat.write(nb, target / f"{ASSIGNMENT}.ipynb")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--allow-root"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"), start_new_session=True)
    try:
        deadline = time.monotonic() + 600  # a safety net: a busy machine starts servers slowly
        while True:
            try:
                request(port, "/formgrader/api/status", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        yield root, port, tmp_path / "server.log"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_the_autograde_button_grades_in_the_sandbox_without_blocking_the_server(formgrader):
    root, port, log = formgrader
    answer: dict = {}
    button = threading.Thread(target=lambda: answer.update(
        request(port, f"/formgrader/api/submission/{ASSIGNMENT}/{STUDENT}/autograde", "POST")))
    button.start()
    jobs = list(root.parent.glob("vae-job-*"))
    while not jobs and button.is_alive():  # the job's folder: grading has started
        time.sleep(0.2)
        jobs = list(root.parent.glob("vae-job-*"))
    assert jobs, f"the grading job never started: {answer}"
    assert request(port, "/formgrader/api/status") == {"status": True}
    assert button.is_alive(), "the server answered only after grading: the button blocked it"
    button.join(timeout=900)
    assert answer["success"], answer
    assert f"{STUDENT}/{ASSIGNMENT}: 11 / 11" in answer["log"]
    assert "graded by the course's grading path" in answer["log"]
    with course.gradebook(root) as gb:
        assert gb.find_submission(ASSIGNMENT, STUDENT).score == 11
    assert (root / "autograded" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    assert list((root / "autograde-reports").glob("*.txt")), "the run's report is kept like make autograde's"
    assert "the Formgrader's Autograde button uses the course's sandboxed grading" in log.read_text()
