"""nbgrader configuration for the vae-course.

Run nbgrader from the repository root (the Makefile does) so that this file is
picked up. Instructors' solution notebooks live in ``solutions/`` (nbgrader's
source), and ``nbgrader generate_assignment`` writes the student versions to
``notebooks/``.
"""

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

# nbgrader gives zero points to a test cell with *any* stderr output. Warnings and
# progress bars are not failures (a failing check raises an exception), so stderr
# is dropped before grading. The checks also capture stderr themselves, which
# covers nbgrader's Validate button.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"

# Keep giant outputs (an accidental print in a loop) out of feedback files.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
