"""Per-identity timeline: one row per ground-truth person, coloured by the predicted id.

Matplotlib with the Agg canvas (no display, no global backend switch). Colours are the global
ids' palette colours (:mod:`mtmc.viz.palette`), the same as in the bird's-eye video.

Example::

    plot_timeline(analysis, "report/timeline.png", title="run demo")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from mtmc.analysis.switches import SwitchAnalysis
from mtmc.viz.palette import id_color_rgb01

__all__ = ["plot_timeline"]

_ROW_IN = 0.32  # figure height per person, inches
_MAX_ROWS = 200  # more people than this: only the first 200 ids are drawn
_PRESENT_RGB = (0.85, 0.85, 0.85)  # person in the ground truth but not matched
_LABEL_MIN_SHARE = 0.04  # a run is labelled with its id when it spans this share of the x axis


def _runs(values: np.ndarray, steps: np.ndarray) -> list[tuple[int, int, int]]:
    """(first index, last index, value) of runs of equal values over consecutive steps."""
    if not len(values):
        return []
    breaks = np.flatnonzero((values[1:] != values[:-1]) | (np.diff(steps) != 1)) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks - 1, len(values) - 1]
    return [(int(s), int(e), int(values[s])) for s, e in zip(starts, ends, strict=True)]


def plot_timeline(analysis: SwitchAnalysis, path: str | Path, title: str = "") -> Path:
    """Write a PNG: per ground-truth person (rows, by id) a light grey bar where the person is in
    the ground truth, coloured bars where it is matched (colour and label = predicted id), a
    black ``x`` at each ID switch and an orange ``|`` at each fragmentation. x: frame.

    Returns:
        The written path.
    """
    path = Path(path)
    frames = analysis.frames  # sorted: a frame's step is its position
    gt_ids = np.unique(analysis.gt.track_id)[:_MAX_ROWS]
    row_of = {int(g): r for r, g in enumerate(gt_ids)}
    fig = Figure(figsize=(12, 1.2 + _ROW_IN * max(len(gt_ids), 1)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    span = float(frames[-1] - frames[0] + 1) if len(frames) else 1.0
    m = analysis.matches
    rects: list[tuple[float, float, float, float]] = []  # x0, y0, width, height
    colours: list[tuple[float, ...]] = []
    for gid in gt_ids:
        r = row_of[int(gid)]
        present = analysis.gt.frame[analysis.gt.track_id == gid]
        steps = np.searchsorted(frames, present)
        for s, e, _ in _runs(np.zeros(len(present), int), steps):
            width = float(present[e] - present[s]) + 1.0
            rects.append((float(present[s]) - 0.5, r - 0.18, width, 0.36))
            colours.append(_PRESENT_RGB)
        rows = np.flatnonzero(m.gt_id == gid)
        f, p = m.frame[rows], m.pred_id[rows]
        for s, e, pid in _runs(p, np.searchsorted(frames, f)):
            rects.append((float(f[s]) - 0.5, r - 0.35, float(f[e] - f[s]) + 1.0, 0.7))
            colours.append(id_color_rgb01(pid))
        # label each stretch with one predicted id (unmatched gaps inside do not split it)
        for s, e, pid in _runs(p, np.arange(len(p))):
            start, width = float(f[s]) - 0.5, float(f[e] - f[s]) + 1.0
            if width >= _LABEL_MIN_SHARE * span:
                ax.text(start + width / 2, r, str(pid), ha="center", va="center", fontsize=7)
    # one collection for all bars: thousands of separate artists would take minutes to lay out
    verts = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)] for x, y, w, h in rects]
    ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors="none"))
    shown = [e for e in analysis.events if e.gt_id in row_of]
    sw = [(e.frame - 0.5, row_of[e.gt_id]) for e in shown if e.is_switch]
    fr = [(e.frame - 0.5, row_of[e.gt_id] + 0.45) for e in shown if e.is_fragment]
    if sw:
        ax.scatter(*zip(*sw, strict=True), marker="x", color="black", s=40, linewidths=2, zorder=3)
    if fr:
        ax.scatter(*zip(*fr, strict=True), marker="|", color="tab:orange", s=60, linewidths=2,
                   zorder=3)
    ax.set_yticks(range(len(gt_ids)))
    ax.set_yticklabels([f"gt {int(g)}" for g in gt_ids], fontsize=8)
    ax.set_ylim(len(gt_ids) - 0.5, -0.5)
    if len(frames):
        ax.set_xlim(float(frames[0]) - 1, float(frames[-1]) + 1)
    ax.set_xlabel("frame")
    ax.set_title(title or "identity timeline", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.text(0.01, 0.005, "bars: predicted id matched (colour = id); grey: present, unmatched; "
             "x: ID switch; orange |: fragmentation", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
