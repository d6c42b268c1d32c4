"""A semester on nbgrader's exchange: a real JupyterHub, driven through its pages by a real browser.

The loop of docs/instructors.md, end to end, for assignment 02_reparameterization:

1. the instructor releases it from the Formgrader (in JupyterLab);
2. each student fetches it from the Assignment List, answers ``reparameterize`` (alice right, bob
   wrong: ``torch.normal`` passes no gradient) and submits it;
3. the instructor collects the submissions (Formgrader), grades them the course's way
   (``python -m vae_helpers.grading.course autograde``, as ``make autograde`` does), then generates
   and releases the feedback (Formgrader);
4. each student fetches their feedback from the Assignment List, opens it, and reads their check's
   verdict: alice a tick line, bob the failing check's ``CheckFailed`` message.

The hub (``hub.py``) runs in the test's temporary folder with a scratch copy of the course, a
dummy authenticator and local single-user servers; the test starts and stops every process itself
(hub, proxy, servers, kernels) and checks none is left. Waits watch the pages; their timeouts are
minutes-long safety nets. Screenshots of every step go to ``build/semester-screenshots/``.

Needs jupyterhub (a dev dependency), configurable-http-proxy (npm) and Chromium; skipped otherwise,
saying how to install them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import browser
import hub

pytestmark = pytest.mark.slow  # a hub, three servers, a browser and a grading run

if (REASON := hub.missing_requirement()) is not None:
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=3 * browser.MINUTE)  # safety nets: a busy machine answers late, not wrongly

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02_reparameterization"
EXERCISE = "reparameterize"  # the grade_id of the exercise cell the students fill in
DUE = "2030-01-01 00:00:00 UTC"  # far ahead: both submissions are on time
WRONG = ("def reparameterize(mu, logvar):\n"
         "    return torch.normal(mu, torch.exp(0.5 * logvar))\n")
SCREENSHOTS = ROOT / "build" / "semester-screenshots"
VIEWPORT = {"width": 1440, "height": 900}  # wide enough for the Formgrader's desktop layout
PASSWORD = "any"  # the dummy authenticator takes any password
CURRENT_DOCUMENT = ".jp-MainAreaWidget:not(.lm-mod-hidden)"  # the tab on show in JupyterLab's main area


def right_answer() -> str:
    """The exercise cell of the solution notebook, without nbgrader's solution markers."""
    cells = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).cells
    source = next(c.source for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == EXERCISE)
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", source)


ANSWERS = {"alice": right_answer(), "bob": WRONG}


# ---------------------------------------------------------------------------------------------
# Pages


class Shots:
    """Numbered screenshots of the steps, in :data:`SCREENSHOTS` (emptied first)."""

    def __init__(self, folder: Path):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.count = folder, 0

    def take(self, page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"))


def log_in(browser_, server: hub.Hub, user: str):
    """A new browser context for ``user``, logged in on the hub's login page; returns the page once
    the user's JupyterLab is ready (the hub starts the server first)."""
    context = browser_.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(5 * browser.MINUTE)
    page.goto(f"{server.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**")
    page.locator(".jp-LauncherCard").first.wait_for()
    server.remember_processes()
    return page


def nbgrader_menu(page, item: str) -> None:
    """Open JupyterLab's Nbgrader menu and click ``item``."""
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def activate_tab(page, label: str) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=label).first.click()


# -- the instructor's Formgrader (a frame inside JupyterLab) -----------------------------------


def formgrader(page):
    """The Formgrader tab's frame, showing Manage Assignments with the assignment's row."""
    frame = page.frame_locator("#formgrader iframe")
    frame.locator("#main-table td.name", has_text=ASSIGNMENT).wait_for()
    return frame


def submissions(page, shots: Shots):
    """Open the assignment's Manage Submissions page (the "# Submissions" link), screenshot it,
    and return {student id: score as shown}; then back to Manage Assignments."""
    frame = formgrader(page)
    assignment_row(frame).locator("td.num-submissions a").click()
    rows = frame.locator("tr", has=frame.locator("td.student-id"))
    expect(rows).to_have_count(len(hub.STUDENTS))
    expect(rows.locator("td.score").first).not_to_be_empty()
    rows.last.scroll_into_view_if_needed()
    shots.take(page, "instructor-scores")
    scores = {rows.nth(i).locator("td.student-id").inner_text().strip(): rows.nth(i).locator("td.score").inner_text().strip()
              for i in range(rows.count())}
    frame.locator("a", has_text="Manage Assignments").first.click()
    formgrader(page)
    return scores


