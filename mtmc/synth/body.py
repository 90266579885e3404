"""Articulated 3-D bodies: a person as convex parts (capsules and point hulls) at every frame.

The body is built in a local frame (a forward, b left, z up; origin on the floor between the
feet), from anthropometric proportions of the height (Drillis & Contini), posed by a gait model
(hip, knee, shoulder and elbow angles driven by the gait phase, amplitude growing with speed; the
pelvis rises so the lowest sole touches the floor), then placed at the person's position and
heading. Every part is convex, so its silhouette in an image is the convex hull of its projected
points (hull parts) or of two projected spheres (capsules).

Example::

    body = build_body(appearance, tracks, person_index=0)
    body.points_m.shape        # (F, M, 3) world points of every part at every frame
    body.parts[0].name         # 'shoe_l'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mtmc.synth.appearance import Appearance
from mtmc.synth.motion import Tracks

__all__ = ["Body", "Part", "build_body", "BAND", "CAPSULE", "HULL"]

# BAND: a strip of a body surface between two horizontal rings (stripes); only its side that
# faces the camera is drawn, so stripes stay stripes when seen from above.
CAPSULE, HULL, BAND = 0, 1, 2
FRONT, BACK = 1, -1  # parts drawn only when their side faces the camera


@dataclass(frozen=True)
class Part:
    """One convex body part.

    Attributes:
        name: e.g. ``thigh_l``, ``torso``, ``stripe_2``.
        kind: ``CAPSULE`` (two points + two radii), ``HULL`` (convex hull of its points) or
            ``BAND`` (two rings of equally many points; the strip between their camera-facing arcs).
        start, stop: its slice of ``Body.points_m`` along axis 1.
        radii_m: (2,) capsule radii at its two end points (zeros for hulls).
        color_bgr: (3,) float base colour.
        parent: index of the part it is painted on (stripes on the torso), or -1. A child is
            drawn right after its parent whatever its depth.
        facing: 0, or ``FRONT`` / ``BACK``: drawn only when that side of the body faces the camera.
        shaded: drawn with a darker rim and a lighter centre (round parts).
        optional: only drawn in frames where ``Body.active`` says so (a carried box).
    """

    name: str
    kind: int
    start: int
    stop: int
    radii_m: tuple[float, float]
    color_bgr: tuple[float, float, float]
    parent: int = -1
    facing: int = 0
    shaded: bool = True
    optional: bool = False


@dataclass
class Body:
    """A posed body over all frames.

    Attributes:
        points_m: (F, M, 3) float32 world points of every part.
        parts: the parts, in a fixed order.
        forward: (F, 2) float32 unit facing direction on the floor.
        active: (F,) bool, frames where optional parts (the carried box) are shown.
        height_m: body height (for lighting by height).
        person_id: global id.

    Derived tables (filled in ``__post_init__``, for fast rendering):
        part_start, part_count: (P,) int64 slices of the points of each part.
        part_root, part_level: (P,) int64 the top ancestor of each part and its depth below it.
        part_color: (P, 3) float64 base colours; point_radius_m: (M,) capsule radius of each
        point (0 for hull points); point_optional: (M,) bool, the point belongs to an optional part.
    """

    points_m: np.ndarray
    parts: list[Part]
    forward: np.ndarray
    active: np.ndarray
    height_m: float
    person_id: int

    def __post_init__(self) -> None:
        parts = self.parts
        self.part_start = np.array([p.start for p in parts], dtype=np.int64)
        self.part_count = np.array([p.stop - p.start for p in parts], dtype=np.int64)
        roots, levels = [], []
        for i in range(len(parts)):
            root, level = i, 0
            while parts[root].parent >= 0:
                root, level = parts[root].parent, level + 1
            roots.append(root)
            levels.append(level)
        self.part_root = np.array(roots, dtype=np.int64)
        self.part_level = np.array(levels, dtype=np.int64)
        self.part_color = np.array([p.color_bgr for p in parts], dtype=np.float64)
        m = self.points_m.shape[1]
        self.point_radius_m = np.zeros(m)
        self.point_optional = np.zeros(m, dtype=bool)
        for part in parts:
            if part.kind == CAPSULE:
                self.point_radius_m[part.start : part.stop] = part.radii_m
            if part.optional:
                self.point_optional[part.start : part.stop] = True


def _ring(n: int, half_a: float, half_b: float, phase: float = 0.0) -> np.ndarray:
    """(n, 2) points on an ellipse with half axes ``half_a`` (forward) and ``half_b`` (left)."""
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False) + phase
    return np.stack([half_a * np.cos(ang), half_b * np.sin(ang)], axis=1)


def _ellipsoid(n_lon: int, lats: np.ndarray) -> np.ndarray:
    """Unit-ellipsoid points (K, 3) as (u, v, w) on latitude rings ``lats`` (radians) plus poles."""
    pts = [np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])]
    lon = np.linspace(0, 2 * math.pi, n_lon, endpoint=False)
    for lat in lats:
        c, s = math.cos(lat), math.sin(lat)
        pts.append(np.stack([c * np.cos(lon), c * np.sin(lon), np.full(n_lon, s)], axis=1))
    return np.concatenate(pts)


_UNIT_HEAD = _ellipsoid(10, np.radians([-60, -30, 0, 25, 50, 72]))
_UNIT_HEAD_FINE = _ellipsoid(14, np.radians([-50, -35, -20, -5, 10, 25, 40, 55, 70, 82]))


class _Builder:
    """Collects parts and their (F, K, 3) local points."""

    def __init__(self, n_frames: int) -> None:
        self.f = n_frames
        self.blocks: list[np.ndarray] = []
        self.parts: list[Part] = []
        self.count = 0

    def add(
        self,
        name: str,
        kind: int,
        pts: np.ndarray,
        color,
        *,
        radii=(0.0, 0.0),
        parent: int = -1,
        facing: int = 0,
        shaded: bool = True,
        optional: bool = False,
    ) -> int:
        pts = np.asarray(pts, dtype=np.float64)
        if pts.ndim == 2:
            pts = np.broadcast_to(pts, (self.f, *pts.shape))
        k = pts.shape[1]
        self.parts.append(
            Part(
                name,
                kind,
                self.count,
                self.count + k,
                (float(radii[0]), float(radii[1])),
                tuple(float(c) for c in color),
                parent,
                facing,
                shaded,
                optional,
            )
        )
        self.blocks.append(pts)
        self.count += k
        return len(self.parts) - 1


def _sagittal(angle: np.ndarray, length: float) -> np.ndarray:
    """(F, 3) offset of a limb of ``length`` swung ``angle`` forward from hanging straight down."""
    return np.stack(
        [length * np.sin(angle), np.zeros_like(angle), -length * np.cos(angle)], axis=-1
    )


def build_body(app: Appearance, tracks: Tracks, person_index: int) -> Body:
    """Pose ``app``'s body at every frame of ``tracks`` for person ``person_index``.

    Frames where the person is absent get the pose of a standing person at the origin (they are
    never drawn).
    """
    H = app.height_m
    bw = app.build
    present = tracks.present[person_index]
    F = len(present)
    xy = np.nan_to_num(tracks.xy_m[person_index], nan=0.0)
    heading = tracks.heading_rad[person_index]
    speed = np.where(present, tracks.speed_mps[person_index], 0.0)
    phase = tracks.phase_rad[person_index]
    carry = tracks.carrying[person_index] & present

    # 1. gait angles (radians), amplitude growing with speed
    amp = np.clip(speed / 1.3, 0.0, 1.15)
    thigh = {"l": 0.42 * amp * np.sin(phase), "r": -0.42 * amp * np.sin(phase)}
    knee = {
        "l": amp * (0.08 + 0.75 * np.maximum(0.0, np.cos(phase)) ** 2),
        "r": amp * (0.08 + 0.75 * np.maximum(0.0, -np.cos(phase)) ** 2),
    }
    shoulder = {"l": -0.36 * amp * np.sin(phase), "r": 0.36 * amp * np.sin(phase)}
    elbow = {s: 0.15 + 0.1 * amp + 0.6 * np.maximum(0.0, shoulder[s]) for s in "lr"}
    for s in "lr":  # carry pose: upper arms forward, forearms level
        shoulder[s] = np.where(carry, 0.45, shoulder[s])
        elbow[s] = np.where(carry, 1.05, elbow[s])

    # 2. legs relative to the hip joints; the pelvis height puts the lowest sole on the floor
    thigh_len, shank_len = 0.245 * H, 0.246 * H
    shoe_r = 0.023 * H
    legs = {}
    lowest = np.full(F, np.inf)
    for s, side in (("l", 1.0), ("r", -1.0)):
        hip = np.zeros((F, 3))
        hip[:, 1] = side * 0.052 * H * app.hips
        knee_p = hip + _sagittal(thigh[s], thigh_len)
        shin_angle = thigh[s] - knee[s]
        ankle = knee_p + _sagittal(shin_angle, shank_len)
        lift = np.maximum(0.0, -shin_angle) * 0.8  # heel rises at toe-off
        heel = ankle + np.stack(
            [-0.045 * H * np.ones(F), np.zeros(F), -0.016 * H + 0.06 * H * np.sin(lift)], -1
        )
        toe = ankle + np.stack([0.07 * H * np.cos(lift), np.zeros(F), -0.016 * H * np.ones(F)], -1)
        legs[s] = (hip, knee_p, ankle, heel, toe)
        lowest = np.minimum(lowest, np.minimum(heel[:, 2], toe[:, 2]) - shoe_r)
    hip_z = -lowest  # (F,) height of the hip joints
    lean = 0.07 * amp  # forward lean of the upper body when walking

    def up(
        a: float | np.ndarray, b: float | np.ndarray, z_nominal: float | np.ndarray
    ) -> np.ndarray:
        """(F, 3) upper-body point from nominal standing height, moved with pelvis and lean."""
        z = hip_z + (np.asarray(z_nominal) - 0.52 * H)
        a_lean = np.asarray(a) + lean * (z - hip_z)
        return np.stack(np.broadcast_arrays(a_lean, np.asarray(b) + 0 * hip_z, z), axis=-1)

    def rings(levels: list[tuple[float, float, float]], n: int, scale: float = 1.0) -> np.ndarray:
        """(F, n * len(levels), 3) hull points of horizontal rings (z, half_a, half_b)."""
        a, b, z = [], [], []
        for zl, ha, hb in levels:
            r = _ring(n, ha * scale, hb * scale)
            a.append(r[:, 0])
            b.append(r[:, 1])
            z.append(np.full(n, zl))
        return up_pts(np.concatenate(a), np.concatenate(b), np.concatenate(z))

    def up_pts(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(F, K, 3) upper-body points from (K,) nominal coordinates."""
        zz = hip_z[:, None] + (z[None, :] - 0.52 * H)
        aa = a[None, :] + lean[:, None] * (zz - hip_z[:, None])
        return np.stack([aa, np.broadcast_to(b[None, :], zz.shape), zz], axis=-1)

    B = _Builder(F)
    skin, top, trousers = app.skin_bgr, app.top_bgr, app.trousers_bgr
    sleeve = top

    # 3. legs and shoes
    for s in "lr":
        hip, knee_p, ankle, heel, toe = legs[s]
        off = np.stack([np.zeros(F), np.zeros(F), hip_z], -1)
        B.add(
            f"shoe_{s}",
            CAPSULE,
            np.stack([heel + off, toe + off], 1),
            app.shoes_bgr,
            radii=(shoe_r, shoe_r * 1.05),
        )
        B.add(
            f"shin_{s}",
            CAPSULE,
            np.stack([knee_p + off, ankle + off], 1),
            skin if app.shorts else trousers,
            radii=(0.031 * H * bw, 0.022 * H),
        )
        B.add(
            f"thigh_{s}",
            CAPSULE,
            np.stack([hip + off, knee_p + off], 1),
            trousers,
            radii=(0.047 * H * bw, 0.033 * H * bw),
        )

    # 4. pelvis, torso and what is painted on it
    hw, hd = 0.098 * H * bw, 0.062 * H * bw  # chest half width / depth
    hips_w = 0.092 * H * bw * app.hips
    B.add(
        "pelvis",
        HULL,
        rings([(0.465 * H, 0.058 * H * bw, hips_w * 0.92), (0.585 * H, 0.06 * H * bw, hips_w)], 12),
        trousers,
    )
    torso_levels = [
        (0.56 * H, hd * 0.95, hips_w * 0.98),
        (0.64 * H, hd * 0.97, hw * 0.9),
        (0.72 * H, hd, hw),
        (0.79 * H, hd * 0.85, hw * 1.08),
        (0.815 * H, hd * 0.7, hw * 0.78),
    ]
    torso = B.add("torso", HULL, rings(torso_levels, 12), top)

    def band(z0: float, z1: float, scale: float) -> np.ndarray:
        def level(z: float) -> tuple[float, float, float]:
            zs = [lv[0] for lv in torso_levels]
            return (
                z,
                float(np.interp(z, zs, [lv[1] for lv in torso_levels])),
                float(np.interp(z, zs, [lv[2] for lv in torso_levels])),
            )

        return rings([level(z0), level(z1)], 12, scale)

    if app.top_pattern == "stripes":
        z = 0.58 * H
        k = 0
        while z + 0.02 * H < 0.79 * H:
            B.add(
                f"stripe_{k}",
                BAND,
                band(z, z + 0.022 * H, 1.015),
                app.top_second_bgr,
                parent=torso,
                shaded=False,
            )
            z += 0.05 * H
            k += 1
    elif app.top_pattern == "block":
        B.add(
            "block",
            BAND,
            band(0.725 * H, 0.812 * H, 1.012),
            app.top_second_bgr,
            parent=torso,
            shaded=False,
        )
    front_a = hd * 1.04
    if app.top_pattern == "print":
        a = np.full(4, front_a)
        B.add(
            "print",
            HULL,
            up_pts(
                a,
                np.array([-0.05, 0.05, 0.05, -0.05]) * H,
                np.array([0.655, 0.655, 0.745, 0.745]) * H,
            ),
            app.top_second_bgr,
            parent=torso,
            facing=FRONT,
            shaded=False,
        )
    if app.vest_bgr is not None:
        vest = B.add("vest", HULL, band(0.6 * H, 0.795 * H, 1.05), app.vest_bgr, parent=torso)
        for k, z in enumerate((0.64 * H, 0.7 * H)):
            B.add(
                f"vest_band_{k}",
                BAND,
                band(z, z + 0.022 * H, 1.065),
                (200, 205, 205),
                parent=vest,
                shaded=False,
            )
        B.add(
            "vest_gap",
            HULL,
            up_pts(
                np.full(4, hd * 1.075),
                np.array([-0.012, 0.012, 0.012, -0.012]) * H,
                np.array([0.6, 0.6, 0.79, 0.79]) * H,
            ),
            top,
            parent=vest,
            facing=FRONT,
            shaded=False,
        )
    if app.chest_print_bgr is not None:
        a = np.full(4, hd * (1.1 if app.vest_bgr is not None else 1.045))
        B.add(
            "chest_print",
            HULL,
            up_pts(
                a,
                np.array([0.022, 0.056, 0.056, 0.022]) * H,
                np.array([0.735, 0.735, 0.77, 0.77]) * H,
            ),
            app.chest_print_bgr,
            parent=torso,
            facing=FRONT,
            shaded=False,
        )
    if app.backpack_bgr is not None:
        a = np.array([-hd * 0.9, -hd - 0.085 * H])
        corners = np.array(
            [[x, y, z] for x in a for y in (-0.068 * H, 0.068 * H) for z in (0.6 * H, 0.775 * H)]
        )
        B.add(
            "backpack", HULL, up_pts(corners[:, 0], corners[:, 1], corners[:, 2]), app.backpack_bgr
        )
        for k, y in enumerate((-0.06 * H, 0.06 * H)):
            B.add(
                f"strap_{k}",
                HULL,
                up_pts(
                    np.full(4, hd * 1.05),
                    np.array([y - 0.008 * H, y + 0.008 * H] * 2),
                    np.array([0.66, 0.66, 0.8, 0.8]) * H,
                ),
                app.backpack_bgr,
                parent=torso,
                facing=FRONT,
                shaded=False,
            )

    # 5. arms
    arm_roots = {}
    for s, side in (("l", 1.0), ("r", -1.0)):
        sh = up(np.zeros(F), side * 0.105 * H * bw, np.full(F, 0.79 * H))
        upper = _sagittal(shoulder[s], 0.186 * H)
        upper[:, 1] += side * 0.012 * H  # arms hang slightly away from the body
        el = sh + upper
        fore = _sagittal(shoulder[s] + elbow[s], 0.146 * H)
        fore[:, 1] += np.where(carry, -side * 0.012 * H, side * 0.004 * H)  # hands at the box sides
        wr = el + fore
        direction = fore / np.linalg.norm(fore, axis=1, keepdims=True)
        hand_end = wr + direction * 0.07 * H
        arm_roots[s] = sh
        B.add(
            f"upper_arm_{s}",
            CAPSULE,
            np.stack([sh, el], 1),
            sleeve,
            radii=(0.027 * H * bw, 0.022 * H * bw),
        )
        B.add(
            f"forearm_{s}",
            CAPSULE,
            np.stack([el, wr], 1),
            sleeve if app.long_sleeves else skin,
            radii=(0.021 * H * bw, 0.017 * H),
        )
        B.add(
            f"hand_{s}",
            CAPSULE,
            np.stack([wr, hand_end], 1),
            app.gloves_bgr or skin,
            radii=(0.018 * H, 0.017 * H),
            shaded=False,
        )

    # 6. neck, head, hair, headwear
    B.add(
        "neck",
        CAPSULE,
        np.stack(
            [up(0.0, 0.0, np.full(F, 0.815 * H)), up(0.006 * H, 0.0, np.full(F, 0.875 * H))], 1
        ),
        skin,
        radii=(0.027 * H, 0.025 * H),
    )
    ha, hb, hz, hc = 0.055 * H, 0.045 * H, 0.063 * H, 0.934 * H
    head_pts = _UNIT_HEAD * [ha, hb, hz]
    head = B.add(
        "head", HULL, up_pts(head_pts[:, 0] + 0.01 * H, head_pts[:, 1], head_pts[:, 2] + hc), skin
    )
    fine = _UNIT_HEAD_FINE
    if app.hair_style != "bald":
        # hair covers the head above a hairline that is high at the front and low at the back
        low = -0.55 if app.hair_style in ("long", "ponytail", "bun") else -0.2
        keep = fine[:, 2] > np.clip(0.3 + 0.5 * fine[:, 0], low, 1.0)
        hp = fine[keep] * [ha * 1.07, hb * 1.08, hz * 1.06]
        color = (
            app.hair_bgr
            if app.hair_style != "buzz"
            else tuple(0.55 * np.array(app.hair_bgr) + 0.45 * np.array(skin))
        )
        hair = B.add(
            "hair", HULL, up_pts(hp[:, 0] + 0.006 * H, hp[:, 1], hp[:, 2] + hc), color, parent=head
        )
        if app.hair_style == "long":
            B.add(
                "hair_long",
                CAPSULE,
                up_pts(np.array([-0.035, -0.048]) * H, np.zeros(2), np.array([0.93, 0.8]) * H),
                app.hair_bgr,
                radii=(0.05 * H, 0.045 * H),
            )
        elif app.hair_style == "ponytail":
            B.add(
                "ponytail",
                CAPSULE,
                up_pts(np.array([-0.058, -0.07]) * H, np.zeros(2), np.array([0.95, 0.86]) * H),
                app.hair_bgr,
                radii=(0.02 * H, 0.014 * H),
            )
        elif app.hair_style == "bun":
            B.add(
                "bun",
                CAPSULE,
                up_pts(np.array([-0.06, -0.062]) * H, np.zeros(2), np.array([0.965, 0.96]) * H),
                app.hair_bgr,
                radii=(0.026 * H, 0.026 * H),
            )
    else:
        hair = head
    if app.headwear == "hard_hat" and app.headwear_bgr is not None:
        dome = fine[fine[:, 2] > 0.15] * [ha * 1.2, hb * 1.25, hz * 1.22]
        brim = np.column_stack([_ring(14, ha * 1.45, hb * 1.4), np.full(14, 0.2 * hz)])
        hat = np.concatenate([dome, brim])
        B.add(
            "hard_hat",
            HULL,
            up_pts(hat[:, 0] + 0.008 * H, hat[:, 1], hat[:, 2] + hc),
            app.headwear_bgr,
            parent=hair,
        )
    elif app.headwear == "cap" and app.headwear_bgr is not None:
        dome = fine[fine[:, 2] > 0.3] * [ha * 1.1, hb * 1.12, hz * 1.1]
        visor = np.array(
            [
                [ha * 1.0, -hb * 0.6, 0.32 * hz],
                [ha * 1.0, hb * 0.6, 0.32 * hz],
                [ha * 1.6, -hb * 0.45, 0.28 * hz],
                [ha * 1.6, hb * 0.45, 0.28 * hz],
            ]
        )
        cap = np.concatenate([dome, visor])
        B.add(
            "cap",
            HULL,
            up_pts(cap[:, 0] + 0.008 * H, cap[:, 1], cap[:, 2] + hc),
            app.headwear_bgr,
            parent=hair,
        )

    # 7. a carried box in front of the chest
    box = np.array(
        [
            [x, y, z]
            for x in (hd + 0.01 * H, hd + 0.19 * H)
            for y in (-0.1 * H, 0.1 * H)
            for z in (0.56 * H, 0.69 * H)
        ]
    )
    B.add(
        "carried_box", HULL, up_pts(box[:, 0], box[:, 1], box[:, 2]), (70, 120, 170), optional=True
    )

    # 8. local (a, b, z) -> world
    local = np.concatenate(B.blocks, axis=1)  # (F, M, 3)
    c, s_ = np.cos(heading)[:, None], np.sin(heading)[:, None]
    world = np.empty_like(local)
    world[..., 0] = xy[:, 0:1] + local[..., 0] * c - local[..., 1] * s_
    world[..., 1] = xy[:, 1:2] + local[..., 0] * s_ + local[..., 1] * c
    world[..., 2] = local[..., 2]
    forward = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    return Body(
        points_m=world.astype(np.float32),
        parts=B.parts,
        forward=forward.astype(np.float32),
        active=carry,
        height_m=H,
        person_id=app.person_id,
    )
