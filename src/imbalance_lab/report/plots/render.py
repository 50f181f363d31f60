"""Serialisation: a figure as PNG, data URI or SVG, byte for byte reproducible; several drawn together."""

from __future__ import annotations

import base64
import io
import os
import sys
import tempfile
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure

SVG_HASH_SALT = "imbalance-lab"


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of ``fig`` (``figsize × dpi`` pixels); identical bytes for identical figures."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def figure_pngs(figures: Sequence[Figure], dpi: int = 110) -> list[bytes]:
    """PNG bytes of each of ``figures``, the same bytes as :func:`figure_png`'s.

    Drawing is most of a report's time after its imports (text layout for constrained layout, then the raster:
    about 0.1 s a figure on the 2-core machine we develop on). On Linux, with two or more cores to run on,
    a forked child draws every other figure into a temporary file while this process draws the rest; if the
    child fails, this process draws its figures too, so the result never depends on it.
    """
    if len(figures) < 4 or sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2:
        return [figure_png(fig, dpi) for fig in figures]
    theirs = range(1, len(figures), 2)
    with tempfile.TemporaryFile() as shared:
        pid = os.fork()
        if pid == 0:  # the child: its share, length-prefixed, then out without Python's exit handlers
            status = 1
            try:
                for i in theirs:
                    png = figure_png(figures[i], dpi)
                    shared.write(len(png).to_bytes(8, "little") + png)
                shared.flush()
                status = 0
            finally:
                os._exit(status)
        out: list[bytes | None] = [None] * len(figures)
        for i in range(0, len(figures), 2):
            out[i] = figure_png(figures[i], dpi)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            shared.seek(0)
            for i in theirs:
                size = int.from_bytes(shared.read(8), "little")
                out[i] = shared.read(size)
    return [png if png is not None else figure_png(fig, dpi) for png, fig in zip(out, figures, strict=True)]


def figure_data_uri(fig: Figure, dpi: int = 110) -> str:
    """``data:image/png;base64,...`` for inlining ``fig`` in a self-contained HTML page."""
    return png_data_uri(figure_png(fig, dpi=dpi))


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_svg(fig: Figure) -> str:
    """SVG text of ``fig``: no date, no software tag and a fixed id salt, so it is reproducible.

    The salt is set with a short ``rc_context`` (the SVG writer reads it nowhere else), so do not
    call this while another thread changes ``rcParams``.
    """
    buffer = io.StringIO()
    # The SVG writer reads its id salt from rcParams only; the context restores it on exit.
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()
