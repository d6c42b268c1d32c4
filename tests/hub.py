"""A JupyterHub for one course and three users: the helpers behind test_semester.py.

* :func:`make_course` lays out a scratch copy of the course (its nbgrader config, solutions and
  student notebooks), releases one assignment into its gradebook and imports a roster, as an
  instructor does at the start of a semester.
* :class:`Hub` writes a JupyterHub configuration for that course and starts ``jupyterhub`` with it
  (the hub starts ``configurable-http-proxy`` and every user's single-user server itself), and stops
  all of it again, kernels included.

The hub is the shared-exchange recipe of docs/instructors.md on one machine: a dummy authenticator
(any password), one instructor whose server runs from the course root (where the Formgrader finds
``nbgrader_config.py``), two students whose servers run in their own home folders, and a file that
stands in for ``/etc/jupyter/nbgrader_config.py``: the course id and the exchange every user shares.
Everything (homes, exchange, hub database, logs) lives in the test's temporary folder.

Every user's server runs as the account running the test (root, on CI): jupyterhub's
``SimpleLocalProcessSpawner``, made to start the instructor's server in the course root. nbgrader
names a student after the OS account, which is the same for all of them here, so each student's own
``~/.jupyter/nbgrader_config.py`` names them (``CourseDirectory.student_id``); with one OS account per
user (``LocalProcessSpawner``) or containers (nbgrader reads ``JUPYTERHUB_USER`` for ``jovyan``) that
line is not needed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import browser

INSTRUCTOR = "instructor"
STUDENTS = ("alice", "bob")
COURSE_ID = "vae-course"  # nbgrader_config.py's CourseDirectory.course_id
PROXY_ENV = "VAE_CHP"  # configurable-http-proxy, when it is not on PATH
PROXY_HINT = "npm install -g configurable-http-proxy (or set VAE_CHP to its executable)"
HUB_HINT = ".venv/bin/pip install jupyterhub (make setup installs it: it is a dev dependency)"


def proxy_executable() -> str | None:
    """configurable-http-proxy: ``$VAE_CHP``, else on PATH."""
    candidate = os.environ.get(PROXY_ENV) or shutil.which("configurable-http-proxy")
    return candidate if candidate and os.access(candidate, os.X_OK) else None


def hub_executable() -> str | None:
    """The ``jupyterhub`` command of this Python environment."""
    candidate = Path(sys.executable).with_name("jupyterhub")
    return str(candidate) if candidate.exists() else shutil.which("jupyterhub")


def missing_requirement() -> str | None:
    """Why the semester test cannot run here (naming what to install), or None."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return f"jupyterhub is not installed; to run the semester test: {HUB_HINT}"
    if hub_executable() is None:
        return f"no jupyterhub command next to {sys.executable}; {HUB_HINT}"
    if proxy_executable() is None:
        return f"configurable-http-proxy not found; to run the semester test: {PROXY_HINT}"
    return browser.missing_requirement()


# ---------------------------------------------------------------------------------------------
# The scratch course


