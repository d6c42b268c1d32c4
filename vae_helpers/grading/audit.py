"""Flag submissions whose code tampers with grading, for an instructor to review.

The checks refuse to grade once torch or the checks have been replaced (see
``checks._core``), but code running in the grading kernel can always defeat checks
running in the same kernel. So ``make autograde`` also reads each submission's code
and lists what looks like tampering: assigning to attributes of torch, math, builtins
or the course package, importing the checks, defining functions named like checks,
defining ``__eq__``, or killing the kernel.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

# modules a student's code has no reason to modify
GUARDED_MODULES = ("torch", "math", "builtins", "numpy", "vae_helpers")
GUARDED_NAMES = {"torch", "F", "nn", "np", "numpy", "math", "builtins", "vae_helpers"}
SUSPICIOUS_METHODS = {"__eq__", "__ne__", "__bool__", "__torch_function__"}


def student_code(notebook: Path) -> list[str]:
    """The sources of the code cells that nbgrader will not restore (unlocked, not graded)."""
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, ValueError):  # unreadable: nbgrader reports it
        return []
    cells = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and not (meta.get("locked") or meta.get("grade")):
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else source)
    return cells


def _python(source: str) -> ast.Module | None:
    """``source`` parsed as Python, after turning IPython magics into plain code; None if it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain on a name, else ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return ""


def findings(source: str) -> list[str]:
    """What in one cell's ``source`` looks like tampering with grading, in plain words."""
    tree = _python(source)
    if tree is None:
        return []
    guarded = set(GUARDED_NAMES)
    found = []
    for node in ast.walk(tree):  # names bound to guarded modules, e.g. `import vae_helpers.checks as c`
        if isinstance(node, ast.Import):
            guarded |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                        if alias.name.split(".")[0] in GUARDED_MODULES}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in GUARDED_MODULES:
            guarded |= {alias.asname or alias.name for alias in node.names}
            if (node.module or "").startswith("vae_helpers.checks") or any(
                    alias.name == "checks" for alias in node.names):
                found.append(f"imports the checks ({node.module})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.startswith("vae_helpers.checks") for a in node.names):
            found.append("imports the checks (vae_helpers.checks)")
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            name = _dotted(target)
            if "." in name and name.split(".")[0] in guarded:
                found.append(f"assigns to {name}")
        if isinstance(node, ast.Call):
            called = _dotted(node.func)
            if called == "setattr" and node.args and _dotted(node.args[0]).split(".")[0] in guarded:
                found.append(f"calls setattr on {_dotted(node.args[0])}")
            if called in ("os._exit", "os.kill", "os.abort"):
                found.append(f"calls {called} (kills the kernel)")
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("check_"):
            found.append(f"defines {node.name}, a check's name")
        if isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} & SUSPICIOUS_METHODS
            if methods:
                found.append(f"class {node.name} defines {', '.join(sorted(methods))}")
    return list(dict.fromkeys(found))


def audit(notebook: Path) -> list[str]:
    """Everything in the student code of ``notebook`` that an instructor should look at."""
    return list(dict.fromkeys(f for source in student_code(notebook) for f in findings(source)))


FLAGS = Path("autograde-reports") / "flags"  # in the course: <assignment>/<student>.txt, one reason a line


def flags_file(course_root: Path, assignment: str, student: str) -> Path:
    """Where the reasons ``student``'s ``assignment`` was flagged for are kept."""
    return course_root / FLAGS / assignment / f"{student}.txt"


def record_flags(course_root: Path, assignment: str, student: str, reasons: list[str]) -> None:
    """Keep ``reasons`` (replacing those of an earlier grading), readable by the instructor only; none: no file."""
    path = flags_file(course_root, assignment, student)
    path.unlink(missing_ok=True)
    if reasons:
        from .privacy import private_text

        private_text(path, "".join(f"{reason}\n" for reason in reasons))


def probe_flags(course_root: Path, assignment: str, student: str) -> list[str]:
    """Every reason the last grading flagged ``student``'s ``assignment`` for review (tampering found in its
    code, probing seen by the sandbox), in plain words; [] when honest or never graded."""
    path = flags_file(course_root, assignment, student)
    return path.read_text().splitlines() if path.is_file() else []