def assignment_row(frame):
    return frame.locator("#main-table tr", has=frame.locator("td.name", has_text=ASSIGNMENT))


def formgrader_action(page, shots: Shots, column: str, name: str) -> str:
    """Click the Formgrader's button in ``column`` of the assignment's row; wait for the dialog that
    reports the outcome ("Success" or "Error"), screenshot it, close it; returns its text."""
    frame = formgrader(page)
    assignment_row(frame).locator(f"td.{column} a").click()
    dialog = frame.locator("#success-modal, #error-modal")
    expect(dialog.locator(".modal-footer button")).to_be_visible()
    expect(dialog).to_have_css("opacity", "1")  # faded in (for the screenshot)
    expect(dialog.locator(".modal-dialog")).to_have_css("transform", re.compile(r"^(none|matrix\(1, 0, 0, 1, 0, 0\))$"))
    text = dialog.inner_text()
    shots.take(page, name)
    dialog.locator(".modal-footer button").click()
    expect(dialog).to_have_count(0)
    assert dialog_title(text) == "Success", text
    return text


def dialog_title(text: str) -> str:
    """The title of a Formgrader dialog, from its text (the first line after the close cross)."""
    return next(line.strip() for line in text.splitlines() if line.strip() and line.strip() != "×")


# -- a student's Assignment List -----------------------------------------------------------------


def assignment_list(page):
    """The Assignment List tab, refreshed; returns its panel."""
    if not page.locator("#nbgrader-assignment-list").count():
        nbgrader_menu(page, "Assignment List")
    activate_tab(page, "Assignments")
    panel = page.locator("#nbgrader-assignment-list")
    panel.locator("#refresh_assignments_list").click()
    expect(panel.locator(".list_loading:visible")).to_have_count(0)
    return panel


def fill_in_and_save(page, answer: str) -> None:
    """In the open notebook, replace the exercise cell's code with ``answer`` and save it."""
    notebook = page.locator(browser.CURRENT)
    expect(notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).to_have_count(1)
    cell = notebook.locator(".jp-CodeCell", has_text="def reparameterize(mu, logvar):").first
    cell.scroll_into_view_if_needed()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    expect(editor).to_contain_text(answer.splitlines()[-1].strip())
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)


# ---------------------------------------------------------------------------------------------
# The test


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    """The scratch course, and the hub serving it; stopped at the end, leaving no process behind."""
    scratch = tmp_path_factory.mktemp("semester")
    course = hub.make_course(ROOT, scratch / "course", ASSIGNMENT, DUE)
    server = hub.Hub(course, scratch / "hub")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        assert server.leftovers() == [], f"processes left behind: {server.leftovers()}"


def test_a_semester_on_jupyterhub(semester):
    """Release, fetch, submit, collect, autograde, feedback, fetch feedback: each student sees the
    verdict of their own answer."""
    shots = Shots(SCREENSHOTS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser.chromium_executable())
        try:
            instructor = release(chromium, semester, shots)
            students = {name: log_in(chromium, semester, name) for name in hub.STUDENTS}
            for name, page in students.items():
                fetch_answer_submit(page, name, shots)
            collect_grade_and_return(instructor, semester, shots)
            for name, page in students.items():
                check_feedback(page, name, shots)
            for page in (instructor, *students.values()):
                shut_down_kernels(page)
        finally:
            semester.remember_processes()
            chromium.close()


def release(chromium, server: hub.Hub, shots: Shots):
    """The instructor logs in, opens the Formgrader and releases the assignment; returns the page."""
    page = log_in(chromium, server, hub.INSTRUCTOR)
    nbgrader_menu(page, "Formgrader")
    frame = formgrader(page)
    expect(assignment_row(frame).locator("td.duedate")).to_contain_text("2030-01-01")
    shots.take(page, "instructor-formgrader")
    formgrader_action(page, shots, "release", "instructor-released")
    expect(assignment_row(formgrader(page)).locator("td.status")).to_have_text("released")
    outbound = server.exchange / hub.COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.is_file(), f"not released into the exchange: {outbound}"
    return page


