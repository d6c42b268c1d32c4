"""Student-facing text speaks of the course, never of "the seed" or "the lesson" it was built from.

The course was written from a source lesson (DESIGN.md calls it the seed). A student never meets
either, so the words must not reach them: not in the student notebooks' markdown, comments or
printed strings, not in the solution notebooks they are generated from, and not in the string
literals of vae_helpers (the checks' messages, and the docstrings a student reads with help()). Random seeds ("seed 0", ``seeds=``, ``SEEDS``)
are a different thing and stay allowed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
SOLUTION_NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
CHECK_MODULES = sorted((ROOT / "vae_helpers" / "checks").glob("*.py"))
HELPER_MODULES = sorted(path for path in (ROOT / "vae_helpers").rglob("*.py") if path.parent.name != "checks")

# "the seed's VAE", "the seed lesson", "the seed " (not followed by a number, "=" or "("), "lesson(s)".
FORBIDDEN = re.compile(r"\bseed's|\bseed lesson|\bthe seed\b(?![\s-]*[\d=(]|-to-seed)|\blessons?\b", re.IGNORECASE)


@pytest.mark.parametrize("text", [
    "the seed's VAE", "The seed's layers", "the lesson's literal random point", "this is the seed lesson's trade-off",
    "Here the seed alone moves the score", "the lesson this course follows", "Locatello's lessons",
])
def test_the_pattern_finds_the_source_lesson(text):
    assert FORBIDDEN.search(text)


@pytest.mark.parametrize("text", [
    "seed_everything(0)", "with seed 0", "the random seed", "seeds=(0, 1, 2)", "SEEDS = range(5)",
    "over five seeds", "the seeds differ", "the seed 3 run", "the seed = 7 run", "seed-to-seed spread",
    "fix the seed(0) first", "the seed-to-seed change",
])
def test_the_pattern_lets_random_seeds_through(text):
    assert not FORBIDDEN.search(text)


def _code_text(source: str) -> list[str]:
    """The comments and string literals of a notebook code cell (IPython magics and shell lines dropped)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type in (tokenize.COMMENT, tokenize.STRING) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                found.append(token.string)
    except (tokenize.TokenError, SyntaxError):  # not Python: read the whole cell
        found.append(source)
    return found


def notebook_matches(path: Path) -> list[str]:
    """Every forbidden phrase in ``path``'s markdown, code comments and code strings, with its cell id."""
    matches = []
    for cell in nbformat.read(path, as_version=4).cells:
        texts = [cell.source] if cell.cell_type == "markdown" else _code_text(cell.source)
        for text in texts:
            for match in FORBIDDEN.finditer(text):
                context = text[max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
                matches.append(f"cell {cell.get('id')}: ...{context}...")
    return matches


def module_matches(path: Path) -> list[str]:
    """Every forbidden phrase in the string literals (messages, f-string parts, docstrings) of ``path``."""
    matches = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in FORBIDDEN.finditer(node.value):
                matches.append(f"line {node.lineno}: {node.value[max(0, match.start() - 40):match.end() + 40]!r}")
    return matches


def test_there_are_notebooks_and_check_modules_to_read():
    assert len(STUDENT_NOTEBOOKS) >= 5 and len(SOLUTION_NOTEBOOKS) >= 5
    assert len(CHECK_MODULES) >= 5 and len(HELPER_MODULES) >= 10


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_student_notebooks_never_speak_of_the_seed_or_the_lesson(path):
    assert notebook_matches(path) == []


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_solution_notebooks_never_speak_of_the_seed_or_the_lesson(path):
    assert notebook_matches(path) == []


@pytest.mark.parametrize("path", CHECK_MODULES, ids=lambda p: p.name)
def test_check_messages_never_speak_of_the_seed_or_the_lesson(path):
    assert module_matches(path) == []


@pytest.mark.parametrize("path", HELPER_MODULES, ids=lambda p: str(p.relative_to(ROOT / "vae_helpers")))
def test_helper_docstrings_never_speak_of_the_seed_or_the_lesson(path):
    assert module_matches(path) == []


def test_a_planted_phrase_is_found(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Fine text."),
        nbformat.v4.new_code_cell("%matplotlib inline\nx = 1  # as the lesson says\nprint(f'seed 0: {x}')"),
    ])
    nbformat.write(notebook, tmp_path / "nb.ipynb")
    assert len(notebook_matches(tmp_path / "nb.ipynb")) == 1
    module = tmp_path / "checks.py"
    module.write_text('def check():\n    raise AssertionError(f"The seed\'s layers are {1}")\n')
    assert len(module_matches(module)) == 1
