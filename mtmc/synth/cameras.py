"""Camera rig: where the cameras hang, how each one forms its image, and what they cover.

Placement is a greedy search over random wall and ceiling mounts drawn from the seed: each round
adds the mount that adds the most coverage, where a floor point's first camera is worth 1, its
second 0.7, its third 0.4 and its fourth 0.1 (so the rig spreads views until most points are
seen by 2-4 cameras); swap passes then replace one camera at a time while the total improves.
A floor point counts as *seen* by a camera when a standing person there is
in the image from feet to head and at least ``min_person_px`` tall there, within ``max_range_m``,
and the line of sight to the chest is not blocked by a shelf.

Example::

    specs = place_cameras(world, CameraRigConfig(count=4), (960, 540), rng)
    counts, walkable = coverage_grid(world, specs, max_range_m=26.0)
    coverage_shares(counts, walkable)      # {'ge1': 0.98, 'ge2': 0.81, 'ge3': 0.52}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calib import PinholeCamera
from mtmc.synth.config import CameraRigConfig
from mtmc.synth.world import World

__all__ = [
    "CameraSpec",
    "Imaging",
    "coverage_grid",
    "coverage_shares",
    "place_cameras",
    "seen_mask",
]

COVERAGE_GAINS = (1.0, 0.7, 0.4, 0.1)  # value of a point's 1st, 2nd, 3rd, 4th camera
SEEN_HEAD_M = 1.75  # a standing person's head, for "in the image from feet to head"
SEEN_CHEST_M = 1.2  # the line of sight to this height must be free of shelves
IMAGE_MARGIN = 0.01  # share of the image size kept free at the borders
MIN_CAMERA_SPACING_M = 3.0
WALL_INSET_M = 0.25


@dataclass(frozen=True)
class Imaging:
    """How one camera turns light into pixels (sampled per camera from the rig's ranges).

    Attributes:
        wb_gains_bgr: (3,) white-balance gains (blue, green = 1, red).
        exposure: overall gain; gamma: display gamma; saturation: colour saturation factor.
        noise_sigma: sensor noise, grey levels; blur_sigma_px: optical blur, pixels.
        jpeg_quality: compression quality (lower = blockier); vignetting: corner darkening.
    """

    wb_gains_bgr: tuple[float, float, float]
    exposure: float
    gamma: float
    saturation: float
    noise_sigma: float
    blur_sigma_px: float
    jpeg_quality: int
    vignetting: float

    @staticmethod
    def neutral() -> Imaging:
        """No colour change, no noise, no blur, no compression (tests)."""
        return Imaging((1.0, 1.0, 1.0), 1.0, 1.0, 1.0, 0.0, 0.0, 100, 0.0)

    @staticmethod
    def sample(rig: CameraRigConfig, rng: np.random.Generator) -> Imaging:
        wb = rig.white_balance
        return Imaging(
            wb_gains_bgr=(
                round(1 + float(rng.uniform(-wb, wb)), 4),
                1.0,
                round(1 + float(rng.uniform(-wb, wb)), 4),
            ),
            exposure=round(float(rng.uniform(*rig.exposure)), 4),
            gamma=round(float(rng.uniform(*rig.gamma)), 4),
            saturation=round(float(rng.uniform(*rig.saturation)), 4),
            noise_sigma=round(float(rng.uniform(*rig.noise_sigma)), 3),
            blur_sigma_px=round(float(rng.uniform(*rig.blur_sigma_px)), 3),
            jpeg_quality=int(round(rng.uniform(*rig.jpeg_quality))),
            vignetting=round(float(rng.uniform(*rig.vignetting)), 4),
        )


@dataclass(frozen=True)
class CameraSpec:
    """One simulated camera: its calibrated model, where it hangs and its imaging."""

    camera: PinholeCamera
    position_m: tuple[float, float, float]
    target_m: tuple[float, float, float]
    hfov_deg: float
    imaging: Imaging
    mount: str = "wall"

    @property
    def id(self) -> str:
        return self.camera.camera_id

    @staticmethod
    def make(
        camera_id: str,
        position_m,
        target_m,
        image_size_wh,
        hfov_deg: float,
        imaging: Imaging | None = None,
        mount: str = "wall",
    ) -> CameraSpec:
        cam = PinholeCamera.look_at(position_m, target_m, image_size_wh, hfov_deg, camera_id)
        return CameraSpec(
            camera=cam,
            position_m=tuple(float(v) for v in position_m),
            target_m=tuple(float(v) for v in target_m),
            hfov_deg=float(hfov_deg),
            imaging=imaging or Imaging.neutral(),
            mount=mount,
        )

    def to_json(self) -> dict:
        c = self.camera.center_m
        t = np.asarray(self.target_m)
        pitch = math.degrees(math.atan2(c[2] - t[2], float(np.hypot(*(t[:2] - c[:2])))))
        return {
            "id": self.id,
            "mount": self.mount,
            "position_m": [round(float(v), 4) for v in self.position_m],
            "target_m": [round(float(v), 4) for v in self.target_m],
            "hfov_deg": round(self.hfov_deg, 3),
            "pitch_deg": round(pitch, 3),
            "image_size_wh": list(self.camera.image_size_wh),
            "imaging": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.imaging.__dict__.items()
            },
        }


def seen_mask(
    world: World,
    cam: PinholeCamera,
    pts_xy_m: np.ndarray,
    max_range_m: float,
    min_height_px: float = 0.0,
) -> np.ndarray:
    """(N,) bool: a person standing at each floor point is seen by ``cam`` (see module doc).

    ``min_height_px``: the person's feet-to-head image distance must reach this too.
    """
    pts = np.asarray(pts_xy_m, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    w, h = cam.image_size_wh
    mx, my = IMAGE_MARGIN * w, IMAGE_MARGIN * h
    center = cam.center_m
    ok = np.hypot(pts[:, 0] - center[0], pts[:, 1] - center[1]) <= max_range_m
    ends = []
    for z in (0.0, SEEN_HEAD_M):
        uv = cam.project(np.column_stack([pts, np.full(n, z)]))
        with np.errstate(invalid="ignore"):
            ok &= (uv[:, 0] >= mx) & (uv[:, 0] <= w - mx) & (uv[:, 1] >= my) & (uv[:, 1] <= h - my)
        ends.append(uv)
    if min_height_px > 0:
        with np.errstate(invalid="ignore"):
            ok &= np.linalg.norm(ends[0] - ends[1], axis=1) >= min_height_px
    idx = np.flatnonzero(ok)
    if len(idx) and world.n_boxes:
        chest = np.column_stack([pts[idx], np.full(len(idx), SEEN_CHEST_M)])
        ok[idx[world.segments_blocked(center, chest)]] = False
    return ok


def _walkable_points(world: World, step_m: float, min_clearance_m: float = 0.25) -> np.ndarray:
    w, d = world.size_m
    xs = np.arange(step_m / 2, w, step_m)
    ys = np.arange(step_m / 2, d, step_m)
    pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return pts[world.nav.is_free(pts, min_clearance_m)]


def _candidate(world: World, rig: CameraRigConfig, rng: np.random.Generator, interior: np.ndarray):
    w, d = world.size_m
    height = float(rng.uniform(*rig.height_m))
    if rng.random() < 0.75:  # on a wall, looking into the room
        side = int(rng.integers(4))
        if side < 2:
            pos = (
                float(rng.uniform(0.3, w - 0.3)),
                WALL_INSET_M if side == 0 else d - WALL_INSET_M,
            )
        else:
            pos = (
                WALL_INSET_M if side == 2 else w - WALL_INSET_M,
                float(rng.uniform(0.3, d - 0.3)),
            )
        mount = "wall"
    else:  # on the ceiling structure above an aisle
        pos = tuple(interior[int(rng.integers(len(interior)))])
        height = max(height, float(np.max(world.box_max[:, 2], initial=0.0)) + 0.5)
        mount = "ceiling"
    aim = interior[int(rng.integers(len(interior)))]
    direction = np.asarray(aim) - np.asarray(pos)
    if np.linalg.norm(direction) < 1e-6:
        direction = np.array([1.0, 0.0])
    direction /= np.linalg.norm(direction)
    pitch = math.radians(float(rng.uniform(*rig.pitch_deg)))
    dist = height / math.tan(pitch)
    target = (pos[0] + direction[0] * dist, pos[1] + direction[1] * dist, 0.0)
    return (pos[0], pos[1], height), target, float(rng.uniform(*rig.hfov_deg)), mount


def place_cameras(
    world: World, rig: CameraRigConfig, image_size_wh: tuple[int, int], rng: np.random.Generator
) -> list[CameraSpec]:
    """Choose ``rig.count`` cameras among ``rig.candidates`` random mounts (see module doc)."""
    pts = _walkable_points(world, 0.6)
    interior = world.nav.center_of(np.argwhere(world.nav.free))
    cands = []
    seen = np.zeros((rig.candidates, len(pts)), dtype=bool)
    for k in range(rig.candidates):
        pos, target, hfov, mount = _candidate(world, rig, rng, interior)
        cam = PinholeCamera.look_at(pos, target, image_size_wh, hfov, f"cand{k}")
        cands.append((pos, target, hfov, mount))
        seen[k] = seen_mask(world, cam, pts, rig.max_range_m, rig.min_person_px)
    chosen = _choose(seen, cands, rig.count)
    specs = []
    for n, k in enumerate(chosen, start=1):
        pos, target, hfov, mount = cands[k]
        specs.append(
            CameraSpec.make(
                f"cam{n}",
                pos,
                target,
                image_size_wh,
                round(hfov, 3),
                Imaging.sample(rig, rng),
                mount,
            )
        )
    return specs


def _spaced(cands: list, chosen: list[int], k: int) -> bool:
    """True when candidate ``k`` hangs at least ``MIN_CAMERA_SPACING_M`` from the chosen ones."""
    pk = np.asarray(cands[k][0][:2])
    return all(
        np.hypot(*(np.asarray(cands[j][0][:2]) - pk)) >= MIN_CAMERA_SPACING_M for j in chosen
    )


def _choose(seen: np.ndarray, cands: list, count: int) -> list[int]:
    """Greedy selection, then swap passes: replace one camera at a time while coverage improves."""
    value = np.concatenate([[0.0], np.cumsum(COVERAGE_GAINS)])  # worth of a point seen by k cameras

    def score(idx: list[int]) -> float:
        counts = seen[idx].sum(axis=0)
        return float(value[np.minimum(counts, len(value) - 1)].sum())

    chosen: list[int] = []
    for _ in range(count):
        counts = seen[chosen].sum(axis=0) if chosen else np.zeros(seen.shape[1], np.int64)
        gain = (
            value[np.minimum(counts + 1, len(value) - 1)]
            - value[np.minimum(counts, len(value) - 1)]
        )
        worth = seen.astype(np.float64) @ gain
        for k in range(len(cands)):
            if k in chosen or not _spaced(cands, chosen, k):
                worth[k] = -1.0
        chosen.append(int(np.argmax(worth)))
    best = score(chosen)
    for _ in range(3):
        improved = False
        for slot in range(count):
            others = chosen[:slot] + chosen[slot + 1 :]
            for k in range(len(cands)):
                if k in chosen or not _spaced(cands, others, k):
                    continue
                trial = others[:slot] + [k] + others[slot:]
                sc = score(trial)
                if sc > best + 1e-9:
                    best, chosen, improved = sc, trial, True
        if not improved:
            break
    return chosen


def coverage_grid(
    world: World,
    specs: list[CameraSpec],
    max_range_m: float,
    cell_m: float = 0.25,
    min_height_px: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cameras seeing each floor cell (ny, nx) int, and the walkable mask (ny, nx) bool.

    Cell (i, j) has its centre at ((j + 0.5) * cell_m, (i + 0.5) * cell_m).
    """
    w, d = world.size_m
    nx, ny = math.ceil(w / cell_m), math.ceil(d / cell_m)
    xs = (np.arange(nx) + 0.5) * cell_m
    ys = (np.arange(ny) + 0.5) * cell_m
    pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    walkable = world.nav.is_free(pts, 0.25)
    counts = np.zeros(len(pts), dtype=np.int64)
    for spec in specs:
        counts += seen_mask(world, spec.camera, pts, max_range_m, min_height_px)
    return counts.reshape(ny, nx), walkable.reshape(ny, nx)


def coverage_shares(counts: np.ndarray, walkable: np.ndarray) -> dict[str, float]:
    """Shares of walkable cells seen by at least 1, 2 and 3 cameras.

    Example: counts [[0, 1], [2, 3]] all walkable -> ``{'ge1': 0.75, 'ge2': 0.5, 'ge3': 0.25}``.
    """
    c = counts[walkable]
    if c.size == 0:
        return {"ge1": 0.0, "ge2": 0.0, "ge3": 0.0}
    return {f"ge{k}": round(float((c >= k).mean()), 4) for k in (1, 2, 3)}
