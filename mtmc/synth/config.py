"""Typed presets of the simulator (``configs/synth/<preset>.yaml``).

A preset describes a world (floor, shelves, doors), a camera rig, the people and the lighting; the
seed picks one concrete scene from it. Every range is written ``[min, max]`` and sampled per scene,
camera or person. Unknown keys are errors (:mod:`mtmc.configtools`).

Example::

    cfg = load_preset("warehouse")                      # or a path to a YAML file
    cfg = with_overrides(cfg, seed=3, people=20)        # what the command-line flags do
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from mtmc.configtools import FieldError, from_mapping, load_yaml

__all__ = [
    "PRESETS_DIR",
    "CameraRigConfig",
    "FloorConfig",
    "LightingConfig",
    "PeopleConfig",
    "SynthConfig",
    "load_preset",
    "with_overrides",
]

PRESETS_DIR = Path(__file__).resolve().parents[2] / "configs" / "synth"

Range = tuple[float, float]


def _check_range(name: str, value: Range, low: float, high: float) -> None:
    if not (low <= value[0] <= value[1] <= high):
        raise FieldError(
            name, f"must be [min, max] with {low} <= min <= max <= {high}, got {list(value)}"
        )


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise FieldError(name, f"must be a share within [0, 1], got {value}")


@dataclass(frozen=True)
class FloorConfig:
    """The floor and its fixed occluders.

    Attributes:
        size_m: floor width (x) and depth (y) in metres; walls surround it.
        style: ``warehouse`` (pallet racks with cartons, concrete floor, roll-up doors) or
            ``retail`` (low gondolas with products, tiled floor, checkout counters).
        wall_height_m: height of the walls (and of the ceiling).
        wall_margin_m: free band along the walls (main aisle, doors). Wider gives more open floor.
        shelf_height_m: height range of racks / gondolas (occluders; taller hides more).
        shelf_depth_m: depth of one shelf; rows are back-to-back pairs when ``back_to_back``.
        back_to_back: rows made of two shelves back to back (warehouse racks usually are).
        shelf_length_m: length range of one run of shelving between cross aisles.
        aisle_width_m: width range of the aisles between rows.
        cross_aisle_m: width range of the aisles cutting across the rows.
        gap_share: share of shelf runs left out (open areas); more gaps = fewer occlusions.
        pallets: number of loose pallet stacks (warehouse) or display tables (retail).
        counters: number of checkout counters along the front wall (retail).
        doors: number of entry doors on the walls.
        door_width_m: width range of a door.
    """

    size_m: tuple[float, float] = (30.0, 20.0)
    style: Literal["warehouse", "retail"] = "warehouse"
    wall_height_m: float = 7.0
    wall_margin_m: float = 2.6
    shelf_height_m: Range = (2.2, 3.0)
    shelf_depth_m: float = 1.0
    back_to_back: bool = True
    shelf_length_m: Range = (6.0, 10.0)
    aisle_width_m: Range = (2.6, 3.4)
    cross_aisle_m: Range = (2.4, 3.2)
    gap_share: float = 0.15
    pallets: int = 4
    counters: int = 0
    doors: int = 3
    door_width_m: Range = (2.0, 3.0)

    def __post_init__(self) -> None:
        if not (6.0 <= self.size_m[0] <= 200.0 and 6.0 <= self.size_m[1] <= 200.0):
            raise FieldError(
                "size_m", f"must be [width, depth] each within [6, 200] m, got {list(self.size_m)}"
            )
        if not 2.5 <= self.wall_height_m <= 30:
            raise FieldError(
                "wall_height_m", f"must be within [2.5, 30] m, got {self.wall_height_m}"
            )
        if not 1.0 <= self.wall_margin_m <= min(self.size_m) / 3:
            raise FieldError(
                "wall_margin_m",
                f"must be within [1, {min(self.size_m) / 3:.1f}] m, got {self.wall_margin_m}",
            )
        _check_range("shelf_height_m", self.shelf_height_m, 0.5, self.wall_height_m)
        if not 0.3 <= self.shelf_depth_m <= 3.0:
            raise FieldError(
                "shelf_depth_m", f"must be within [0.3, 3] m, got {self.shelf_depth_m}"
            )
        _check_range("shelf_length_m", self.shelf_length_m, 1.0, 100.0)
        _check_range("aisle_width_m", self.aisle_width_m, 1.2, 20.0)
        _check_range("cross_aisle_m", self.cross_aisle_m, 1.2, 20.0)
        _check_share("gap_share", self.gap_share)
        for name in ("pallets", "counters", "doors"):
            if not 0 <= getattr(self, name) <= 50:
                raise FieldError(name, f"must be within [0, 50], got {getattr(self, name)}")
        if self.doors < 1:
            raise FieldError("doors", "at least one door is needed for people to enter and leave")
        _check_range("door_width_m", self.door_width_m, 0.8, 8.0)


@dataclass(frozen=True)
class CameraRigConfig:
    """How many cameras, where they may be mounted, and how each one forms its image.

    Placement is searched from the seed: ``candidates`` random wall or ceiling mounts are scored by
    how many floor points they add at coverage depth 1, 2, 3 (diminishing returns), greedily.

    Attributes:
        count: number of cameras (``cam1`` ... ``camN``).
        height_m: mounting height range.
        hfov_deg: horizontal field of view range.
        pitch_deg: tilt below the horizon range (steeper sees less far but is occluded less).
        max_range_m: floor points further than this from a camera do not count as seen by it.
        min_person_px: a standing person smaller than this (feet to head, pixels) does not count
            as seen. Raising it favours closer, narrower views (bigger people, less coverage).
        candidates: mounts tried by the placement search; more is slower and covers better.
        white_balance: each camera's red and blue gains lie within ``1 +- white_balance``.
        exposure: gain range applied before the gamma curve.
        gamma: display gamma range (above 1 brightens mid-tones).
        saturation: colour saturation factor range (cheap cameras are dull).
        noise_sigma: sensor noise standard deviation range, grey levels.
        blur_sigma_px: optical blur (Gaussian sigma) range, pixels.
        jpeg_quality: JPEG-like compression quality range (lower = blockier).
        vignetting: brightness loss in the image corners, range.
    """

    count: int = 4
    height_m: Range = (4.5, 6.0)
    hfov_deg: Range = (80.0, 105.0)
    pitch_deg: Range = (20.0, 55.0)
    max_range_m: float = 26.0
    min_person_px: float = 32.0
    candidates: int = 500
    white_balance: float = 0.14
    exposure: Range = (0.8, 1.2)
    gamma: Range = (0.85, 1.2)
    saturation: Range = (0.7, 1.15)
    noise_sigma: Range = (1.5, 4.0)
    blur_sigma_px: Range = (0.35, 1.0)
    jpeg_quality: Range = (35.0, 80.0)
    vignetting: Range = (0.05, 0.3)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 32:
            raise FieldError("count", f"must be within [1, 32] cameras, got {self.count}")
        _check_range("height_m", self.height_m, 1.0, 30.0)
        _check_range("hfov_deg", self.hfov_deg, 20.0, 150.0)
        _check_range("pitch_deg", self.pitch_deg, 5.0, 89.0)
        if not 3.0 <= self.max_range_m <= 200.0:
            raise FieldError("max_range_m", f"must be within [3, 200] m, got {self.max_range_m}")
        if not 0.0 <= self.min_person_px <= 2000.0:
            raise FieldError(
                "min_person_px", f"must be within [0, 2000] px, got {self.min_person_px}"
            )
        if not self.count <= self.candidates <= 5000:
            raise FieldError("candidates", f"must be within [count, 5000], got {self.candidates}")
        if not 0.0 <= self.white_balance <= 0.5:
            raise FieldError("white_balance", f"must be within [0, 0.5], got {self.white_balance}")
        _check_range("exposure", self.exposure, 0.2, 4.0)
        _check_range("gamma", self.gamma, 0.3, 3.0)
        _check_range("saturation", self.saturation, 0.0, 2.0)
        _check_range("noise_sigma", self.noise_sigma, 0.0, 30.0)
        _check_range("blur_sigma_px", self.blur_sigma_px, 0.0, 5.0)
        _check_range("jpeg_quality", self.jpeg_quality, 5.0, 100.0)
        _check_range("vignetting", self.vignetting, 0.0, 0.9)


@dataclass(frozen=True)
class PeopleConfig:
    """Who walks on the floor and how.

    Attributes:
        count: number of distinct people (global ids 1..count) over the whole scene.
        lookalike_share: share of people who wear the same uniform as at least one other person
            and differ only in details (hair, shoes, a small print, build). Higher is harder ReID.
        group_share: share of people walking in small groups (2-3) with someone else.
        present_at_start_share: share of people already on the floor at the first frame; the
            others enter through a door during the first 60 % of the scene.
        leave_share: share of people who leave through a door before the end.
        height_m: body height range.
        speed_mps: preferred walking speed range.
        stop_s: duration range of short stops (picking from a shelf).
        stand_s: duration range of long stands (talking, scanning).
        stand_share: probability that a stop is a long stand.
        hi_vis_share, hard_hat_share, cap_share, backpack_share, carry_share, gloves_share:
            probabilities of each accessory for a uniform (vest, hats, gloves) or a person
            (backpack, carrying boxes on some walks).
    """

    count: int = 12
    lookalike_share: float = 0.4
    group_share: float = 0.25
    present_at_start_share: float = 0.7
    leave_share: float = 0.3
    height_m: Range = (1.55, 1.95)
    speed_mps: Range = (0.9, 1.5)
    stop_s: Range = (1.0, 4.0)
    stand_s: Range = (5.0, 14.0)
    stand_share: float = 0.15
    hi_vis_share: float = 0.5
    hard_hat_share: float = 0.25
    cap_share: float = 0.2
    backpack_share: float = 0.2
    carry_share: float = 0.3
    gloves_share: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 500:
            raise FieldError("count", f"must be within [1, 500] people, got {self.count}")
        for name in (
            "lookalike_share",
            "group_share",
            "present_at_start_share",
            "leave_share",
            "stand_share",
            "hi_vis_share",
            "hard_hat_share",
            "cap_share",
            "backpack_share",
            "carry_share",
            "gloves_share",
        ):
            _check_share(name, getattr(self, name))
        if self.hard_hat_share + self.cap_share > 1.0:
            raise FieldError("cap_share", "hard_hat_share + cap_share must not exceed 1")
        _check_range("height_m", self.height_m, 1.0, 2.3)
        _check_range("speed_mps", self.speed_mps, 0.2, 3.0)
        _check_range("stop_s", self.stop_s, 0.0, 600.0)
        _check_range("stand_s", self.stand_s, 0.0, 3600.0)


@dataclass(frozen=True)
class LightingConfig:
    """Light on the floor: ambient + pools under ceiling lamps + a gradient from the window wall.

    Attributes:
        ambient: light level everywhere (1 = nominal).
        lamp_strength: extra light right under a lamp.
        lamp_spacing_m: distance between ceiling lamps (a grid).
        gradient: brightness difference between the window wall (x = width) and the opposite
            wall, as a fraction; makes the same person look different in different places.
    """

    ambient: float = 0.62
    lamp_strength: float = 0.45
    lamp_spacing_m: float = 7.0
    gradient: float = 0.35

    def __post_init__(self) -> None:
        if not 0.05 <= self.ambient <= 2.0:
            raise FieldError("ambient", f"must be within [0.05, 2], got {self.ambient}")
        if not 0.0 <= self.lamp_strength <= 2.0:
            raise FieldError("lamp_strength", f"must be within [0, 2], got {self.lamp_strength}")
        if not 1.0 <= self.lamp_spacing_m <= 50.0:
            raise FieldError(
                "lamp_spacing_m", f"must be within [1, 50] m, got {self.lamp_spacing_m}"
            )
        if not 0.0 <= self.gradient <= 0.9:
            raise FieldError("gradient", f"must be within [0, 0.9], got {self.gradient}")


@dataclass(frozen=True)
class SynthConfig:
    """One simulator preset.

    Attributes:
        name: preset name, written to ``scene.json`` and used as the ``cams.yaml`` run name.
        seed: picks the concrete scene (layout, cameras, people, motion, noise).
        duration_s: length of the videos in seconds.
        fps: frames per second of the videos and labels.
        image_size_wh: video size ``[width, height]`` in pixels.
        supersample: rendering resolution factor (2 = anti-aliased edges; 1 is faster and jaggy).
    """

    name: str = "warehouse"
    seed: int = 0
    duration_s: float = 60.0
    fps: float = 10.0
    image_size_wh: tuple[int, int] = (960, 540)
    supersample: int = 2
    floor: FloorConfig = field(default_factory=FloorConfig)
    cameras: CameraRigConfig = field(default_factory=CameraRigConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() or c == "/" for c in self.name):
            raise FieldError(
                "name", f"must be a non-empty word without spaces or '/', got {self.name!r}"
            )
        if self.seed < 0:
            raise FieldError("seed", f"must be >= 0, got {self.seed}")
        if not 0.1 <= self.duration_s <= 3600:
            raise FieldError("duration_s", f"must be within [0.1, 3600] s, got {self.duration_s}")
        if not 1.0 <= self.fps <= 120.0:
            raise FieldError("fps", f"must be within [1, 120], got {self.fps}")
        w, h = self.image_size_wh
        if not (64 <= w <= 4096 and 64 <= h <= 4096) or w % 2 or h % 2:
            raise FieldError(
                "image_size_wh", f"must be even [width, height] within [64, 4096], got {[w, h]}"
            )
        if self.supersample not in (1, 2, 3):
            raise FieldError("supersample", f"must be 1, 2 or 3, got {self.supersample}")

    @property
    def n_frames(self) -> int:
        """Number of frames: ``round(duration_s * fps)``, at least 1."""
        return max(1, round(self.duration_s * self.fps))


def load_preset(preset: str | Path) -> SynthConfig:
    """Load a preset by name (``warehouse``, ``retail``: ``configs/synth/<name>.yaml``) or path.

    Raises:
        ConfigError: unknown preset name, missing file, unknown key, wrong type or value, with
            ``<file>: <key.path>: <problem>``.
    """
    path = Path(preset)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        named = PRESETS_DIR / f"{preset}.yaml"
        if not named.exists():
            from mtmc.configtools import ConfigError

            known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
            raise ConfigError(f"{preset}: unknown preset; choose from {known} or give a YAML path")
        path = named
    raw = load_yaml(path)
    return from_mapping(SynthConfig, raw, source=str(path), base_dir=path.parent)


def with_overrides(
    cfg: SynthConfig,
    *,
    seed: int | None = None,
    cameras: int | None = None,
    people: int | None = None,
    seconds: float | None = None,
    fps: float | None = None,
    size_wh: tuple[int, int] | None = None,
    lookalike_share: float | None = None,
) -> SynthConfig:
    """A copy of ``cfg`` with the command-line overrides applied (``None`` keeps the preset's).

    Raises:
        FieldError: an override is out of range (the message names the field).
    """
    top: dict[str, object] = {}
    if seed is not None:
        top["seed"] = seed
    if seconds is not None:
        top["duration_s"] = float(seconds)
    if fps is not None:
        top["fps"] = float(fps)
    if size_wh is not None:
        top["image_size_wh"] = (int(size_wh[0]), int(size_wh[1]))
    rig = cfg.cameras if cameras is None else replace(cfg.cameras, count=cameras)
    crowd = cfg.people
    if people is not None:
        crowd = replace(crowd, count=people)
    if lookalike_share is not None:
        crowd = replace(crowd, lookalike_share=lookalike_share)
    return replace(cfg, cameras=rig, people=crowd, **top)
