"""JupyterLab as a student meets it, driven by a real browser: the helpers behind test_browser.py.

* :func:`make_course` lays out a scratch course: a copy of the student notebooks with a completed
  copy of each beside it, and links to the rest of the repository; only the copy is served, so
  nothing a test does changes the repository.
* :class:`JupyterLab` starts it with the repository's own ``make lab`` target and stops it.
* :class:`Notebook` wraps one notebook open in a Playwright page: Run All, Validate, outputs,
  figures, screenshots. Waits watch the page (the kernel status, the cells' execution counts),
  never the clock; the timeouts are safety nets, minutes long.

Why a scratch copy and ``make -f``: ``make lab`` runs ``jupyter lab notebooks/`` and a folder
given on the command line overrides ``--ServerApp.root_dir``, so serving a temporary folder from
the repository root would serve (and let Validate save into) the repository's own notebooks.
``make -f <repo>/Makefile -C <scratch> lab`` runs the same target in a folder laid out like the
repository: ``notebooks/`` there is the scratch copy, and the server's working directory holds
(a link to) the course's ``nbgrader_config.py``, where nbgrader's Validate looks for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

CHROMIUM_ENV = "VAE_CHROMIUM"  # the browser to drive, when it is not on PATH
INSTALL_HINT = ("apt-get install chromium (or set VAE_CHROMIUM to a Chromium binary) "
                "and .venv/bin/pip install 'playwright>=1.40'")
MINUTE = 60_000  # Playwright timeouts are in milliseconds
COMPLETED = "-completed"  # the completed copy of NN_name.ipynb is NN_name-completed.ipynb
# Variables of the test run that must not reach the server or the student's kernels: the suite's
# headless matplotlib backend, a forced widget mode, make's own state, a user's Jupyter paths.
NOT_INHERITED = ("MPLBACKEND", "VAE_WIDGETS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "JUPYTER_CONFIG_PATH",
                 "JUPYTER_PATH", "JUPYTER_TOKEN", "IPYTHONDIR", "PYTHONSTARTUP")


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$VAE_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    candidate = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    return candidate if candidate and os.access(candidate, os.X_OK) else None


def missing_requirement() -> str | None:
    """Why the browser tests cannot run here (naming what to install), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"playwright is not installed; to run the browser tests: {INSTALL_HINT}"
    if chromium_executable() is None:
        return f"no Chromium found (chromium, chromium-browser, ${CHROMIUM_ENV}); to run the browser tests: {INSTALL_HINT}"
    if shutil.which("make") is None:
        return "make is not installed: the browser tests start JupyterLab with `make lab`"
    return None


# ---------------------------------------------------------------------------------------------
# The scratch course


