"""Predictions the student commits before an experiment, printed beside what it measured.

A notebook asks for a prediction in an ordinary, editable code cell (no nbgrader metadata, so
autograding keeps whatever the student wrote and awards no points for it)::

    PREDICT_RATIO = None  # your guess: a number

and, after the experiment, a locked cell prints both::

    predictions.show(PREDICT_RATIO, measured=ratio, what="variance ratio at mu = 0")
"""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    """A short, readable form of a prediction or a measurement."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def verdict(prediction: Any, measured: Any, what: str, unit: str = "") -> str:
    """One line that sets the student's prediction beside the measurement.

    ``prediction`` is whatever the student wrote (``None`` when they left it blank, a number,
    a string for a choice); ``measured`` is the value the experiment printed. For numbers
    the line also says by what factor the two differ, so a guess can be off by a ratio.
    """
    unit = f" {unit}" if unit else ""
    seen = f"measured {_fmt(measured)}{unit}"
    if prediction is None:
        return f"{what}: no prediction made (it is still None); {seen}."
    line = f"{what}: you predicted {_fmt(prediction)}{unit}, {seen}"
    numbers = (int, float)
    if isinstance(prediction, numbers) and isinstance(measured, numbers) and not isinstance(prediction, bool):
        if prediction > 0 and measured > 0:
            ratio = max(prediction, measured) / min(prediction, measured)
            line += " (the same to within 10 %)" if ratio < 1.1 else f" (off by a factor of {ratio:.2g})"
    elif isinstance(prediction, str) and isinstance(measured, str):
        line += " (right)" if prediction.strip().lower() == measured.strip().lower() else " (not what happened)"
    return line + "."


def show(prediction: Any, measured: Any, what: str, unit: str = "") -> None:
    """Print :func:`verdict`."""
    print(verdict(prediction, measured, what, unit))
