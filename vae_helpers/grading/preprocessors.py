"""The course's own nbgrader preprocessors, named by import path in ``nbgrader_config.py``.

- :class:`ForgetDuplicateIds` keeps a submission with a duplicated cell gradable.
- :class:`RestoreLockedCells` is nbgrader's ``OverwriteCells`` without its false alarm on every
  honest submission's hidden-test cells.
- :class:`ShortenDemos` makes grading pay for grading: the demonstration cells that train models
  for the lecture's plots feed no grade, yet took most of the autograding time. While grading,
  they run with the smaller budgets of :data:`SHORTER`, and the autograded notebook (so the
  student's feedback) opens with a note that says which cells ran shorter and by how much.

ShortenDemos runs after RestoreLockedCells, so it sees the locked cells as released.
"""

from __future__ import annotations

import ast

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_locked
from traitlets import Bool

# What grading shortens: {assignment: {locked cell id: {name: value while grading}}}. ``name`` is a
# top-level assignment in the cell (``STEPS = 800``, also inside ``A, B = 1, 2``) or a keyword
# argument of a call in it (``steps=1500``). No graded test cell uses what these cells compute:
# a submission without them scores the same (tests/test_answer_suites.py grades exactly that).
SHORTER: dict[str, dict[str, dict[str, object]]] = {
    "01_autoencoder": {
        "train": {"steps": 100},
        "random": {"N": 100},
        "ae2d": {"steps": 50},
    },
    "04_vae": {
        "train": {"STEPS": 50},  # also the budget of the claim-samples cell's models
        "likelihoods": {"LIKELIHOOD_STEPS": 25},
        "vae2d": {"steps": 25},
        "yardstick": {"N": 100},  # also the size of the claim-samples cell's sets
        "iwae": {"steps": 25},
    },
    "05_beta_vae": {
        "reductions-train": {"REDUCTION_STEPS": 50},
        "sweep": {"STEPS": 50},
        "sample-quality": {"N": 100},  # evaluation only: 100 prior samples per beta instead of 1,000
        "collapse-train": {"COLLAPSE_STEPS": 50, "WARMUP": 25},
        "shapes-train": {"SEEDS": [0, 1], "SHAPE_STEPS": 25},
    },
}
NOTE_ID = "graded-with-shorter-demos"


class ForgetDuplicateIds(NbGraderPreprocessor):
    """Turn the copies DeduplicateIds has emptied (``"nbgrader": {}``) into ordinary cells.

    When a submission holds two cells with the same id, nbgrader 0.9 keeps the last and
    empties the metadata of the others; with ``add_missing_cells`` on, an empty entry
    then makes autograding fail (KeyError: 'grade_id') and the submission is dropped.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader") == {}:
                del cell.metadata["nbgrader"]
        return nb, resources


class RestoreLockedCells(OverwriteCells):
    """nbgrader's OverwriteCells (configured as ``c.OverwriteCells``), quiet about hidden tests.

    A test cell as released lacks its hidden tests, so its checksum differs from the gradebook's in
    every honest submission and nbgrader warns "Attribute 'checksum' for cell ... has changed!"
    (jupyter/nbgrader#1961), which reads like tampering. A locked cell whose source is exactly its
    released version gets the gradebook's source back first, so only cells a student really
    edited are reported (and restored, as before).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and is_locked(cell):
            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id).source
            except MissingEntry:
                source = None
            if source is not None and cell.source == released(source, cell):
                cell.source = source
        return super().preprocess_cell(cell, resources, cell_index)


def released(source: str, cell) -> str:
    """``source`` as nbgrader releases it in ``cell``: without its hidden-test region."""
    copy = nbformat.from_dict(cell)
    copy.source = source
    ClearHiddenTests()._remove_hidden_test_region(copy)
    return copy.source


def _value_nodes(tree: ast.Module, name: str) -> list[ast.expr]:
    """The expressions ``name`` is set to in ``tree``: top-level ``name = ...`` (alone or in a tuple
    assignment with a tuple of values) and every keyword argument ``name=...``."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id == name:
                found.append(node.value)
            elif (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                  and len(target.elts) == len(node.value.elts)):
                found += [v for t, v in zip(target.elts, node.value.elts) if isinstance(t, ast.Name) and t.id == name]
    found += [kw.value for kw in ast.walk(tree) if isinstance(kw, ast.keyword) and kw.arg == name]
    return found


def shorten(source: str, budgets: dict[str, object]) -> tuple[str, list[str]]:
    """``source`` with each name of ``budgets`` set to its value, and what changed ("steps 1500 -> 150").

    Raises ValueError when a name is not found, so a change to a notebook cannot silently end
    the shortening.
    """
    tree = ast.parse(source)
    lines = source.split("\n")
    edits, changes = [], []
    for name, value in budgets.items():
        nodes = _value_nodes(tree, name)
        if not nodes:
            raise ValueError(f"no assignment or keyword argument {name!r} to shorten")
        for node in nodes:
            edits.append((node, repr(value)))
            changes.append(f"{name} {ast.get_source_segment(source, node)} -> {value!r}")
    marked = set()
    for node, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        lines[first:last + 1] = [lines[first][:node.col_offset] + text + lines[last][node.end_col_offset:]]
        if node.lineno not in marked:  # a line ending inside a string would swallow the comment
            lines[first] += "  # shorter while grading (see the note at the top)"
            marked.add(node.lineno)
    shortened = "\n".join(lines)
    ast.parse(shortened)  # never hand nbgrader a cell this broke
    return shortened, changes


def note(changes: dict[str, list[str]]) -> nbformat.NotebookNode:
    """The markdown cell that opens an autograded notebook whose demonstrations ran shorter."""
    rows = "\n".join(f"| `{cell}` | {'; '.join(c.replace(' -> ', ' → ') for c in changed)} |"
                     for cell, changed in changes.items())
    cell = nbformat.v4.new_markdown_cell(
        "**Graded with shorter demonstrations.** To grade a class quickly, the cells below that train "
        "models for the lecture's plots ran with smaller budgets than in your notebook. No test uses "
        "what they compute, so your score is the one a full run gives; but their plots and numbers "
        "here are rougher than yours. Run the notebook yourself to see them in full.\n\n"
        f"| cell | shortened (as released → while grading) |\n|---|---|\n{rows}")
    cell.id = NOTE_ID
    return cell


class ShortenDemos(NbGraderPreprocessor):
    """Run the demonstration cells of :data:`SHORTER` with their grading budgets, and say so."""

    enabled = Bool(True, help="shorten the demonstration cells while autograding (see SHORTER)").tag(config=True)

    def preprocess(self, nb, resources):
        budgets = SHORTER.get(resources.get("nbgrader", {}).get("assignment"), {})
        changes = {}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in budgets and cell.metadata["nbgrader"].get("locked"):
                try:
                    cell.source, changes[grade_id] = shorten(cell.source, budgets[grade_id])
                except (SyntaxError, ValueError) as err:
                    self.log.warning("Not shortening cell %s: %s", grade_id, err)
        if changes:
            nb.cells.insert(0, note(changes))
        return nb, resources
