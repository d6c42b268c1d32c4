"""The grading sandbox from the inside: a sandboxed kernel, probed cell by cell.

One kernel serves the module (as nbgrader would start it, from a notebook's folder); each test
runs code in it and looks at what came back. Needs bubblewrap (skipped otherwise, saying how to
install it); `.ci/run` installs it.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from vae_helpers.grading import sandbox

pytestmark = pytest.mark.slow  # starts a kernel: left out of `make quick`

if (REASON := sandbox.unavailable()) is not None:
    pytest.skip(REASON, allow_module_level=True)

from vae_helpers.grading import course  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MIB = sandbox.MIB
LIMITS = sandbox.Limits(memory=1024 * MIB, processes=64, disk=64 * MIB, file_size=16 * MIB)


class Kernel:
    """A sandboxed kernel and a client that runs code and returns (printed text, error name)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.manager = sandbox.BlockingSandboxedKernelManager(
            kernel_name="python3", memory=LIMITS.memory, processes=LIMITS.processes, disk=LIMITS.disk,
            file_size=LIMITS.file_size)
        self.manager.start_kernel(cwd=str(workdir))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=course.KERNEL_WAIT)

    def run(self, code: str, interrupt_after: float | None = None) -> tuple[str, str]:
        msg_id = self.client.execute(code)
        if interrupt_after is not None:
            threading.Timer(interrupt_after, self.manager.interrupt_kernel).start()
        printed, error = [], ""
        while True:
            msg = self.client.get_iopub_msg(timeout=course.KERNEL_WAIT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(printed), error

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        assert not Path(self.manager.ip).parent.exists()  # its sockets and connection file are gone


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("notebook")
    (workdir / "data.txt").write_text("the notebook's own folder")
    (workdir.parent / "another-student.ipynb").write_text("not for this kernel's eyes")
    workdir.chmod(0o755)
    k = Kernel(workdir)
    yield k
    k.stop()


def test_the_kernel_reads_its_own_folder_and_the_course_but_writes_nowhere_but_tmp(kernel):
    printed, error = kernel.run("import vae_helpers.checks, torch\nprint(open('data.txt').read())")
    assert (printed.strip(), error) == ("the notebook's own folder", "")
    assert "Read-only file system" in kernel.run("open('new.txt', 'w')")[1]
    printed, error = kernel.run("open('/tmp/scratch.txt', 'w').write('ok')\nprint(open('/tmp/scratch.txt').read())")
    assert (printed.strip(), error) == ("ok", "")
    assert not Path("/tmp/scratch.txt").exists()  # the kernel's /tmp is its own


def test_the_kernel_sees_none_of_the_instructors_files(kernel):
    for path in [ROOT / "solutions", ROOT / "tests", ROOT / "nbgrader_config.py",
                 kernel.workdir.parent / "another-student.ipynb", Path("/var")]:
        assert path.exists()  # here, outside
        printed, error = kernel.run(f"import os\nprint(os.path.exists({str(path)!r}))")
        assert (printed.strip(), error) == ("False", ""), path


def test_the_kernel_runs_as_nobody_in_particular_without_capabilities(kernel):
    printed, _ = kernel.run("import os\nprint(os.getuid())\nprint(open('/proc/self/status').read())")
    uid, status = printed.split("\n", 1)
    capabilities = dict(line.split(":\t") for line in status.splitlines() if line.startswith("Cap"))
    assert capabilities["CapEff"] == capabilities["CapPrm"] == "0000000000000000"
    if os.geteuid() == 0:
        assert int(uid) >= 60000


def test_the_kernel_has_no_network():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        k = Kernel(Path(os.getcwd()))  # a fresh kernel: the listener must exist before it starts
        try:
            _, error = k.run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)")
            assert error.startswith(("ConnectionRefusedError", "OSError", "TimeoutError")), error
            _, error = k.run("import socket\nsocket.getaddrinfo('pypi.org', 443)")
            assert error.startswith("gaierror"), error
        finally:
            k.stop()
        with pytest.raises(socket.timeout):
            server.accept()


