"""The first thing that runs inside the sandbox: set the job's limits, drop root, start the kernel.

    python -m vae_helpers.grading.confine --memory BYTES --processes N --file-size BYTES [--uid UID]
                                          [--audit-fd FD --allow FOLDER ... --deny FOLDER ...] -- CMD...

Limits are resource limits of the kernel process, inherited by everything it starts:

* ``--memory``: RLIMIT_DATA, the heap and private mappings (what ``torch.empty`` and lists use);
  an allocation beyond it fails with ``MemoryError`` / ``RuntimeError`` in the student's cell.
* ``--processes``: RLIMIT_NPROC, processes and threads of the kernel's user.
* ``--file-size``: RLIMIT_FSIZE, the largest file it may write.

With ``--uid`` (the sandbox was started as root) the process then becomes that user and group,
which clears every capability, and the process limit counts only this job's processes.

With ``--audit-fd`` (and a Python kernel, ``python -m MODULE ...``), the kernel runs in this very
process, after a Python audit hook (``sys.addaudithook``, which no code can remove) is installed:
it writes one line to the pipe ``FD``, which the grader reads, for each distinct attempt to reach
outside the kernel's world: a path outside the ``--allow`` folders and the kernel's own ``/tmp``
(other students, the gradebook, the course, a home folder), a socket, a new process, a signal to
another process. It reports attempts, whether or not the sandbox stopped them and whether or not
the code caught the error (see :func:`watch`). A code that closes the pipe kills its kernel.
"""

from __future__ import annotations

import argparse
import os
import resource
import runpy
import sys
import threading

MAX_REPORTS = 100  # distinct attempts reported per kernel (each line is short: the pipe never fills)
TMP = "/tmp"
# the folders every kernel may read (system files and information on itself): never reported
SYSTEM_READ = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt", "/proc", "/sys", "/dev")