def run(course: Path, *command: str) -> str:
    """Run ``python *command`` in ``course`` as the instructor does (its nbgrader_config.py applies);
    returns the output, or raises with it."""
    done = subprocess.run([sys.executable, *command], cwd=course, env=course_environment(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def course_environment() -> dict[str, str]:
    """The environment for the instructor's commands: this one, minus the test run's own settings,
    plus the embedded MNIST subset."""
    env = {k: v for k, v in os.environ.items() if k not in browser.NOT_INHERITED}
    env["VAE_DATA_SOURCE"] = "embedded"
    return env


def write_roster(path: Path) -> Path:
    """The class list as a CSV for ``nbgrader db student import``."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for student in STUDENTS:
            writer.writerow([student, student.capitalize(), "Student", f"{student}@example.org"])
    return path


def make_course(root: Path, dest: Path, assignment: str, duedate: str) -> Path:
    """A scratch course at ``dest``: copies of ``nbgrader_config.py``, ``solutions/`` and ``notebooks/``;
    ``assignment`` released into the gradebook (``make release``) with due date ``duedate``; the
    roster imported. The repository itself is never touched. Returns ``dest``."""
    dest.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", dest)
    for folder in ("solutions", "notebooks"):
        shutil.copytree(root / folder, dest / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    run(dest, "-m", "vae_helpers.grading.course", "release", "--root", str(dest), "--assignment", assignment)
    run(dest, "-m", "nbgrader", "db", "assignment", "add", assignment, f"--duedate={duedate}")
    run(dest, "-m", "nbgrader", "db", "student", "import", str(write_roster(dest / "roster.csv")))
    return dest


# ---------------------------------------------------------------------------------------------
# The hub

HUB_CONFIG = '''\
"""JupyterHub for the semester test (written by tests/hub.py)."""
import ctypes, os, signal
from jupyterhub.spawner import SimpleLocalProcessSpawner

INSTRUCTOR, COURSE = {instructor!r}, {course!r}


class CourseSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner whose servers start in their notebook_dir (the course root for the
    instructor, where the Formgrader reads nbgrader_config.py) and get SIGTERM if the hub dies."""

    def make_preexec_fn(self, name):
        home, start = self.home_dir, self.notebook_dir or self.home_dir
        prctl = ctypes.CDLL(None, use_errno=True).prctl

        def preexec():
            os.makedirs(home, exist_ok=True)
            os.chdir(start)
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

        return preexec


def start_in_the_course(spawner):
    if spawner.user.name == INSTRUCTOR:
        spawner.notebook_dir = COURSE


c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {users!r}
c.Authenticator.admin_users = {{INSTRUCTOR}}
c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.pre_spawn_hook = start_in_the_course
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.default_url = "/lab"
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = 600  # safety nets on a busy machine, not verdicts
c.Spawner.http_timeout = 600
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
'''

# JupyterHub's single-user servers forbid framing (``frame-ancestors 'none'``); the Formgrader opens in
# JupyterLab as a frame of the same server, so a hub must allow 'self' (docs/instructors.md).
SERVER_CONFIG = '''\
"""Every user's Jupyter server: what /etc/jupyter/jupyter_server_config.py holds on a JupyterHub host."""
c = get_config()
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
'''

NBGRADER_CONFIG = '''\
"""Every user's nbgrader settings: what /etc/jupyter/nbgrader_config.py holds on a JupyterHub host."""
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
'''


class Hub:
    """JupyterHub serving ``course`` to the instructor and the students; its state in ``state``."""

    def __init__(self, course: Path, state: Path):
        self.course, self.state = course, state
        self.homes, self.exchange, self.etc = state / "home", state / "exchange", state / "etc-jupyter"
        self.port = browser.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state / "jupyterhub.log"
        self.process: subprocess.Popen | None = None
        self.started: list[int] = []  # every process the hub started, as last seen

    def server_environment(self) -> dict[str, str]:
        """What each single-user server gets on top of JupyterHub's own variables."""
        return {"JUPYTER_CONFIG_PATH": str(self.etc), "VAE_DATA_SOURCE": "embedded", "OMP_NUM_THREADS": "1"}

    def write_config(self) -> Path:
        """The shared exchange folder (writable by all, as on a host: ``/srv/nbgrader/exchange``), the
        hub's configuration, every user's nbgrader and server configuration, each student's own one,
        and lab settings without the news pop-up. Returns the hub's configuration file."""
        self.exchange.mkdir(parents=True)
        self.exchange.chmod(0o777)
        self.etc.mkdir(parents=True)
        (self.etc / "nbgrader_config.py").write_text(
            NBGRADER_CONFIG.format(course_id=COURSE_ID, exchange=str(self.exchange)))
        (self.etc / "jupyter_server_config.py").write_text(SERVER_CONFIG)
        for user in (INSTRUCTOR, *STUDENTS):
            home = self.homes / user
            settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
            settings.mkdir(parents=True)
            (settings / "notification.jupyterlab-settings").write_text(
                json.dumps({"fetchNews": "false", "checkForUpdates": False}))
            if user in STUDENTS:  # one OS account for all users here: say who is submitting
                (home / ".jupyter" / "nbgrader_config.py").write_text(
                    f"c = get_config()\nc.CourseDirectory.student_id = {user!r}\n")
        args = ["--LabApp.news_url=None"] + (["--allow-root"] if os.geteuid() == 0 else [])
        config = self.state / "jupyterhub_config.py"
        config.write_text(HUB_CONFIG.format(
            instructor=INSTRUCTOR, course=str(self.course), port=self.port, hub_port=browser.free_port(),
            proxy_api_port=browser.free_port(), proxy=proxy_executable(), state=self.state,
            users={INSTRUCTOR, *STUDENTS}, homes=self.homes, args=args, environment=self.server_environment(),
            singleuser=str(Path(hub_executable()).with_name("jupyterhub-singleuser"))))
        return config

    def environment(self) -> dict[str, str]:
        """The hub's environment: this process's minus the test run's settings; the proxy on PATH."""
        env = {k: v for k, v in os.environ.items() if k not in browser.NOT_INHERITED}
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(Path(proxy_executable()).parent),
                                       env.get("PATH", "")])
        return env

    def start(self, timeout: float = 300) -> None:
        """Start the hub (and, through it, the proxy); wait until it answers (``timeout``: a safety net)."""
        config = self.write_config()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([hub_executable(), "-f", str(config)], cwd=self.state,
                                            env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, preexec_fn=browser._parent_death_signal())
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/hub/api/", timeout=30):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.log_tail()}")
                time.sleep(0.5)

    def remember_processes(self) -> None:
        """Note every process the hub started so far (proxy, servers, kernels: each in a session of
        its own), so that :meth:`stop` can find them even after the hub is gone."""
        if self.process is not None:
            self.started = sorted(set(self.started) | set(browser._descendants(self.process.pid)) - {self.process.pid})

    def stop(self, timeout: float = 120) -> None:
        """Stop the hub: it stops every user's server (each shuts its kernels down) and the proxy.
        Anything still running ``timeout`` seconds later is killed."""
        if self.process is None:
            return
        self.remember_processes()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + timeout
        while (alive := [pid for pid in self.started if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process = None

    def leftovers(self) -> list[int]:
        """Processes the hub started that are still running (after :meth:`stop`: none)."""
        return [pid for pid in self.started if _alive(pid)]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
