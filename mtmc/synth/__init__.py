"""Synthetic multi-camera digital twin: a warehouse or shop with shelves, calibrated cameras and
people walking between them, rendered to videos with exact ground truth.

Command line: ``python -m mtmc.synth --out DIR [--config warehouse|retail|FILE] [--seed N] ...``.

Example::

    from mtmc.synth import build_scene, generate, load_preset
    cfg = load_preset("warehouse")
    generate(cfg, Path("/tmp/demo"))           # all files, see mtmc.synth.output
    scene = build_scene(cfg)                   # or just the scene, to render frames yourself
"""

from __future__ import annotations

from mtmc.synth.config import SynthConfig, load_preset, with_overrides
from mtmc.synth.generate import generate, write_scene
from mtmc.synth.scene import Scene, build_scene

__all__ = [
    "Scene",
    "SynthConfig",
    "build_scene",
    "generate",
    "load_preset",
    "with_overrides",
    "write_scene",
]