def completed_notebook(root: Path, name: str):
    """Student notebook ``name`` with every exercise answered: each solution cell takes its code from
    ``solutions/`` (markers removed); everything else stays as the student received it."""
    solution = {c.id: c for c in nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4).cells}
    nb = nbformat.read(root / "notebooks" / name / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", solution[cell.id].source)
    return nb


def make_course(root: Path, dest: Path, names: list[str]) -> Path:
    """A scratch course at ``dest`` that ``make -f <root>/Makefile -C <dest> lab`` serves.

    ``dest`` mirrors the repository: ``notebooks/`` is a copy (the student notebooks, and
    ``NN_name-completed.ipynb`` beside each), everything else a link to the repository's own
    (``nbgrader_config.py``, ``.venv``, ``pyproject.toml``, ...), so the Makefile finds what it
    finds at the root, and the server's working directory holds the course's nbgrader config.
    Only ``notebooks/`` is served, so the tests change nothing else. Returns ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.name not in ("notebooks", ".git"):
            (dest / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    shutil.copytree(root / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in names:
        nbformat.write(completed_notebook(root, name), dest / "notebooks" / name / f"{name}{COMPLETED}.ipynb")
    return dest


# ---------------------------------------------------------------------------------------------
# The server


def _parent_death_signal():
    """A function for ``Popen(preexec_fn=...)`` that has the child get SIGTERM when the test process
    dies, even killed (Linux; elsewhere None). make passes SIGTERM on to the server, which shuts its
    kernels down, so an interrupted run leaves no JupyterLab behind."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _descendants(group: int) -> list[int]:
    """Processes started, directly or not, by members of process group ``group`` (Linux; else [])."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = (int(fields[1]), int(fields[2]))  # ppid, pgid
    found = {pid for pid, (_, pgid) in parents.items() if pgid == group}
    while True:
        more = {pid for pid, (ppid, _) in parents.items() if ppid in found} - found
        if not more:
            return sorted(found)
        found |= more


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``make lab`` in a scratch course: no token, no browser, settings and runtime files in ``state``.

    The environment is this process's, minus what would change what a student sees
    (:data:`NOT_INHERITED`), plus ``VAE_DATA_SOURCE=embedded`` (the small offline MNIST subset),
    one torch thread per kernel, and private Jupyter config, data, runtime, IPython and lab settings / workspace folders, so a
    user's own settings stay out. The lab extensions and server extensions (nbgrader's among
    them) still load: they are enabled in the environment's own ``etc/jupyter`` and ``share/jupyter``.
    """

    def __init__(self, root: Path, course: Path, state: Path):
        self.root, self.course, self.state = root, course, state
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        for var, folder in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                            ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")]:
            (self.state / folder).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.state / folder)
        env["VAE_DATA_SOURCE"] = "embedded"
        # Two kernels may run at once (a completed copy, and Validate's headless run of it): with one
        # torch thread each they do not stall each other or the browser on a 2-core machine.
        env["OMP_NUM_THREADS"] = "1"
        return env

    def write_settings(self) -> None:
        """Lab settings of this test user: no pop-up asking about Jupyter news over the notebook."""
        folder = self.state / "lab-settings" / "@jupyterlab" / "apputils-extension"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    def command(self) -> list[str]:
        args = [f"--port={self.port}", "--ip=127.0.0.1", "--no-browser", "--ServerApp.token=",
                "--ServerApp.password=", "--LabApp.news_url=None"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # containers and CI machines often run as root
        return ["make", "--no-print-directory", "-f", str(self.root / "Makefile"), "-C", str(self.course),
                "lab", "LAB_ARGS=" + " ".join(args)]

    def setup_is_current(self) -> bool:
        """Whether ``make lab``'s setup step has nothing to do. The tests do not let it run in the
        scratch course: it would install the course into the environment from there."""
        check = ["make", "-q", "-f", str(self.root / "Makefile"), "-C", str(self.course), "setup"]
        return subprocess.run(check, env=self.environment(), capture_output=True).returncode == 0

    def start(self, timeout: float = 300) -> None:
        """Start the server and wait until ``/api/status`` answers (``timeout`` seconds: a safety net)."""
        if not self.setup_is_current():
            raise RuntimeError(f"`make lab` would set the environment up first (`make -q setup` says it is out of "
                               f"date); run `make -C {self.root} setup` (make test does), then the tests")
        self.write_settings()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command(), cwd=self.course, env=self.environment(),
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_parent_death_signal())
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"`make lab` exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")
                time.sleep(0.5)

    def stop(self, timeout: float = 60) -> None:
        """Stop ``make`` and the server (its process group); the server shuts its kernels down on
        the way out. A server busy validating (nbgrader's Validate blocks it) gets ``timeout``
        seconds, then it and every process it started (kernels run in sessions of their own) are killed."""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        self.process.wait()
        deadline = time.monotonic() + timeout
        while _group_alive(group):
            if time.monotonic() > deadline:
                for pid in _descendants(group):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
                break
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def api(self, path: str):
        """GET ``path`` from the server's REST API; returns the decoded JSON answer."""
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())


