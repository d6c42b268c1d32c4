"""A latent-knob explorer: one slider per latent dimension, the decoded image updating live.

:func:`latent_explorer` shows ipywidgets sliders when a person is at the notebook
(JupyterLab, Jupyter Notebook, VS Code). Where nobody can move a slider (a notebook
run by nbgrader, nbconvert or nbclient, a plain Python script, ipywidgets missing),
it draws the static :func:`vae_helpers.plotting.plot_traversal` figure instead.

How we tell: an interactive frontend sends each cell with ``allow_stdin=True``,
because it can answer ``input()``; headless executors such as nbclient (under
nbgrader and nbconvert) send ``allow_stdin=False``. Set ``VAE_WIDGETS=1`` or ``0``
to force either way.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence

import torch

from .data import IMAGE_SIDE
from .plotting import plot_traversal

ENV_WIDGETS = "VAE_WIDGETS"


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def interactive_frontend() -> bool:
    """Whether the current code runs in a Jupyter kernel driven by a person's frontend."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return False  # plain Python, or IPython in a terminal: nothing renders widgets
    try:
        request = kernel.get_parent("shell") or {}
    except Exception:  # an unusual kernel: play safe
        return False
    return bool(request.get("content", {}).get("allow_stdin", False))


def widgets_available() -> bool:
    """Whether sliders can be shown and moved: ``$VAE_WIDGETS`` if set, else ipywidgets plus a frontend."""
    forced = os.environ.get(ENV_WIDGETS, "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if _ipywidgets() is None:
        return False
    return forced in ("1", "true", "yes", "on") or interactive_frontend()


def _png(image: torch.Tensor, scale: int = 6) -> bytes:
    """One image (784,) as PNG bytes, enlarged ``scale`` times, dark ink on white."""
    import matplotlib.pyplot as plt

    pixels = image.detach().float().cpu().reshape(IMAGE_SIDE, IMAGE_SIDE)
    big = pixels.repeat_interleave(scale, 0).repeat_interleave(scale, 1).clamp(0, 1)
    buffer = io.BytesIO()
    plt.imsave(buffer, big.numpy(), cmap="gray_r", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


def latent_explorer(decode: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor,
                    dims: Sequence[int] | None = None, span: float = 3.0, step: float = 0.1,
                    title: str = "latent knobs"):
    """Sliders for the latent dimensions ``dims`` of code z0 (d,), the decoded image beside them.

    ``decode`` maps codes (n, d) -> images (n, 784). Each slider moves one coordinate
    over [-span, span]; the other coordinates keep their values; *reset* returns to z0.
    Without an interactive frontend, returns the static traversal figure instead (see
    the module docstring). Returns the widget box or the matplotlib Figure.
    """
    device = z0.device
    z0 = z0.detach().reshape(-1).float()
    dims = list(range(len(z0))) if dims is None else list(dims)
    if not widgets_available():
        return plot_traversal(decode, z0, dims=dims, span=span, title=f"{title}: one knob per row")
    z0 = z0.cpu()

    import ipywidgets as widgets
    from IPython.display import display

    sliders = [widgets.FloatSlider(value=float(z0[d].clamp(-span, span)), min=-span, max=span, step=step,
                                   description=f"z{d}", continuous_update=True, readout_format=".1f")
               for d in dims]
    picture = widgets.Image(format="png", width=168, height=168)
    reset = widgets.Button(description="reset")

    def redraw(_change: object = None) -> None:
        z = z0.clone()
        for d, slider in zip(dims, sliders):
            z[d] = slider.value
        with torch.no_grad():
            picture.value = _png(decode(z.unsqueeze(0).to(device))[0])

    def back_to_start(_button: object = None) -> None:
        for d, slider in zip(dims, sliders):
            slider.value = float(z0[d].clamp(-span, span))

    for slider in sliders:
        slider.observe(redraw, names="value")
    reset.on_click(back_to_start)
    redraw()
    box = widgets.HBox([widgets.VBox([widgets.HTML(f"<b>{title}</b>"), *sliders, reset]), picture])
    display(box)
    return box
