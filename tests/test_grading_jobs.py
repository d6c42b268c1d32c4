"""The grading jobs' plumbing, without running a kernel: files in and out, commands, reports."""

from __future__ import annotations

import os

import pytest

from vae_helpers.grading import batch, jobs
from vae_helpers.grading.sandbox import GIB, Limits


def test_a_jobs_files_go_back_where_they_came_from(tmp_path):
    files = {"02.ipynb": b"{}", "data/extra.txt": b"x"}
    jobs.write_folder(tmp_path / "job", files)
    assert jobs.read_folder(tmp_path / "job") == files


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b"])
def test_a_result_cannot_write_outside_its_folder(tmp_path, path):
    with pytest.raises(ValueError, match="outside"):
        jobs.write_folder(tmp_path / "job", {path: b"x"})
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "b").exists()


def test_nbgrader_runs_the_kernel_in_the_sandbox_with_the_jobs_limits():
    job = jobs.Job("02_reparameterization", "alice", {}, b"", "", Limits(memory=2 * GIB, processes=64))
    command = jobs.nbgrader_command(job)
    assert command[3:7] == ["autograde", "02_reparameterization", "--student", "alice"]
    assert "--Execute.kernel_manager_class=vae_helpers.grading.sandbox.SandboxedKernelManager" in command
    assert f"--SandboxedKernelManager.memory={2 * GIB}" in command
    assert "--SandboxedKernelManager.processes=64" in command
    assert "--CourseDirectory.db_url=sqlite:///gradebook.db" in command  # the job's copy, never the class's
    unconfined = jobs.nbgrader_command(jobs.Job("02_reparameterization", "alice", {}, b"", "", sandbox=False))
    assert not any("Sandboxed" in part for part in unconfined)


def test_a_dropped_submission_is_explained():
    log = "[AutogradeApp | ERROR] nbclient.exceptions.DeadKernelError: Kernel died\n"
    assert "killed the Python kernel" in jobs.why_dropped(log, 1)
    assert jobs.why_dropped("", 3) == "nbgrader exited with code 3"


def test_the_summary_names_dropped_and_flagged_submissions_and_the_sandbox():
    grades = [batch.Grade("02", "alice", 11.0, 11.0, 5.0), batch.Grade("02", "bob", None, 11.0, 5.0, "crash"),
              batch.Grade("02", "carol", 0.0, 11.0, 5.0, flags=["assigns to torch.allclose"])]
    lines = batch.summary(grades, True, Limits(), "2 at a time", 12.3)
    assert lines[0].startswith("Graded 2 of 3 submission(s) in 12 s (2 at a time)")
    assert lines[1] == f"Sandbox: on ({Limits().describe()})."
    assert "Dropped by nbgrader, not graded: bob/02" in lines
    assert "Flagged for review (tampering or probing; why in the review lines above, the export and class-reports/): carol/02" in lines
    assert "Sandbox: OFF" in batch.summary(grades, False, Limits(), "1 at a time", 1)[1]


def test_the_report_is_kept_in_the_course(tmp_path):
    path = batch.write_report(tmp_path, ["alice/02: 11 / 11", "Graded 1 of 1"])
    assert path.parent == tmp_path / batch.REPORTS
    assert path.read_text() == "alice/02: 11 / 11\nGraded 1 of 1\n"


def test_a_job_past_its_time_limit_is_stopped_with_everything_it_started(tmp_path):
    """nbgrader itself hangs here (its configuration sleeps): the job stops it at the limit, says so,
    and leaves no process of it behind."""
    pid_file = tmp_path / "nbgrader.pid"
    config = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(3600)\n"
    job = jobs.Job("02_reparameterization", "alice", {"02_reparameterization.ipynb": b"{}"}, b"", config,
                   Limits(seconds=5), sandbox=False)
    result = jobs.run(job)
    assert result.grades is None and result.files == {}
    assert result.problem == "grading took longer than 5 s and was stopped"
    if pid_file.exists():  # nbgrader got as far as its configuration (a very busy machine may stop it sooner)
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def test_the_nbgrader_configuration_is_data_the_formgrader_can_show(root):
    """The Formgrader's "Current configuration" panel shows json.dumps of the configuration; it is
    empty when the configuration holds a class (preprocessors are named by import path instead)."""
    import json

    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    shown = json.loads(json.dumps(config))
    assert "vae_helpers.grading.preprocessors.ShortenDemos" in shown["Autograde"]["sanitize_preprocessors"]
    assert shown["ExportApp"]["plugin_class"] == "vae_helpers.grading.export.CsvExport"
