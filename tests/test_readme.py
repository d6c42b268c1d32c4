"""The README is the front door: what the course is, its map, the ways in, and links to the reference in docs/.

Its "Open in Colab" links and install lines are built from the one repository URL in pyproject.toml's
``[project.urls]``, and each link opens a notebook that exists. The reference the README used to hold
(claims ledger, measured figures, grading internals, layout) lives in docs/, linked from it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*/*.ipynb"))
COLAB = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _sections(text: str) -> dict[str, str]:
    """Each ``## `` section's text, by heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def colab_problems(text: str) -> list[str]:
    """What is wrong with the Colab links of ``text``: built from another URL, opening no notebook, or missing."""
    prefix = f"https://colab.research.google.com/github/{URL.removeprefix('https://github.com/')}/blob/main/"
    problems, opened = [], []
    for link in COLAB.findall(text):
        if not link.startswith(prefix):
            problems.append(f"{link} is not built from {URL}")
        elif not (ROOT / link.removeprefix(prefix)).is_file():
            problems.append(f"{link} opens no notebook of notebooks/")
        else:
            opened.append(link.removeprefix(prefix))
    problems += [f"no Colab link to {path}" for path in NOTEBOOKS if path not in opened]
    return problems


def dead_links(page: Path, text: str) -> list[str]:
    """The relative links of ``text`` (a page at ``page``) whose file does not exist."""
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+://|#|mailto:", t)]
    return [t for t in targets if not (page.parent / t.split("#")[0]).exists()]


def test_every_colab_link_is_built_from_the_repository_url_and_opens_an_existing_notebook():
    assert URL.startswith("https://github.com/") and URL.removeprefix("https://github.com/").count("/") == 1, URL
    assert colab_problems(README) == []


def test_the_binder_link_is_built_from_the_repository_url():
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", README)
    assert links == [f"https://mybinder.org/v2/gh/{URL.removeprefix('https://github.com/')}/HEAD?urlpath=lab/tree/notebooks"]
    assert (ROOT / "binder" / "requirements.txt").is_file(), "what Binder builds from"


def test_the_install_lines_use_the_repository_url():
    for spec in re.findall(r'pip install "vae-course(?:\[\w+\])? @ git\+([^"]+)"', README):
        assert spec == URL
    assert f'pip install "vae-course @ git+{URL}"' in README


def test_the_three_ways_in_and_the_quickstart_commands_are_on_the_first_screen():
    sections = _sections(README)
    assert list(sections)[:2] == ["Course map", "Three ways in"], "what the course is, its map, then the ways in"
    ways = sections["Three ways in"]
    assert re.findall(r"^\*\*(In Colab|On a laptop|A clone with make)", ways, re.M) == \
        ["In Colab", "On a laptop", "A clone with make"]
    for command in ("make course", "make test", "make lab", 'pip install -c requirements.lock -e ".[lab]"',
                    "jupyter lab notebooks/"):
        assert command in ways, command
    assert "docs/install.md" in ways and "JupyterHub" in ways


def test_the_readme_is_short_and_its_reference_lives_in_docs():
    assert len(README) < 10_000, "the front door; reference material belongs in docs/"
    moved = {"docs/claims.md": "## Claims ledger", "docs/performance.md": "## Measured figures",
             "docs/grading.md": "## Grading you can trust", "docs/maintainers.md": "## Layout"}
    for path, heading in moved.items():
        assert heading not in README
        assert heading in (ROOT / path).read_text(encoding="utf-8"), f"{heading} belongs in {path}"
        assert f"]({path})" in README, f"the README links {path}"
    for path in ("docs/install.md", "docs/instructors.md"):
        assert f"]({path})" in README, f"the README links {path}"


def test_relative_links_of_the_readme_and_docs_point_to_files_that_exist():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert dead_links(page, page.read_text(encoding="utf-8")) == [], page.relative_to(ROOT)


def test_the_link_checks_can_fail():
    """Links to another repository or a missing notebook, a notebook left out, a dead relative link: all caught."""
    stranger = README.replace(URL.removeprefix("https://github.com/"), "someone/else", 1)
    assert any("is not built from" in p for p in colab_problems(stranger))
    missing = README.replace("notebooks/05_beta_vae/05_beta_vae.ipynb", "notebooks/06_nope/06_nope.ipynb")
    problems = colab_problems(missing)
    assert any("opens no notebook" in p for p in problems) and "no Colab link to notebooks/05_beta_vae/05_beta_vae.ipynb" in problems
    assert dead_links(ROOT / "README.md", "see [a](docs/nope.md#x), [b](https://example.org), [c](LICENSE)") == ["docs/nope.md#x"]
