"""The student experience in a real browser: JupyterLab started by `make lab`, driven by Playwright.

The other tests run notebooks headless (nbclient, nbgrader); none of them sees what a student
sees. Here, for every notebook of the course, in Chromium:

* the student version opens, with nbgrader's *Validate* button in the notebook toolbar and the
  *Nbgrader* menu in the menu bar, and Validate on it lists exactly its failing visible tests;
* a completed copy (the student notebook with the solutions' answers) runs with *Run All Cells*
  to the end without an error or stderr output, every figure the kernel sent is drawn by the
  browser, and Validate reports success;
* in 04, moving a latent slider redraws the decoded digit.

JupyterLab serves a scratch copy of the course (see ``browser.py``), so nothing here writes into
the repository except the screenshots, kept for a person to look at in
``build/browser-screenshots/`` (listed at the end of the run). Kernels use the embedded MNIST
subset. Waits watch the page (kernel status, execution counts, dialogs); their timeouts are
minutes-long safety nets, so a slow machine makes the module slower, never red.

Needs Chromium and Playwright (skipped otherwise, saying how to install them). One server and one
browser serve the whole module; one notebook page is open at a time besides a student's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import browser
from vae_helpers.grading import course

pytestmark = pytest.mark.slow  # runs every notebook in JupyterLab: left out of `make quick`

if (REASON := browser.missing_requirement()) is not None:
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=2 * browser.MINUTE)  # a safety net: a busy kernel answers late, not wrongly

ROOT = Path(__file__).resolve().parents[1]
NAMES = course.assignments(ROOT)
SCREENSHOTS = ROOT / "build" / "browser-screenshots"
VIEWPORT = {"width": 1440, "height": 900}
EXPLORER = "04_vae"  # the notebook with the latent sliders
# What the server logs when nbgrader cannot load a config file; Validate then carries on without it.
CONFIG_ERROR = "Exception while loading config file"


# ---------------------------------------------------------------------------------------------
# One server, one browser, one screenshot folder for the module


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a scratch copy of the course, started with `make lab`; stopped at the end."""
    scratch = tmp_path_factory.mktemp("browser")
    server = browser.JupyterLab(ROOT, browser.make_course(ROOT, scratch / "course", NAMES), scratch)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def context():
    """A Chromium browser context (one window size for every page)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser.chromium_executable())
        try:
            yield chromium.new_context(viewport=VIEWPORT)
        finally:
            chromium.close()


class Screenshots:
    """The screenshot folder, emptied at the start; the files are listed in the run's summary."""

    def __init__(self, folder: Path):
        self.folder, self.files = folder, []
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def path(self, name: str) -> Path:
        self.files.append(self.folder / f"{name}.png")
        return self.files[-1]

    def notebook(self, notebook: browser.Notebook, name: str) -> None:
        self.files += notebook.screenshot(self.folder / f"{name}.png")

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("=", "browser screenshots")
        terminalreporter.write_line(f"{len(self.files)} files in {self.folder}/:")
        for file in self.files:
            terminalreporter.write_line(f"  {file.name}")


@pytest.fixture(scope="module")
def screenshots(request):
    """Where the module's screenshots go (``build/browser-screenshots/``), listed at the end of the run."""
    shots = Screenshots(SCREENSHOTS)
    request.config.pluginmanager.register(shots, "vae-browser-screenshots")
    return shots


# ---------------------------------------------------------------------------------------------
# The notebooks: a student's blank one, and a completed copy after Run All


@pytest.fixture(scope="module", params=NAMES)
def student(request, lab, context, screenshots):
    """Student notebook ``NN_name.ipynb`` open in JupyterLab, its kernel idle."""
    name = request.param
    notebook = browser.Notebook.open(context, lab, f"{name}/{name}.ipynb")
    screenshots.notebook(notebook, f"{name}-blank")
    yield notebook
    notebook.close()


@dataclass
class Run:
    """A completed copy after Run All: the page, the run's final state, the notebook as saved."""

    name: str
    notebook: browser.Notebook
    state: dict
    saved: object


@pytest.fixture(scope="module", params=NAMES)
def completed(request, lab, context, screenshots):
    """The completed copy of notebook ``name`` opened, run with Run All Cells, and saved."""
    name = request.param
    notebook = browser.Notebook.open(context, lab, f"{name}/{name}{browser.COMPLETED}.ipynb")
    state = notebook.run_all()
    notebook.save()
    screenshots.notebook(notebook, f"{name}-completed")
    yield Run(name, notebook, state, notebook.saved())
    notebook.close()


def visible_tests(nb) -> list[str]:
    """The last code line of each graded test cell that checks something in the student's version
    (the hidden-only test cells hold no code there)."""
    calls = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            code = [line.strip() for line in cell.source.splitlines()
                    if line.strip() and not line.lstrip().startswith(("#", "from ", "import "))]
            calls += code[-1:]
    return calls


def outputs_of_type(nb, output_type: str) -> list:
    """The outputs of ``nb``'s code cells of one type ("error", "display_data", ...)."""
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == output_type]


# ---------------------------------------------------------------------------------------------
# The student version


