"""Grading jobs on a Dask cluster: ``make autograde SCHEDULER=tcp://host:8786``.

Each :class:`~vae_helpers.grading.jobs.Job` carries its submission, the gradebook as of release
and the course's nbgrader configuration by value, so any Dask worker with the course installed
(``pip install -e .`` of the same commit, bubblewrap for the sandbox) can run it:

    dask scheduler                                   # on one machine: tcp://<it>:8786
    dask worker tcp://<scheduler>:8786 --nthreads 2  # on every grading machine (threads = jobs at a time)

Results come back to the machine that runs ``make autograde``, which alone writes the class
gradebook. When a worker dies in the middle of a job, the scheduler runs the job again on
another worker (Dask retries a task whose worker died, up to ``distributed.scheduler.allowed-
failures`` times); since only finished results are recorded, every submission is graded once.
"""

from __future__ import annotations

import uuid
from typing import Iterator

from . import jobs


def run_on_dask(batch: list[jobs.Job], scheduler: str) -> Iterator[jobs.Result]:
    """Run ``batch`` on the Dask cluster at ``scheduler``; yield each result as it comes."""
    from distributed import Client, as_completed

    run_id = uuid.uuid4().hex[:8]  # keys unique to this run, so an earlier run's results are not reused
    with Client(scheduler, timeout="60s") as client:
        futures = [client.submit(jobs.run, job, key=f"grade-{job.student}-{job.assignment}-{run_id}", pure=False)
                   for job in batch]
        for future in as_completed(futures):
            yield future.result()
            future.release()