def fetch_answer_submit(page, student: str, shots: Shots) -> None:
    """A student fetches the assignment from the Assignment List, answers the exercise, submits it
    there, and sees the submission listed with its timestamp."""
    panel = assignment_list(page)
    released = panel.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    shots.take(page, f"{student}-assignment-list")
    released.locator("button", has_text="Fetch").click()
    fetched = panel.locator("#fetched_assignments_list")
    fetched.locator("a.assignment-notebooks-link", has_text=ASSIGNMENT).click()  # unfolds its notebooks
    fetched.locator(".assignment-notebooks .item_name a", has_text=ASSIGNMENT).click()
    fill_in_and_save(page, ANSWERS[student])
    shots.take(page, f"{student}-answered")
    panel = assignment_list(page)
    panel.locator("#fetched_assignments_list button", has_text="Submit").click()
    submitted = panel.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))  # the submission's timestamp
    shots.take(page, f"{student}-submitted")


def collect_grade_and_return(page, server: hub.Hub, shots: Shots) -> None:
    """The instructor collects (Formgrader), autogrades (the course's command) and generates and
    releases the feedback (Formgrader)."""
    text = formgrader_action(page, shots, "collect", "instructor-collected")
    expect(assignment_row(formgrader(page)).locator("td.num-submissions")).to_have_text(str(len(hub.STUDENTS)))
    for student in hub.STUDENTS:
        assert (server.course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file(), text
    grading = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "autograde", "--root",
                              str(server.course), "--assignment", ASSIGNMENT], cwd=server.course,
                             env=hub.course_environment(), capture_output=True, text=True)
    (SCREENSHOTS / "autograde.txt").write_text(grading.stdout + grading.stderr)
    assert grading.returncode == 0, grading.stdout + grading.stderr
    assert re.search(rf"alice/{ASSIGNMENT}: 6 / 11", grading.stdout), grading.stdout
    assert re.search(rf"bob/{ASSIGNMENT}: 2 / 11", grading.stdout), grading.stdout
    scores = submissions(page, shots)  # what the Formgrader shows from the gradebook
    assert {k: re.sub(r"\.0+\b", "", v) for k, v in scores.items()} == {"alice": "6 / 11", "bob": "2 / 11"}, scores
    for column, name in (("generate-feedback", "instructor-feedback-generated"),
                         ("release-feedback", "instructor-feedback-released")):
        formgrader_action(page, shots, column, name)


def check_feedback(page, student: str, shots: Shots) -> None:
    """The student fetches the feedback from the Assignment List, opens it and reads the verdict."""
    panel = assignment_list(page)
    submitted = panel.locator("#submitted_assignments_list")
    submitted.locator("button", has_text="Fetch Feedback").click()
    view = submitted.locator("a", has_text="view feedback")
    expect(view).to_be_visible()
    shots.take(page, f"{student}-feedback-fetched")
    view.click()  # shows the feedback folder in the file browser
    page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").dblclick()
    feedback = page.frame_locator(f"{CURRENT_DOCUMENT} iframe")
    expect(feedback.locator("body")).to_contain_text("check_reparameterize_basics")
    text = feedback.locator("body").inner_text()
    assert ANSWERS[student].splitlines()[-1].strip() in text, "the feedback does not show the student's own answer"
    basics = text[text.index("check_reparameterize_basics(reparameterize)"):]
    basics = basics[:basics.index("test-reparameterize-noise")]  # up to the next grade cell
    if ANSWERS[student] == WRONG:  # the visible test's failure, naming the symptom: no gradient through z
        failure = re.search(r"^CheckFailed: (.*)$", basics, re.M)
        assert failure and "gradient" in failure.group(1), basics
        assert "✓" not in basics, basics
    else:
        assert re.search(r"^✓", basics, re.M), basics
        assert "CheckFailed" not in basics, basics
    feedback.get_by_text("check_reparameterize_basics(reparameterize)").first.scroll_into_view_if_needed()
    shots.take(page, f"{student}-feedback")


def shut_down_kernels(page) -> None:
    """Shut down every kernel of the page's server (its sessions, as the Running panel does), so that
    stopping the servers has nothing left to kill."""
    problem = page.evaluate("""async () => {
      const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
      const base = JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl;
      const headers = {'X-XSRFToken': decodeURIComponent(xsrf)};
      const answer = await fetch(base + 'api/sessions', {headers});
      if (!answer.ok) return `GET api/sessions: ${answer.status} ${await answer.text()}`;
      for (const s of await answer.json()) {
        const gone = await fetch(base + 'api/sessions/' + s.id, {method: 'DELETE', headers});
        if (!gone.ok) return `DELETE api/sessions/${s.id}: ${gone.status} ${await gone.text()}`;
      }
      return '';
    }""")
    assert problem == "", problem