def test_student_notebook_opens_with_validate_button_and_nbgrader_menu(student):
    """Every cell is shown, title first, and nbgrader's lab extension is there: Validate in the
    notebook toolbar, Nbgrader in the menu bar."""
    expect(student.toolbar_button("Validate")).to_be_visible()
    expect(student.menu("Nbgrader")).to_be_visible()
    cells = student.saved().cells
    expect(student.panel.locator(".jp-CodeCell")).to_have_count(sum(c.cell_type == "code" for c in cells))
    expect(student.panel.locator(".jp-MarkdownCell").first).to_contain_text(cells[0].source.splitlines()[0].lstrip("# "))


def test_validate_on_the_blank_notebook_lists_its_failing_tests(student, lab, screenshots):
    """Validate on the notebook as handed out fails, and its dialog shows each visible test cell
    with the check's message (hidden-only test cells have nothing to fail yet)."""
    name = Path(student.path).stem
    failing = visible_tests(student.saved())
    outcome, text = student.validate(screenshot=screenshots.path(f"{name}-blank-validate"))
    assert CONFIG_ERROR not in lab.log.read_text(errors="replace"), lab.log_tail()
    assert outcome == "validation-failed", text
    assert text.count("The following cell failed:") == len(failing) > 0, text
    missing = [call for call in failing if call not in text]
    assert missing == [], f"Validate does not list these failing tests:\n{text}"
    assert text.count("CheckFailed") >= len(failing), f"each failure should say what is wrong:\n{text}"


# ---------------------------------------------------------------------------------------------
# A completed copy


def test_run_all_on_a_completed_copy_runs_every_cell_without_error(completed):
    """Run All Cells goes to the end: every code cell has an execution count, the page shows no
    traceback or stderr text (red boxes), and the saved notebook holds no error output."""
    state, shown = completed.state, completed.notebook.stderr_outputs()
    assert shown == [], f"error or stderr output shown (run: {state}):\n" + "\n---\n".join(shown)
    assert state["dialog"] == "", f"a dialog stopped the run: {state['dialog']}"
    assert state["idle"] and state["queued"] == 0 and state["unrun"] == 0, f"Run All stopped early: {state}"
    errors = outputs_of_type(completed.saved, "error")
    assert errors == [], [f"{e.ename}: {e.evalue}" for e in errors]


def test_every_figure_of_a_completed_copy_is_drawn(completed):
    """Every PNG the kernel sent (matplotlib figures) is an image the browser decoded, and each
    notebook draws at least one."""
    sent = sum("image/png" in o.data for kind in ("display_data", "execute_result")
               for o in outputs_of_type(completed.saved, kind))
    figures = [image for image in completed.notebook.images() if not image["widget"]]
    assert sent >= 1, "the notebook draws no figure in JupyterLab"
    assert len(figures) == sent, f"{sent} figures sent by the kernel, {len(figures)} shown as images"
    blank = [image for image in figures if not (image["complete"] and image["width"] > 0 and image["height"] > 0)]
    assert blank == [], f"{len(blank)} of {len(figures)} figures not drawn: {blank}"


def test_moving_a_latent_slider_redraws_the_decoded_digit(completed, screenshots):
    """Dragging the first latent knob of 04's explorer changes its readout and the digit shown
    (the kernel decodes the new code and sends a new picture)."""
    assert EXPLORER in NAMES, f"no notebook {EXPLORER}: which one holds the latent sliders now?"
    if completed.name != EXPLORER:
        pytest.skip(f"the latent sliders are in {EXPLORER} only")
    page = completed.notebook.page
    knobs = completed.notebook.panel.locator(".widget-hbox", has=page.locator(".widget-slider")).filter(
        has=page.locator("img.widget-image")).first
    expect(knobs).to_be_visible()
    picture, slider = knobs.locator("img.widget-image"), knobs.locator(".widget-slider").first
    readout, handle = slider.locator(".widget-readout"), slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    src, value, before = picture.get_attribute("src"), readout.text_content(), picture.screenshot()
    knobs.screenshot(path=screenshots.path(f"{EXPLORER}-knobs-before"))

    knob, track = handle.bounding_box(), slider.locator(".noUi-target").bounding_box()
    x, y = knob["x"] + knob["width"] / 2, knob["y"] + knob["height"] / 2
    towards = 1 if x < track["x"] + track["width"] / 2 else -1  # the side with room to move
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + towards * track["width"] / 3, y, steps=6)
    page.mouse.up()

    expect(picture).not_to_have_attribute("src", src)  # the kernel sent a new picture
    expect(readout).not_to_have_text(value)
    knobs.screenshot(path=screenshots.path(f"{EXPLORER}-knobs-after"))
    assert picture.screenshot() != before, "the slider moved but the digit looks the same"


def test_validate_on_a_completed_copy_reports_success(completed, lab, screenshots):
    """Validate on the completed copy (after Run All; Validate saves it and runs it again headless)
    reports success, with the course's nbgrader_config.py loaded."""
    outcome, text = completed.notebook.validate(screenshot=screenshots.path(f"{completed.name}-completed-validate"))
    assert CONFIG_ERROR not in lab.log.read_text(errors="replace"), lab.log_tail()
    assert outcome == "validation-success", text
