"""Visualisation: bird's-eye videos of runs, drawing helpers, the id colour palette.

- :mod:`mtmc.viz.palette`: ``id_color_bgr`` / ``id_colors_bgr`` / ``id_color_rgb01``, one
  deterministic colour per global id;
- :mod:`mtmc.viz.bev`: ``render_bev`` (``scripts/render_bev.py``), ``BevRenderer``, ``TrailBuffer``;
- :mod:`mtmc.viz.floormap`: ``FloorMap`` (scene floor plan or metre grid), ``floor_bounds_m``;
- :mod:`mtmc.viz.draw`: discs, trails, ground-truth rings, cameras, boxes, camera tile layouts;
- :mod:`mtmc.viz.streams`: constant-memory readers (``iter_rtls``, ``FrameRows``, ``VideoFrames``);
- :mod:`mtmc.viz.inputs`: ``resolve_scene`` finds a run's cameras, videos, ground truth, floor plan.

Example::

    from mtmc.viz import render_bev
    render_bev("runs/demo", "runs/demo/bev.mp4", with_cameras=True, gt=True)
"""

from __future__ import annotations

from mtmc.viz.bev import BevRenderer, BevResult, BevStyle, TrailBuffer, render_bev
from mtmc.viz.floormap import FloorMap, floor_bounds_m
from mtmc.viz.inputs import SceneFiles, resolve_scene, scene_from_cams
from mtmc.viz.palette import id_color_bgr, id_color_rgb01, id_colors_bgr
from mtmc.viz.streams import FrameRows, RtlsStep, VideoFrames, iter_rtls

__all__ = [
    "BevRenderer",
    "BevResult",
    "BevStyle",
    "FloorMap",
    "FrameRows",
    "RtlsStep",
    "SceneFiles",
    "TrailBuffer",
    "VideoFrames",
    "floor_bounds_m",
    "id_color_bgr",
    "id_color_rgb01",
    "id_colors_bgr",
    "iter_rtls",
    "render_bev",
    "resolve_scene",
    "scene_from_cams",
]
