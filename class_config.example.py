"""This class's nbgrader settings: copy to class_config.py (git-ignored) and edit.

nbgrader_config.py reads class_config.py last, when it exists, so anything set here wins; make
autograde's jobs and the Formgrader get it too. Keep here what differs from class to class and
should not go into the course's history. See docs/instructors.md, "Deadline and late policy".
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# The late policy (nbgrader's LateSubmissionPlugin): "none" records how late a submission came and
# takes nothing off; "zero" gives late work no points. For anything else (say 10 % a day), subclass
# nbgrader.plugins.LateSubmissionPlugin and name it in c.AssignLatePenalties.plugin_class.
c.LateSubmissionPlugin.penalty_method = "none"

# A shared gradebook instead of gradebook.db in the course folder (docs/grading.md):
# c.CourseDirectory.db_url = "postgresql+psycopg2://grader@localhost/vae_course"
# (name the driver: SQLAlchemy 2.1 reads a bare "postgresql://" as psycopg 3, which the course does not install)
