"""The instructor's grading tooling: sandboxed grading jobs, run in parallel or on a Dask cluster.

Students never import this package; it is what ``make autograde`` runs.
"""
