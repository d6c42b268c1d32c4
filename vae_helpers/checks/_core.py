"""What every check shares: failures with actionable messages, isolation, tolerances.

A check is a function decorated with :func:`check`. It

- runs with its own random seed inside ``torch.random.fork_rng``, so it gives the
  same verdict whatever ran before it and leaves the notebook's random state alone;
- runs with gradients enabled and with warnings and stderr captured, because
  nbgrader gives zero points to a test cell that writes to stderr;
- runs on one CPU thread: its tensors are small, a second thread only adds start-up
  cost (and stalls badly when other programs busy the cores), and the sums come out
  in the same order on every machine;
- raises :class:`CheckFailed` (an ``AssertionError``) with a message that names
  the symptom, or prints one line starting with a tick when everything passed;
- returns ``None``: nbgrader would read a returned number as partial credit;
- refuses to grade (fails with a message saying why) when the notebook has replaced
  a function of torch, ``torch.Tensor``, ``torch.nn.functional``, ``math``, a builtin
  the checks use, or a check itself: see :func:`trust`.

The notebooks' locked setup cell imports this module (``from vae_helpers.checks import
require``), and nbgrader restores that cell before grading, so the originals are recorded before
any student code runs.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import math
import sysconfig
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_allclose = torch.allclose
_isfinite = torch.isfinite
_Tensor = torch.Tensor
_Parameter = nn.Parameter

# What the checks rely on, as it was when this module was imported:
# {label: (namespace, {name: value}, is a class)}. Read with the builtins bound here.
_TRUSTED: dict[str, tuple[Any, dict[str, Any], bool]] = {}
_BUILTINS = ("isinstance", "issubclass", "type", "len", "abs", "float", "int", "bool", "round", "min", "max",
             "sum", "any", "all", "getattr", "hasattr", "vars", "range", "zip", "enumerate", "sorted", "tuple", "list")
_getattr, _vars = getattr, vars


def trust(label: str, namespace: Any, names: tuple[str, ...] | None = None) -> None:
    """Record the attributes of ``namespace`` (only ``names`` if given); checks refuse to run once one is replaced."""
    values = {name: getattr(namespace, name) for name in names} if names else dict(vars(namespace))
    _TRUSTED[label] = (namespace, values, isinstance(namespace, type))


def replaced() -> list[str]:
    """The trusted attributes that the notebook has since replaced, deleted or (on a class) added."""
    found = []
    for label, (namespace, before, is_class) in _TRUSTED.items():
        now = {name: _getattr(namespace, name, None) for name in before} if namespace is builtins \
            else _vars(namespace)
        for name, value in before.items():
            new = now.get(name)
            # torch wraps a few of its own functions when parts of it load later (torch.manual_seed)
            if new is not value and _getattr(new, "__wrapped__", None) is not value:
                found.append(f"{label}.{name}")
        if is_class:
            found += [f"{label}.{name}" for name in now.keys() - before.keys()]
    return found


for _label, _namespace in (("torch", torch), ("torch.Tensor", torch.Tensor), ("torch.nn.functional", F),
                           ("math", math)):
    trust(_label, _namespace)
trust("builtins", builtins, _BUILTINS)


class CheckFailed(AssertionError):
    """A check found a problem; the message says what the student's code did wrong."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows in place of a traceback: the message alone.

        When the student's code raised inside a check, the message already says which call
        raised what, and on which of the student's lines (see :func:`call`); the long traceback
        through PyTorch's internals and the check's own frames is left out.
        """
        return [f"CheckFailed: {self}"]


def fail(message: str) -> None:
    """Stop the check with ``message`` (shown to the student)."""
    raise CheckFailed(message)


def check(func: Callable[..., None]) -> Callable[..., None]:
    """Decorator that makes ``func`` a deterministic, quiet, self-reporting check."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]), torch.enable_grad(), \
                    warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                _refuse_if_tampered()
                torch.manual_seed(1234)
                message = func(*args, **kwargs)
        except CheckFailed as failure:
            # A fresh exception: the student sees the message, not the check's internals.
            raise CheckFailed(str(failure)) from None
        except Exception as err:  # the student's object broke the check somewhere outside call()
            raise CheckFailed(f"Checking stopped with {type(err).__name__}: {err}. Compare your code "
                              f"with what the exercise asks for.") from None
        finally:
            torch.set_num_threads(threads)
        print(f"\N{CHECK MARK} {message or func.__name__ + ' passed'}")

    return wrapper