# ---------------------------------------------------------------------------------------------
# A notebook in the browser

CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show (one per page here)
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # tracebacks, stderr streams
# Code cell prompts: "[ ]:" never run, "[*]:" queued or running, "[12]:" done.
_PROMPTS = f"[...document.querySelectorAll('{CURRENT} .jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim())"
_RUN_STATE = f"""() => {{
  const prompts = {_PROMPTS};
  return {{cells: prompts.length, queued: prompts.filter(p => p.startsWith('[*]')).length,
          unrun: prompts.filter(p => p === '[ ]:' || p === '').length,
          idle: !!document.querySelector('{CURRENT} .jp-Notebook-ExecutionIndicator[data-status="idle"]'),
          stderr: document.querySelectorAll('{CURRENT} {STDERR}').length,
          dialog: (document.querySelector('.jp-Dialog') || {{textContent: ''}}).textContent}};
}}"""
# Every image in an output, matplotlib figure or widget, with what the browser decoded.
_IMAGES = f"""() => [...document.querySelectorAll('{CURRENT} .jp-OutputArea-output img')].map(img => ({{
  complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
  widget: !!img.closest('.jupyter-widgets')}}))"""
_SHUT_DOWN = """async (path) => {
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
  const sessions = await (await fetch('/api/sessions')).json();
  for (const s of sessions.filter(s => s.path === path)) {
    await fetch('/api/sessions/' + s.id, {method: 'DELETE', headers: {'X-XSRFToken': decodeURIComponent(xsrf)}});
  }
}"""
SCREENSHOT_PART = 12_000  # pixels of notebook per screenshot file (Chromium copes with far taller ones)


