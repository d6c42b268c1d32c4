"""The instructor's tooling: the nbgrader pipeline (course.py), the audit of submitted code, and
sandboxed grading jobs run in parallel or on a Dask cluster.

Students never import this package; it is what ``make release``, ``make course`` and
``make autograde`` run.
"""
