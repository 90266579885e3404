"""A complete simulated scene: world, cameras, people and their motion, built from a preset.

Independent random streams (``SeedSequence([seed, stream])``) drive the layout, the cameras, the
people's looks and their motion, so e.g. changing the number of people keeps the same floor and
cameras.

Example::

    scene = build_scene(load_preset("warehouse"))
    scene.cameras[0].id, scene.tracks.n_frames, len(scene.people)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtmc.synth.appearance import Appearance, sample_appearances
from mtmc.synth.cameras import CameraSpec, place_cameras
from mtmc.synth.config import SynthConfig
from mtmc.synth.motion import Tracks, simulate_motion
from mtmc.synth.world import World, generate_world

__all__ = ["Scene", "build_scene", "stream"]

# random streams
LAYOUT, CAMERAS, LOOKS, MOTION = 1, 2, 3, 4


def stream(seed: int, which: int) -> np.random.Generator:
    """The random generator of one independent stream of a scene's seed."""
    return np.random.default_rng(np.random.SeedSequence([seed, which]))


@dataclass
class Scene:
    """Everything needed to render and label a scene.

    Attributes:
        config: the preset with overrides applied.
        world: floor, walls, doors, shelves, walking grid.
        cameras: the rig (``cam1`` ... ``camN``).
        people: appearance of each person; ``people[p].person_id`` is the global id of row ``p``.
        tracks: per-frame states, rows in the order of ``people``.
    """

    config: SynthConfig
    world: World
    cameras: list[CameraSpec]
    people: list[Appearance]
    tracks: Tracks


def build_scene(cfg: SynthConfig) -> Scene:
    """Lay out the floor, place the cameras, dress the people and simulate their motion."""
    world = generate_world(cfg.floor, stream(cfg.seed, LAYOUT))
    cameras = place_cameras(world, cfg.cameras, cfg.image_size_wh, stream(cfg.seed, CAMERAS))
    people = sample_appearances(cfg.people, cfg.floor.style, stream(cfg.seed, LOOKS))
    tracks = simulate_motion(
        world, people, cfg.people, cfg.n_frames, cfg.fps, stream(cfg.seed, MOTION)
    )
    return Scene(config=cfg, world=world, cameras=cameras, people=people, tracks=tracks)
