"""Helpers for the vae-course notebooks.

Importing the package loads nothing heavy (the grading tools import it too). The notebooks' locked
setup cell imports ``vae_helpers.checks`` before any student cell runs, which is what lets the
checks record the real torch functions first (see ``vae_helpers/checks/_core.py``).
"""
