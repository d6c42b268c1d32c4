"""nbgrader configuration for the vae-course.

Run nbgrader from the repository root (the Makefile does) so that this file is
picked up. Instructors' solution notebooks live in ``solutions/`` (nbgrader's
source), and ``nbgrader generate_assignment`` writes the student versions to
``notebooks/``.
"""

from vae_helpers.grading.course import KERNEL_WAIT

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "vae-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# The stub students see in place of each solution.
c.ClearSolutions.code_stub = {
    "python": 'raise NotImplementedError("Exercise: replace this line with your code.")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Training cells take tens of seconds; a runaway cell is stopped after 10 minutes,
# both when nbgrader autogrades or validates and when nbconvert executes.
c.Execute.timeout = 600
c.ExecutePreprocessor.timeout = 600
c.Execute.interrupt_on_timeout = True
# No grade may depend on how busy the machine is: minutes to start a kernel and to collect a
# cell's output (see KERNEL_WAIT).
for section in (c.Execute, c.ExecutePreprocessor):
    section.startup_timeout = KERNEL_WAIT
    section.iopub_timeout = KERNEL_WAIT

# nbgrader gives zero points to a test cell with *any* stderr output. Warnings and
# progress bars are not failures (a failing check raises an exception), so stderr
# is dropped before grading. The checks also capture stderr themselves, which
# covers nbgrader's Validate button.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"

# A submission that deleted a graded test cell gets it back (with a note saying so), so
# deleting a failing test earns nothing. Edited, duplicated or re-typed test cells are
# restored from the gradebook by nbgrader in any case. See docs/grading.md.
c.OverwriteCells.add_missing_cells = True


# The preprocessors that clean a submission before it runs, named by import path (so the
# Formgrader can show this configuration). The course adds three (vae_helpers/grading/preprocessors.py):
# ForgetDuplicateIds keeps a submission with a duplicated cell gradable, RestoreLockedCells is
# nbgrader's OverwriteCells without its "checksum has changed" warning on every honest submission's
# hidden-test cells (jupyter/nbgrader#1961), and ShortenDemos runs the
# demonstration cells that train models for the plots with smaller budgets (no grade uses them),
# opening the feedback with a note that says so. To grade with the full demonstrations:
# c.ShortenDemos.enabled = False (make autograde AUTOGRADE_ARGS="--demos full").
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "vae_helpers.grading.preprocessors.ForgetDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "vae_helpers.grading.preprocessors.RestoreLockedCells",
    "vae_helpers.grading.preprocessors.ShortenDemos",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Student code runs in the course's sandbox whenever nbgrader autogrades: make autograde, the
# Formgrader's button, or nbgrader autograde typed by hand (docs/grading.md). Where bubblewrap
# cannot run, grading stops and says how to install it; VAE_SANDBOX=off grades unconfined.
c.Autograde.NotebookExporter.Execute.kernel_manager_class = "vae_helpers.grading.sandbox.SandboxedKernelManager"
# After the last cell, stop the kernel at once instead of waiting for it to wind down.
c.Execute.shutdown_kernel = "immediate"

# nbgrader export: the course's CSV says, per row, whether the score was earned ("graded"), is
# still to be given by hand (autograding failed) or was never submitted, and which were flagged.
c.ExportApp.plugin_class = "vae_helpers.grading.export.CsvExport"

# Feedback names each test cell by what it checks, not "Test cell": nbgrader's feedback template with that one
# change (nbgrader's own templates, e.g. the Formgrader's, stay where they are).
import os  # noqa: E402

import nbgrader  # noqa: E402
from vae_helpers.grading.report import FEEDBACK_TEMPLATES  # noqa: E402

c.HTMLExporter.extra_template_basedirs = [
    str(FEEDBACK_TEMPLATES), os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")]
c.HTMLExporter.filters = {"test_label": "vae_helpers.grading.report.test_label"}
c.GenerateFeedback.HTMLExporter.template_name = "course-feedback"  # vae_helpers/grading/templates/course-feedback

# Class data is the instructor's (vae_helpers/grading/privacy.py): nbgrader would make autograded notebooks
# world-readable (444). Feedback files keep nbgrader's 644, since release_feedback copies them with their rights
# into the exchange for students to fetch; make autograde closes the folders of feedback/ instead.
c.Autograde.permissions = 600  # nbgrader reads the digits as octal

# Keep giant outputs (an accidental print in a loop) out of feedback files.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60


# ---------------------------------------------------------------------------------------------
# The exchange and the late policy (issue 16; docs/instructors.md walks through a semester)
#
# nbgrader's exchange is the folder where `release_assignment` puts assignments, students'
# `fetch_assignment` / `submit` (the Assignment List) pick them up and drop submissions,
# `collect` gathers them, and `release_feedback` / `fetch_feedback` return the feedback.
# - One machine (make formgrader, make lab, nbgrader in a shell): the course keeps its own
#   exchange in exchange/ beside this file (git-ignored). `make formgrader` creates it, since the
#   Formgrader offers Release only once it exists (`nbgrader release_assignment` in a shell would create it too).
# - A JupyterHub host: every user's servers must share one folder, set for everybody in
#   /etc/jupyter/nbgrader_config.py (`c.Exchange.root = "/srv/nbgrader/exchange"`, nbgrader's
#   default, with c.CourseDirectory.course_id = "vae-course"). Under JupyterHub
#   (JUPYTERHUB_USER is set) this file leaves the exchange to that setting.
import os  # noqa: E402

if "JUPYTERHUB_USER" not in os.environ:  # nbgrader reads this file in its working directory, the course root
    c.Exchange.root = os.path.join(os.getcwd(), "exchange")

# Late submissions: `nbgrader submit` stamps each submission with its time, and the due date of an
# assignment is set with `nbgrader db assignment add NAME --duedate="2027-03-01 23:59 Europe/Berlin"`
# (or the Formgrader's Edit button). Autograding compares the two (nbgrader's LateSubmissionPlugin):
# "none" records how late a submission was and takes off nothing; "zero" gives late work no points.
# make autograde's lines, its report and nbgrader export show how late each submission came and the
# penalty. Set your class's policy in class_config.py, not here.
c.LateSubmissionPlugin.penalty_method = "none"

# ---------------------------------------------------------------------------------------------
# This class's settings (the late policy, a PostgreSQL gradebook, ...) live in class_config.py
# beside this file: git-ignored, so they stay out of the course's history; start from
# class_config.example.py. It is read last, so what it sets wins; make autograde's jobs get it too.
load_subconfig("class_config.py")  # noqa: F821 (provided by traitlets; nothing happens if the file is absent)