def set_limits(memory: int, processes: int, file_size: int) -> None:
    """Lower this process's limits (soft and hard, so the student's code cannot raise them again)."""
    for limit, value in [(resource.RLIMIT_DATA, memory), (resource.RLIMIT_NPROC, processes),
                         (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(limit, (value, value))


def drop_to(uid: int) -> None:
    """Become user ``uid`` (group ``uid``, no supplementary groups): from root, this clears all capabilities."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def is_under(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both absolute and normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


class Outside:
    """Whether a path lies outside what the kernel may reach: the ``allowed`` folders (and the system's),
    and its own ``/tmp``. Inside ``/tmp``, the ``denied`` folders (the class course, the grader's home,
    wherever they are) and the folders bubblewrap created only to hold a bound one (the ``skeleton``:
    e.g. the course folder above a submission's) are not the kernel's own."""

    def __init__(self, allowed: list[str], denied: list[str] = ()):
        self.allowed = [os.path.realpath(a) for a in allowed] + list(SYSTEM_READ)
        self.denied = [os.path.normpath(d) for d in denied if d]
        self.skeleton = {parent for folder in self.allowed for parent in _parents(folder)} - {"/", TMP}

    def __call__(self, path: str) -> bool:
        path = os.path.normpath(os.path.join(os.getcwd(), path))
        real = os.path.realpath(path)
        if any(is_under(p, a) for a in self.allowed for p in (path, real)):
            return False
        if any(is_under(p, d) for d in self.denied for p in (path, real)):
            return True
        if is_under(real, TMP):
            existing = real
            while not os.path.exists(existing):
                existing = os.path.dirname(existing)
            return existing in self.skeleton
        return True


def _parents(folder: str) -> list[str]:
    """Every folder above ``folder``, up to ``/``."""
    parents = []
    while folder not in ("/", ""):
        folder = os.path.dirname(folder)
        parents.append(folder)
    return parents


PATH_EVENTS = {"open": "opened", "os.listdir": "listed", "os.scandir": "listed", "os.remove": "deleted",
               "os.rmdir": "deleted", "shutil.rmtree": "deleted", "os.rename": "renamed", "os.mkdir": "made a folder in",
               "os.chmod": "changed the rights of", "os.chown": "changed the owner of", "os.truncate": "truncated",
               "os.symlink": "linked to", "os.link": "linked to", "os.utime": "changed the time of"}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "pty.spawn"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                  "socket.gethostbyname", "socket.gethostbyaddr"}
# processes libraries start for themselves while importing (ctypes.util.find_library): not the student's
# and platform.processor() (uname -p), matplotlib's font cache (fc-list)
LIBRARY_HELPERS = {"ldconfig", "gcc", "cc", "ld", "objdump", "ld.so", "uname", "fc-list"}


def describe(event: str, args: tuple, outside: Outside) -> str | None:
    """What an audit event means, in words, if it reaches outside the kernel's world (else None)."""
    if event in PATH_EVENTS:
        path = args[0] if args else None
        if path is None and event in ("os.listdir", "os.scandir"):
            path = "."
        if isinstance(path, int) or path is None:
            return None
        path = os.fsdecode(path)
        if outside(path):
            return f"{PATH_EVENTS[event]} {os.path.normpath(os.path.join(os.getcwd(), path))} (outside its folder)"
        if event == "os.rename" and len(args) > 1 and not isinstance(args[1], int) and outside(os.fsdecode(args[1])):
            return f"renamed a file to {os.fsdecode(args[1])} (outside its folder)"
        return None
    if event in PROCESS_EVENTS:
        program = args[0] if args else ""
        command = args[1] if event == "subprocess.Popen" and len(args) > 1 else program
        name = os.path.basename(os.fsdecode(program)) if isinstance(program, (str, bytes)) else ""
        if name in LIBRARY_HELPERS:
            return None
        shown = " ".join(map(str, command)) if isinstance(command, (list, tuple)) else str(command or "")
        return f"started a process ({event}{': ' + shown[:120] if shown else ''})"
    if event in NETWORK_EVENTS:
        address = args[1] if event.startswith("socket.") and event not in (
            "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr") and len(args) > 1 else args[0]
        return f"used the network ({event} {address!r})"
    if event == "socket.__new__" and len(args) > 1 and args[1] in (2, 10):  # AF_INET, AF_INET6
        return "opened a network socket"
    if event in ("os.kill", "os.killpg", "signal.pthread_kill") and args and args[0] not in (0, os.getpid()):
        return f"sent a signal to process {args[0]} ({event})"
    return None


def watch(fd: int, allowed: list[str], denied: list[str] = ()) -> None:
    """Install the audit hook that reports, on the pipe ``fd``, each distinct attempt to reach outside."""
    os.set_blocking(fd, False)
    outside, seen, local = Outside(allowed, denied), set(), threading.local()

    def report(what: str) -> None:
        if what in seen or len(seen) >= MAX_REPORTS:
            return
        seen.add(what)
        try:
            os.write(fd, what.replace("\n", " ")[:400].encode("utf-8", "replace") + b"\n")
        except BlockingIOError:  # the grader's pipe is full: the rest is not needed to flag it
            pass
        except OSError:
            os.write(2, b"The grading sandbox's audit pipe was closed by the notebook's code\n")
            os._exit(70)

    def hook(event: str, args: tuple) -> None:
        if getattr(local, "busy", False):
            return
        local.busy = True
        try:
            what = describe(event, args, outside)
            if what is not None:
                report(what)
        except Exception:  # never let the hook break the student's code
            pass
        finally:
            local.busy = False

    sys.addaudithook(hook)


def run_watched(command: list[str], fd: int, allowed: list[str], denied: list[str] = ()) -> None:
    """Run ``python -m MODULE ARGS`` (``command``) in this process, watched (see :func:`watch`)."""
    module, rest = command[2], command[3:]
    watch(fd, allowed, denied)
    sys.argv = [command[0], *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vae_helpers.grading.confine")
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-size", type=int, required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--audit-fd", type=int, help="the pipe to report attempts to reach outside on")
    parser.add_argument("--allow", action="append", default=[], help="a folder the kernel may reach (repeatable)")
    parser.add_argument("--deny", action="append", default=[], help="a folder that is not the kernel's (repeatable)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    set_limits(args.memory, args.processes, args.file_size)
    if args.uid is not None:
        drop_to(args.uid)
    if args.audit_fd is not None and len(command) > 2 and command[1] == "-m":
        run_watched(command, args.audit_fd, args.allow, args.deny)
        return
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