class Notebook:
    """One notebook open in JupyterLab, alone in its own browser page."""

    def __init__(self, page, lab: JupyterLab, path: str):
        self.page, self.lab, self.path = page, lab, path
        self.panel = page.locator(CURRENT)

    @classmethod
    def open(cls, context, lab: JupyterLab, path: str) -> Notebook:
        """Open ``path`` (relative to the served folder) in a new page, with the default layout
        (``?reset``); wait until every cell is on the page (JupyterLab adds them bit by bit)
        and the kernel is idle."""
        from playwright.sync_api import expect

        page = context.new_page()
        page.set_default_timeout(2 * MINUTE)
        page.goto(f"{lab.url}/lab/tree/{path}?reset")
        notebook = cls(page, lab, path)
        expect(notebook.panel.locator(".jp-Cell")).to_have_count(len(notebook.saved().cells), timeout=5 * MINUTE)
        notebook.wait_for_idle_kernel()
        return notebook

    @property
    def file(self) -> Path:
        """The notebook's file on disk, in the scratch course."""
        return self.lab.course / "notebooks" / self.path

    def close(self) -> None:
        """Shut down the notebook's kernel (its session, as the frontend does it: with the page's
        XSRF cookie) and close the page."""
        self.page.evaluate(_SHUT_DOWN, self.path)
        self.page.close()

    # -- what the student sees ----------------------------------------------------------------

    def toolbar_button(self, label: str):
        """The notebook toolbar's button labelled ``label``."""
        return self.panel.locator(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent", has_text=label)

    def menu(self, label: str):
        """The main menu bar's entry ``label``."""
        return self.page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{label}$"))

    def choose(self, menu: str, item: str) -> None:
        """Open the main menu ``menu`` and click its item ``item``."""
        self.menu(menu).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()

    def screenshot(self, path: Path) -> list[Path]:
        """Screenshots of the whole notebook, top to bottom: the window is made as tall as the
        notebook (up to :data:`SCREENSHOT_PART` pixels a file; a longer notebook gives
        ``name-2.png``, ...). Returns the files written."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scroller = self.panel.locator(".jp-WindowedPanel-outer").first
        viewport = self.page.viewport_size
        total, shown = scroller.evaluate("e => [e.scrollHeight, e.clientHeight]")
        chrome = viewport["height"] - shown  # menus, toolbar and status bar around the notebook
        files = []
        try:
            for index, top in enumerate(range(0, total, SCREENSHOT_PART)):
                height = min(SCREENSHOT_PART, total - top)
                self.page.set_viewport_size({"width": viewport["width"], "height": chrome + height})
                scroller.evaluate("(e, top) => { e.scrollTop = top; }", top)
                self.page.wait_for_function(f"() => [...document.querySelectorAll('{CURRENT} img')].every(i => i.complete)")
                target = path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")
                self.page.screenshot(path=str(target))
                files.append(target)
        finally:
            self.page.set_viewport_size(viewport)
            scroller.evaluate("e => { e.scrollTop = 0; }")
        return files

    # -- running ------------------------------------------------------------------------------

    def wait_for_idle_kernel(self, timeout: float = 5 * MINUTE) -> None:
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout)

    def run_state(self) -> dict:
        """Code cells: how many, queued, never run; whether the kernel is idle; how many stderr
        outputs are shown; the text of a dialog on top (say, a kernel that died), or ''."""
        return self.page.evaluate(_RUN_STATE)

    def run_all(self, timeout: float = 20 * MINUTE) -> dict:
        """Run > Run All Cells, and wait until the run is over: the kernel idle, no cell queued,
        and every code cell run, or (Run All stops at an error) an error shown; or a dialog
        stops the student (a kernel that died). Returns :meth:`run_state`. The timeout is a
        safety net for a hung kernel, not a verdict."""
        self.choose("Run", "Run All Cells")
        code_cells = sum(cell.cell_type == "code" for cell in self.saved().cells)
        self.page.wait_for_function(f"""() => {{ const s = ({_RUN_STATE})();
            return s.dialog !== '' || (s.cells === {code_cells} && s.idle && s.queued === 0
                                       && (s.unrun === 0 || s.stderr > 0)); }}""",
                                    timeout=timeout, polling=500)
        return self.run_state()

    def save(self) -> None:
        """File > Save Notebook, and wait until the tab no longer shows unsaved changes."""
        self.choose("File", "Save Notebook")
        self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached")

    def saved(self):
        """The notebook as saved on disk (nbformat node)."""
        return nbformat.read(self.file, as_version=4)

    # -- outputs ------------------------------------------------------------------------------

    def stderr_outputs(self) -> list[str]:
        """The text of every output rendered as stderr: error tracebacks and stderr streams alike."""
        return self.panel.locator(STDERR).all_text_contents()

    def images(self) -> list[dict]:
        """Every image in an output: ``complete``, natural ``width`` and ``height``, ``widget``
        (inside an ipywidget rather than a figure)."""
        return self.page.evaluate(_IMAGES)

    # -- nbgrader -----------------------------------------------------------------------------

    def validate(self, screenshot: Path | None = None, timeout: float = 20 * MINUTE) -> tuple[str, str]:
        """Click nbgrader's Validate; wait for its "Validation Results" dialog, read it, close it.

        Returns (outcome, text): outcome is the class nbgrader's lab extension gives the message,
        ``validation-success``, ``validation-failed``, ``validation-changed``, ..., or ``error``
        when the validate command itself failed or another dialog came up (its text is returned).
        With ``screenshot``, the page with the dialog is saved there.
        """
        self.toolbar_button("Validate").click()
        dialog = self.page.locator(".jp-Dialog")  # "Validation Results", or "Validation failed" and why
        dialog.wait_for(timeout=timeout)
        message = dialog.locator("#validation-message")
        if message.count():
            classes = (message.get_attribute("class") or "").split()
            outcome = next((c for c in classes if c.startswith("validation-")), "error")
            text = message.text_content()
        else:
            outcome, text = "error", dialog.locator(".jp-Dialog-content").text_content()
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(screenshot))
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.wait_for(state="detached")
        return outcome, text