def _refuse_if_tampered() -> None:
    tampered = replaced()
    if tampered:
        more = f" and {len(tampered) - 3} more" if len(tampered) > 3 else ""
        fail(f"This notebook replaced {', '.join(tampered[:3])}{more}. The checks only grade with the real "
             f"torch, math, builtins and checks: remove the code that assigns to them, restart the kernel "
             f"and run all cells again.")


def call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run student code ``fn``; turn any exception into a failure that names ``what``.

    The failure's message says which call raised which exception, with its message and the
    student's own line (number and function) where it happened; the exception's traceback (mostly PyTorch's
    internals) is not chained to it, so the message is what the student reads first.
    """
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError as err:
        raise CheckFailed(f"{what} is not implemented yet ({err}).") from None
    except Exception as err:  # the student's bug, reported as such
        where = _students_line(err)
        raise CheckFailed(f"{what} raised {type(err).__name__}: {err}{where}") from None


# Code that is not the student's: installed packages (torch among them), this course package, Python's library.
_NOT_STUDENTS = tuple(str(Path(path).resolve()) for path in (
    Path(torch.__file__).parents[1], Path(__file__).parents[1], sysconfig.get_paths()["stdlib"]))


def _students_line(err: BaseException) -> str:
    """' (line N, in name)' for the innermost frame of ``err``'s traceback that is the student's code (outside
    :data:`_NOT_STUDENTS`; in a notebook N counts the lines of the cell), or '' when there is none. The line's
    code itself is left out: the student has it in front of them, and feedback shows no code."""
    own = [frame for frame in traceback.extract_tb(err.__traceback__)
           if not str(Path(frame.filename).resolve()).startswith(_NOT_STUDENTS)]
    return f" (line {own[-1].lineno}, in {own[-1].name})" if own else ""


def expect_tensor(value: Any, what: str, shape: tuple[int, ...] | None = None,
                  dtype: torch.dtype | None = torch.float32) -> torch.Tensor:
    """Fail unless ``value`` is a finite tensor of the given shape and dtype."""
    if not isinstance(value, _Tensor):
        fail(f"{what} should be a torch.Tensor, got {type(value).__name__}.")
    if type(value) not in (_Tensor, _Parameter):
        fail(f"{what} is a {type(value).__name__}, a subclass of torch.Tensor; return a plain tensor.")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"{what} has shape {tuple(value.shape)}; expected {tuple(shape)}.")
    if dtype is not None and value.dtype != dtype:
        fail(f"{what} has dtype {value.dtype}; expected {dtype}.")
    if not bool(_isfinite(value.detach()).all()):
        fail(f"{what} contains NaN or infinite values.")
    return value


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """True when tensors a and b agree elementwise within tolerances."""
    a, b = torch.as_tensor(a).detach().double(), torch.as_tensor(b).detach().double()
    return a.shape == b.shape and bool(_allclose(a, b, rtol=rtol, atol=atol))


def build_model(cls: type, name: str, **kwargs: int) -> nn.Module:
    """Instantiate the student's model class ``cls`` (called ``name`` in messages) with ``kwargs``."""
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    model = call(f"{name}({args})", cls, **kwargs)
    if not isinstance(model, nn.Module):
        fail(f"{name}({args}) should build an nn.Module, got {type(model).__name__}.")
    if not any(p.requires_grad for p in model.parameters()):
        fail(f"{name}({args}) has no trainable parameters: create its layers in __init__.")
    return model


def fake_images(batch: int, seed: int = 0, pixels: int = 784) -> torch.Tensor:
    """A batch of fake images (B, pixels) in [0, 1], the same for a given seed."""
    return torch.rand(batch, pixels, generator=torch.Generator().manual_seed(seed))