def test_memory_processes_disk_and_file_size_are_limited(kernel):
    assert kernel.run("hog = bytearray(2 * 1024**3)")[1].startswith("MemoryError")
    _, error = kernel.run("import subprocess\nkids = []\nfor _ in range(1000):\n"
                          "    kids.append(subprocess.Popen(['sleep', '60']))")
    assert error.startswith("BlockingIOError"), error
    printed, _ = kernel.run("print(len(kids))\nfor kid in kids:\n    kid.kill()\n    kid.wait()")
    assert 0 < int(printed) < LIMITS.processes  # threads count too
    _, error = kernel.run("for i in range(100):\n    open(f'/tmp/fill{i}', 'wb').write(bytes(8 * 1024**2))")
    assert "No space left on device" in error, error
    _, error = kernel.run("import glob, os\nfor path in glob.glob('/tmp/fill*'):\n    os.remove(path)\n"
                          "open('/tmp/big', 'wb').write(bytes(32 * 1024**2))")
    assert "File too large" in error, error


def test_the_kernel_cannot_kill_the_grader_and_a_runaway_cell_is_interrupted(kernel):
    assert kernel.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")[1].startswith("PermissionError")
    start = time.monotonic()
    assert kernel.run("import time\ntime.sleep(10**6)", interrupt_after=2)[1].startswith("KeyboardInterrupt")
    assert time.monotonic() - start < 600  # interrupted, not finished (the sleep is eleven days long)
    assert kernel.run("print('still here')")[0].strip() == "still here"


def test_a_missing_bubblewrap_is_explained(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    why = sandbox.unavailable()
    assert "bubblewrap (bwrap) is not installed" in why and "apt-get install bubblewrap" in why
    assert "SANDBOX=off" in why


def test_a_kernel_that_dies_at_start_says_why(monkeypatch, caplog, tmp_path):
    """The issue-27 case: the sandbox hid the course package, so the kernel could not even start its
    confinement. nbgrader only says "Kernel died before replying to kernel_info"; the manager logs
    the kernel's own last words, and a dropped job's problem quotes them."""
    shown = sandbox.readable()
    package = Path(sandbox.vae_helpers.__file__).resolve().parent
    assert package in shown
    monkeypatch.setattr(sandbox, "readable", lambda: [folder for folder in shown if folder != package])
    manager = sandbox.BlockingSandboxedKernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        with caplog.at_level("ERROR"), pytest.raises(RuntimeError, match="Kernel died before replying"):
            client.wait_for_ready(timeout=course.KERNEL_WAIT)
        assert "No module named 'vae_helpers'" in manager.last_words()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    told = [r.getMessage() for r in caplog.records if sandbox.DIED in r.getMessage()]
    assert len(told) == 1 and "No module named 'vae_helpers'" in told[0], told
    from vae_helpers.grading import jobs

    log = (f"[AutogradeApp | ERROR] {told[0]}\n[AutogradeApp | ERROR] Error occurred while starting new kernel "
           f"client: Kernel died before replying to kernel_info\n    RuntimeError: Kernel died before replying to kernel_info\n")
    problem = jobs.why_dropped(log, 1)
    assert "died as it started" in problem and "No module named 'vae_helpers'" in problem, problem


def test_a_second_clone_of_the_course_grades_with_this_environment(tmp_path, monkeypatch):
    """One environment, two clones: the grader imports the course package of the clone it grades
    (here through PYTHONPATH), while the environment's editable install resolves to this one. The
    sandbox shows the kernel both, so the solution gets full marks instead of a dead kernel."""
    import contextlib
    import io
    import shutil

    assignment = "02_reparameterization"
    clone = course.make_scratch_course(ROOT, tmp_path / "second-clone")
    shutil.copytree(ROOT / "vae_helpers", clone / "vae_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PYTHONPATH", str(clone))
    course.release(clone, [assignment])
    course.submit(clone, "alice", assignment, clone / "solutions" / assignment / f"{assignment}.ipynb")
    assert sandbox.resolved_package(sys.executable) != (clone / "vae_helpers").resolve()  # the two clones differ
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = course.main(["autograde", "--root", str(clone), "--workers", "1"])
    assert status == 0 and f"alice/{assignment}: 11 / 11" in printed.getvalue(), printed.getvalue()
