"""Student code in a sandbox: the grading kernel runs inside bubblewrap (``bwrap``), with limits.

nbgrader itself runs outside; it starts the kernel that executes the student's notebook through
:class:`SandboxedKernelManager`. ``nbgrader_config.py`` names it for every autograde
(``c.Autograde.NotebookExporter.Execute.kernel_manager_class``): ``make autograde``'s jobs, the
Formgrader's button and an ``nbgrader autograde`` typed by hand alike (not ``nbgrader validate``,
which students run on their own code). Its command is

    bwrap <a view of the machine> -- python -m vae_helpers.grading.confine <limits> -- <the kernel>

What the kernel sees (everything else does not exist for it):

* read-only: the system (``/usr``, ``/etc``, ...), this Python and its environment, the course
  package ``vae_helpers``, the full MNIST folder when ``VAE_DATA_DIR`` names one, and the folder
  of the notebook being graded (its working directory);
* writable: ``/tmp``, a private RAM folder of ``Limits.disk`` bytes (also ``$HOME``), and the
  folder of its connection sockets;
* no network (only its own loopback), its own process, IPC and host-name namespaces, no
  capabilities, a new terminal session, and it dies with the grader.

Where bubblewrap cannot run, starting a kernel fails with a message that says how to install it,
unless ``VAE_SANDBOX=off`` is set (``make autograde SANDBOX=off`` sets it; the course's own
pipeline sets it for the course's solution notebooks, which are not student code).

The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc``), since a sandbox without a network
cannot reach the grader's TCP ports. When grading runs as root, the kernel also drops to a user of
its own (``uid``), so the process limit counts this job's processes only.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_core.utils import run_sync
from traitlets import Int, default
from traitlets.config import LoggingConfigurable

import vae_helpers

GIB, MIB = 1024**3, 1024**2
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install "
                "bubblewrap), or grade without a sandbox with SANDBOX=off (student code then runs with your "
                "rights: only for submissions you trust)")
COURSE_ROOT = "VAE_COURSE_ROOT"  # the class course being graded (a job runs nbgrader in a copy of it elsewhere)
OFF_SWITCH = "VAE_SANDBOX"  # VAE_SANDBOX=off: kernels start unconfined (make autograde SANDBOX=off sets it)
SOCKET_DIR_MAX = 64  # the longest folder to put kernel sockets in (+ /vae-kernel-xxxxxxxx/kernel-NN)
KERNEL_STDERR = "kernel-stderr.txt"  # in the kernel's sockets folder: what the kernel wrote to its stderr
DIED = "The sandboxed kernel died"
PROBED = "The sandboxed kernel's code reached outside its folder:"  # how each reported attempt's log line starts  # how the log line that quotes a dead kernel's stderr starts (see jobs.why_dropped)
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt")
# What the kernel may keep of the grader's environment (everything else is cleared).
PASSED_ON = ("VAE_DATA_SOURCE", "VAE_DATA_DIR", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND", "LANG",
             "PYDEVD_DISABLE_FILE_VALIDATION")


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use; an instructor changes them with ``make autograde``'s options."""

    memory: int = 4 * GIB       # bytes of heap and private mappings (RLIMIT_DATA)
    processes: int = 256        # processes and threads (RLIMIT_NPROC)
    disk: int = 512 * MIB       # bytes it may write in /tmp, its only writable folder (RAM-backed)
    file_size: int = 256 * MIB  # the largest file it may write (RLIMIT_FSIZE)
    seconds: int = 1800         # wall-clock time for grading the whole submission

    def describe(self) -> str:
        return (f"memory {self.memory / GIB:g} GiB, {self.processes} processes, disk {self.disk / MIB:g} MiB, "
                f"files up to {self.file_size / MIB:g} MiB, {self.seconds} s per submission")


def unavailable() -> str | None:
    """Why the sandbox cannot run on this machine (with what to do about it), or None if it can."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox (bubblewrap) needs Linux, and this is {sys.platform}; {INSTALL_HINT}"
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    probe = subprocess.run(["bwrap", *view(Path("/")), "--", sys.executable, "-c", "pass"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return (f"bubblewrap cannot start a sandbox here ({probe.stderr.strip() or probe.returncode}; user "
                f"namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1); {INSTALL_HINT}")
    return None


@functools.lru_cache
def resolved_package(python: str) -> Path | None:
    """The ``vae_helpers`` folder that ``python`` imports when started as the kernel is: in a folder of no
    course, with an empty environment. With one environment and two clones of the course, this can be
    another folder than the one this process imported (an editable install points at one clone; this
    process may have imported the other from its working directory or ``PYTHONPATH``)."""
    probe = subprocess.run([python, "-c", "import importlib.util as u; s = u.find_spec('vae_helpers'); "
                            "print(s.origin if s and s.origin else '')"], cwd="/", env={}, capture_output=True, text=True)
    origin = probe.stdout.strip()
    return Path(origin).resolve().parent if probe.returncode == 0 and origin else None


def readable() -> list[Path]:
    """The folders a kernel needs to read: this Python, its environment, the course package (the one this
    process imported and the one the environment resolves), the data."""
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent,
               Path(vae_helpers.__file__).resolve().parent}
    resolved = resolved_package(sys.executable)
    if resolved is not None:
        folders.add(resolved)
    data = os.environ.get("VAE_DATA_DIR")
    if data and Path(data).is_dir():
        folders.add(Path(data).resolve())
    return sorted(folders)


def watched() -> list[Path]:
    """Folders whose every access the kernel reports (see confine.Outside): the class course (``VAE_COURSE_ROOT``,
    set by the grading jobs), the folder nbgrader runs in, and the grader's home."""
    folders = [os.environ.get(COURSE_ROOT, ""), os.getcwd(), str(Path.home())]
    return [Path(f).resolve() for f in dict.fromkeys(folders) if f]


