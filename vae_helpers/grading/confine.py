"""The first thing that runs inside the sandbox: set the job's limits, drop root, start the kernel.

    python -m vae_helpers.grading.confine --memory BYTES --processes N --file-size BYTES [--uid UID] -- CMD...

Limits are resource limits of the kernel process, inherited by everything it starts:

* ``--memory``: RLIMIT_DATA, the heap and private mappings (what ``torch.empty`` and lists use);
  an allocation beyond it fails with ``MemoryError`` / ``RuntimeError`` in the student's cell.
* ``--processes``: RLIMIT_NPROC, processes and threads of the kernel's user.
* ``--file-size``: RLIMIT_FSIZE, the largest file it may write.

With ``--uid`` (the sandbox was started as root) the process then becomes that user and group,
which clears every capability, and the process limit counts only this job's processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vae_helpers.grading.confine")
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-size", type=int, required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    set_limits(args.memory, args.processes, args.file_size)
    if args.uid is not None:
        drop_to(args.uid)
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
