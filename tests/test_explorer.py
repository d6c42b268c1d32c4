"""Tests for vae_helpers.explorer: sliders with a person at the notebook, a static figure without one."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers import explorer  # noqa: E402
from vae_helpers.grading import course  # noqa: E402
from vae_helpers.models import VAE  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.delenv(explorer.ENV_WIDGETS, raising=False)
    yield
    plt.close("all")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=3).eval()


def fake_kernel(monkeypatch, allow_stdin=True, parent=None):
    """Make IPython.get_ipython() return a kernel whose current request has ``allow_stdin``."""
    import IPython

    request = parent if parent is not None else {"content": {"allow_stdin": allow_stdin}}
    kernel = SimpleNamespace(get_parent=lambda channel=None: request)
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=kernel))


def test_no_frontend_outside_a_kernel():
    assert not explorer.interactive_frontend()
    assert not explorer.widgets_available()


def test_a_frontend_is_a_kernel_request_that_allows_stdin(monkeypatch):
    fake_kernel(monkeypatch, allow_stdin=True)
    assert explorer.interactive_frontend() and explorer.widgets_available()
    fake_kernel(monkeypatch, allow_stdin=False)  # what nbclient (nbgrader, nbconvert) sends
    assert not explorer.interactive_frontend()
    fake_kernel(monkeypatch, parent={})  # no request yet
    assert not explorer.interactive_frontend()


def test_a_terminal_ipython_or_an_odd_kernel_is_no_frontend(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace())  # terminal IPython: no kernel
    assert not explorer.interactive_frontend()

    def broken(channel=None):
        raise RuntimeError("no parent")

    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=SimpleNamespace(get_parent=broken)))
    assert not explorer.interactive_frontend()


def test_the_environment_variable_forces_either_way(monkeypatch):
    monkeypatch.setenv(explorer.ENV_WIDGETS, "1")
    assert explorer.widgets_available()
    fake_kernel(monkeypatch, allow_stdin=True)
    monkeypatch.setenv(explorer.ENV_WIDGETS, "0")
    assert not explorer.widgets_available()


def test_without_ipywidgets_there_are_no_widgets(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    monkeypatch.setenv(explorer.ENV_WIDGETS, "1")
    assert not explorer.widgets_available()


def test_without_widgets_it_draws_the_static_traversal_quietly(model, capfd):
    z0 = torch.tensor([0.5, -1.0, 2.0])
    fig = explorer.latent_explorer(model.decode, z0, dims=[0, 2], span=2.0, title="knobs")
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["z0", "z2"]
    assert "knobs" in fig.axes[0].get_title()
    assert capfd.readouterr().err == ""


def test_with_widgets_the_sliders_move_the_decoded_image(model, monkeypatch, capfd):
    monkeypatch.setenv(explorer.ENV_WIDGETS, "1")
    import ipywidgets as widgets

    z0 = torch.tensor([0.5, -1.0, 2.0])
    box = explorer.latent_explorer(model.decode, z0, span=3.0)
    assert isinstance(box, widgets.HBox)
    controls, picture = box.children
    sliders = [c for c in controls.children if isinstance(c, widgets.FloatSlider)]
    assert [s.description for s in sliders] == ["z0", "z1", "z2"]
    assert [round(s.value, 3) for s in sliders] == [0.5, -1.0, 2.0]
    assert picture.value[:8] == b"\x89PNG\r\n\x1a\n"

    start = picture.value
    sliders[1].value = 2.5
    moved = picture.value
    assert moved != start
    expected = explorer._png(model.decode(torch.tensor([[0.5, 2.5, 2.0]]))[0])
    assert moved == expected, "the picture shows decode(z) with the slider's value in its dimension"
    reset = next(c for c in controls.children if isinstance(c, widgets.Button))
    reset.click()
    assert [round(s.value, 3) for s in sliders] == [0.5, -1.0, 2.0] and picture.value == start
    assert capfd.readouterr().err == ""


def _run_in_kernel(code: str, allow_stdin: bool) -> list[dict]:
    """Execute ``code`` in a fresh kernel as a frontend would; return its iopub output messages."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=course.KERNEL_WAIT)  # a busy machine is slow, not wrong
    outputs = []
    try:
        reply = kc.execute_interactive(code, allow_stdin=allow_stdin, timeout=1200,
                                       output_hook=outputs.append, stdin_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return outputs


CELL = """
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import torch
from vae_helpers import explorer
from vae_helpers.models import VAE
torch.manual_seed(0)
explorer.latent_explorer(VAE(latent_dim=2).decode, torch.zeros(2));
"""


def test_in_a_real_kernel_nbclient_gets_the_figure_and_a_frontend_gets_sliders(monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(nb, kernel_name="python3", timeout=1200, startup_timeout=course.KERNEL_WAIT,  # how nbgrader runs notebooks
                   iopub_timeout=course.KERNEL_WAIT).execute()
    outputs = nb.cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs)
    assert not any(o.get("name") == "stderr" for o in outputs)

    messages = _run_in_kernel(CELL, allow_stdin=True)  # how JupyterLab sends a cell
    data = [m["content"].get("data", {}) for m in messages if m["msg_type"] == "display_data"]
    assert any(WIDGET_VIEW in d for d in data), [m["msg_type"] for m in messages]
    assert not any(m["msg_type"] == "stream" and m["content"]["name"] == "stderr" for m in messages)
