"""Checks that the notebooks' graded test cells call, one module per notebook.

Each check takes the student's function or class, raises ``CheckFailed`` (an
``AssertionError``) with a message naming the symptom, or prints a tick line.
"""

from ._core import CheckFailed
from .autoencoder import (
    check_autoencoder_behaviour,
    check_autoencoder_shapes,
    check_reconstruction_loss_properties,
    check_reconstruction_loss_value,
)

__all__ = [
    "CheckFailed",
    "check_autoencoder_behaviour",
    "check_autoencoder_shapes",
    "check_reconstruction_loss_properties",
    "check_reconstruction_loss_value",
]