def view(workdir: Path, writable: Path | None = None, limits: Limits = Limits()) -> list[str]:
    """bwrap's options for a kernel working (read-only) in ``workdir``, writing in ``writable`` and /tmp."""
    # As root, no user namespace: the kernel then drops to a real user of its own (see confine.py).
    unshare = ["--unshare-all"] if os.geteuid() != 0 else [
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    args = [*unshare, "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for folder in SYSTEM:
        args += ["--ro-bind-try", folder, folder]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.disk), "--tmpfs", "/tmp"]
    binds = [("--ro-bind", folder) for folder in [*readable(), workdir]]
    binds += [("--bind", writable)] if writable is not None else []
    made = {Path("/"), Path("/tmp")}
    for option, folder in binds:
        for parent in reversed(folder.parents):  # bwrap would make missing parents private to root
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += [option, str(folder), str(folder)]
    args += ["--chdir", str(workdir), "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "PATH",
             f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "--setenv", "MPLCONFIGDIR",
             "/tmp/matplotlib", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for name in PASSED_ON:
        if name in os.environ:
            args += ["--setenv", name, os.environ[name]]
    return args


def command(kernel: list[str], workdir: Path, writable: Path, limits: Limits, uid: int | None,
            audit_fd: int | None = None) -> list[str]:
    """The command that runs ``kernel`` in the sandbox, with ``limits``; as user ``uid`` when given; reporting
    attempts to reach outside its world on the pipe ``audit_fd`` when given (see confine.watch)."""
    confine = [sys.executable, "-m", "vae_helpers.grading.confine", "--memory", str(limits.memory),
               "--processes", str(limits.processes), "--file-size", str(limits.file_size)]
    if uid is not None:
        confine += ["--uid", str(uid)]
    if audit_fd is not None:
        confine += ["--audit-fd", str(audit_fd)]
        for folder in [*readable(), workdir, writable]:
            confine += ["--allow", str(folder)]
        for folder in watched():
            confine += ["--deny", str(folder)]
    setuid = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if uid is not None else []
    return ["bwrap", *view(workdir, writable, limits), *setuid, "--", *confine, "--", *kernel]


def running_tasks(uid: int) -> int:
    """How many processes and threads user ``uid`` runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:  # the process ended meanwhile
            continue
    return count


class Sandboxed(LoggingConfigurable):
    """What makes a kernel manager start its kernels in the sandbox (see the module's docstring)."""

    memory = Int(Limits.memory, config=True, help="bytes of memory the kernel may allocate")
    processes = Int(Limits.processes, config=True, help="processes and threads the kernel may run")
    disk = Int(Limits.disk, config=True, help="bytes the kernel may write to /tmp")
    file_size = Int(Limits.file_size, config=True, help="the largest file the kernel may write")
    uid = Int(-1, config=True, help="when grading as root: the user the kernel runs as (-1: 100000 + this pid)")

    @default("transport")
    def _ipc(self) -> str:
        return "ipc"

    @default("ip")
    def _socket_path(self) -> str:
        # A Unix socket's path may not exceed about 100 bytes: under a long $TMPDIR, use /tmp.
        short = tempfile.gettempdir() if len(tempfile.gettempdir()) <= SOCKET_DIR_MAX else "/tmp"
        self._sockets = Path(tempfile.mkdtemp(prefix="vae-kernel-", dir=short))
        return str(self._sockets / "kernel")

    def limits(self) -> Limits:
        """The job's limits; without root, the process limit also allows for the user's running tasks
        (``RLIMIT_NPROC`` counts every process and thread of the user)."""
        processes = self.processes if os.geteuid() == 0 else self.processes + running_tasks(os.geteuid())
        return Limits(self.memory, processes, self.disk, self.file_size)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = super().format_kernel_cmd(extra_arguments)
        if os.environ.get(OFF_SWITCH) == "off":  # the grader chose to run this code unconfined
            return kernel
        why = unavailable()
        if why is not None:
            raise RuntimeError(f"student code is graded in the sandbox, which cannot start here: {why}. To grade "
                               f"without it (student code then runs with your rights): {OFF_SWITCH}=off nbgrader "
                               f"autograde ..., or make autograde SANDBOX=off.")
        # A signal to bwrap does not reach the kernel in its own session: interrupt it by message
        # (nbgrader interrupts a cell that runs past the time limit, and grades the rest).
        self.kernel_spec.interrupt_mode = "message"
        sockets = Path(self.ip).parent
        connection = Path(self.connection_file).resolve()
        kernel = [str(sockets / connection.name) if arg == str(connection) else arg for arg in kernel]
        shutil.copy(connection, sockets / connection.name)  # the kernel sees its sockets' folder only
        uid = None
        if os.geteuid() == 0:
            uid = self.uid if self.uid >= 0 else 100000 + os.getpid()
            for path in (sockets, sockets / connection.name):
                os.chown(path, uid, uid)
        workdir = Path(self._launch_args.get("cwd") or os.getcwd()).resolve()
        self._close_audit_pipe()
        self._audit_read, self._audit_write = os.pipe()  # the kernel writes, this process reads (see confine.watch)
        return command(kernel, workdir, sockets, self.limits(), uid, self._audit_write)

    def _close_audit_pipe(self) -> None:
        for name in ("_audit_read", "_audit_write"):
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)

    def attempts(self) -> list[str]:
        """What the kernel reported of its code's attempts to reach outside its world (so far, unread yet)."""
        fd = getattr(self, "_audit_read", None)
        if fd is None:
            return []
        os.set_blocking(fd, False)
        data = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # The kernel's own stderr goes to a file of the grader's (at most Limits.file_size, RLIMIT_FSIZE), so a
        # kernel that dies can say why (say_why_it_died); sys.stderr in the notebook still reaches its cells' output.
        stderr = getattr(self, "_sockets", None)
        if stderr is not None and kw.get("stderr") is None:
            kw["stderr"] = open(stderr / KERNEL_STDERR, "wb")
        if getattr(self, "_audit_write", None) is not None:
            kw["pass_fds"] = (*kw.get("pass_fds", ()), self._audit_write)
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if stderr is not None and kw.get("stderr") is not None and not kw["stderr"].closed:
                kw["stderr"].close()  # the kernel holds its own copy
            if getattr(self, "_audit_write", None) is not None:
                os.close(self._audit_write)  # the kernel holds its own copy: the pipe ends when the kernel does
                self._audit_write = None

    async def _async_is_alive(self) -> bool:
        if self.owns_kernel and self.has_kernel:
            code = await self.provisioner.poll()
            if code is not None and code > 0:  # it failed on its own (not shut down, not killed by a signal)
                self.say_why_it_died(code)
        return await KernelManager._async_is_alive(self)

    def last_words(self, lines: int = 3) -> str:
        """The last ``lines`` lines the kernel wrote to its stderr that say something (a traceback's
        frames and header left out: its last line is the error), "" if it wrote nothing."""
        path = getattr(self, "_sockets", None)
        if path is None or not (path / KERNEL_STDERR).is_file():
            return ""
        with open(path / KERNEL_STDERR, "rb") as f:  # its end only: the kernel may have written a lot
            f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))
            text = f.read().decode(errors="replace")
        said = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln[:1].isspace()
                and not ln.startswith("Traceback (most recent call last)")]
        return "\n".join(said[-lines:])

    def say_why_it_died(self, code: int) -> None:
        """Log, once, that the kernel exited with status ``code``, with the end of its stderr (nbgrader's own
        message, "Kernel died before replying to kernel_info", does not say why)."""
        if getattr(self, "_death_told", False):
            return
        self._death_told = True
        words = self.last_words()
        self.log.error("%s (exit status %d); its stderr: %s", DIED, code,
                       words.replace("\n", " | ") if words else "(empty)")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)  # what shutdown_kernel calls, blocking or not
        for attempt in self.attempts():  # into nbgrader's log, where a grading job finds them (jobs.run)
            self.log.warning("%s %s", PROBED, attempt)
        if not restart:
            self._close_audit_pipe()
            if getattr(self, "_sockets", None) is not None:
                shutil.rmtree(self._sockets, ignore_errors=True)


class SandboxedKernelManager(Sandboxed, AsyncKernelManager):
    """The kernel manager nbgrader's Execute uses for a submission (nbclient drives kernels asynchronously).

    Configure it like any traitlets class, e.g. ``--SandboxedKernelManager.memory=2147483648``.
    """

    is_alive = Sandboxed._async_is_alive


class BlockingSandboxedKernelManager(Sandboxed, KernelManager):
    """The same sandbox for scripts and tests that talk to the kernel with a blocking client."""

    is_alive = run_sync(Sandboxed._async_is_alive)
