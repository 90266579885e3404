"""The static world: floor, walls, doors, shelves as 3-D boxes, and walking paths around them.

World frame: metres, x along the floor width, y along its depth, z up, floor at z = 0; walls at
x = 0, x = width, y = 0, y = depth.

Example::

    world = generate_world(FloorConfig(), np.random.default_rng(0))
    path_xy_m = world.nav.plan((3.0, 3.0), (25.0, 15.0))     # (K, 2) polyline around shelves
    blocked = world.segments_blocked((1, 1, 4), [[20, 10, 1.2]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from mtmc.synth.config import FloorConfig

__all__ = ["Door", "NavGrid", "World", "generate_world", "BOX_KINDS"]

# Box kinds (texture and role). Racks and gondolas have pick faces along their long sides.
RACK, GONDOLA, PALLET, COUNTER = 0, 1, 2, 3
BOX_KINDS = {RACK: "rack", GONDOLA: "gondola", PALLET: "pallet", COUNTER: "counter"}

NAV_CELL_M = 0.2  # walking grid resolution
BODY_RADIUS_M = 0.35  # walking paths keep this far from shelves and walls
SIDES = ("south", "north", "west", "east")  # walls y = 0, y = depth, x = 0, x = width


@dataclass(frozen=True)
class Door:
    """An entry door on a wall.

    Attributes:
        side: ``south`` (y = 0), ``north`` (y = depth), ``west`` (x = 0) or ``east`` (x = width).
        center_m: position of the door's centre along its wall (x for south/north, y otherwise).
        width_m, height_m: opening size.
    """

    side: str
    center_m: float
    width_m: float
    height_m: float

    def point(self, size_m: tuple[float, float], inset_m: float) -> np.ndarray:
        """Floor point (2,) in front of the door, ``inset_m`` inside the wall."""
        w, d = size_m
        return np.array(
            {
                "south": (self.center_m, inset_m),
                "north": (self.center_m, d - inset_m),
                "west": (inset_m, self.center_m),
                "east": (w - inset_m, self.center_m),
            }[self.side]
        )

    def inward_heading(self) -> float:
        """Heading (radians, 0 = +x) of someone walking in through this door."""
        return {"south": math.pi / 2, "north": -math.pi / 2, "west": 0.0, "east": math.pi}[
            self.side
        ]


@dataclass
class NavGrid:
    """Occupancy grid of where a person's centre may be, and shortest walking paths on it.

    Attributes:
        cell_m: cell size in metres; cell (i, j) has its centre at
            ((j + 0.5) * cell, (i + 0.5) * cell).
        free: (ny, nx) bool, True where a body of radius ``BODY_RADIUS_M`` fits.
        clearance_m: (ny, nx) float distance from the cell centre to the nearest shelf or wall.
    """

    cell_m: float
    free: np.ndarray
    clearance_m: np.ndarray
    _graph: csr_matrix | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.free.shape  # type: ignore[return-value]

    def cell_of(self, xy_m: np.ndarray) -> np.ndarray:
        """Cells (N, 2) as (row, col) of floor points (N, 2), clipped to the grid."""
        xy = np.atleast_2d(np.asarray(xy_m, dtype=np.float64))
        ij = np.floor(xy[:, ::-1] / self.cell_m).astype(np.int64)
        ij[:, 0] = np.clip(ij[:, 0], 0, self.free.shape[0] - 1)
        ij[:, 1] = np.clip(ij[:, 1], 0, self.free.shape[1] - 1)
        return ij

    def center_of(self, ij: np.ndarray) -> np.ndarray:
        """Floor points (N, 2) of cell centres given (row, col) cells (N, 2)."""
        ij = np.atleast_2d(ij)
        return (ij[:, ::-1].astype(np.float64) + 0.5) * self.cell_m

    def is_free(self, xy_m: np.ndarray, min_clearance_m: float = BODY_RADIUS_M) -> np.ndarray:
        """(N,) bool: the points lie on the floor with at least ``min_clearance_m`` to obstacles."""
        xy = np.atleast_2d(np.asarray(xy_m, dtype=np.float64))
        ny, nx = self.free.shape
        inside = (
            (xy[:, 0] >= 0)
            & (xy[:, 1] >= 0)
            & (xy[:, 0] < nx * self.cell_m)
            & (xy[:, 1] < ny * self.cell_m)
        )
        ij = self.cell_of(xy)
        return inside & (self.clearance_m[ij[:, 0], ij[:, 1]] >= min_clearance_m)

    def line_free(
        self, a_xy: np.ndarray, b_xy: np.ndarray, min_clearance_m: float = BODY_RADIUS_M
    ) -> bool:
        """True when the straight walk from ``a_xy`` to ``b_xy`` keeps ``min_clearance_m``."""
        a = np.asarray(a_xy, dtype=np.float64)
        b = np.asarray(b_xy, dtype=np.float64)
        n = max(2, int(np.linalg.norm(b - a) / (self.cell_m * 0.5)) + 1)
        t = np.linspace(0.0, 1.0, n)[:, None]
        return bool(self.is_free(a + t * (b - a), min_clearance_m).all())

    def _build_graph(self) -> csr_matrix:
        ny, nx = self.free.shape
        index = np.arange(ny * nx).reshape(ny, nx)
        # Walking close to shelves costs a little more, so paths keep to the middle of aisles.
        penalty = 1.0 + 0.8 * np.exp(-np.maximum(self.clearance_m - BODY_RADIUS_M, 0.0) / 0.5)
        rows, cols, weights = [], [], []
        for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
            i0, i1 = max(0, -di), ny - max(0, di)
            j0, j1 = max(0, -dj), nx - max(0, dj)
            a = (slice(i0, i1), slice(j0, j1))
            b = (slice(i0 + di, i1 + di), slice(j0 + dj, j1 + dj))
            ok = self.free[a] & self.free[b]
            if di and dj:  # no corner cutting
                ok &= self.free[i0 + di : i1 + di, j0:j1] & self.free[i0:i1, j0 + dj : j1 + dj]
            step = self.cell_m * math.hypot(di, dj)
            w = step * 0.5 * (penalty[a] + penalty[b])
            rows.append(index[a][ok])
            cols.append(index[b][ok])
            weights.append(w[ok])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        w = np.concatenate(weights)
        return csr_matrix(
            (np.concatenate([w, w]), (np.concatenate([r, c]), np.concatenate([c, r]))),
            shape=(ny * nx,) * 2,
        )

    def nearest_free(self, xy_m: np.ndarray) -> np.ndarray:
        """The free cell centre (2,) nearest to ``xy_m``."""
        free_ij = np.argwhere(self.free)
        centers = self.center_of(free_ij)
        return centers[int(np.argmin(((centers - np.asarray(xy_m)) ** 2).sum(1)))]

    def plan(self, start_xy: np.ndarray, goal_xy: np.ndarray) -> np.ndarray:
        """Shortest walking path (K, 2) from ``start_xy`` to ``goal_xy`` around obstacles.

        Both ends are moved to the nearest free cell when needed. The grid path is shortened by
        line-of-sight checks so people walk straight along aisles and turn at corners.

        Raises:
            ValueError: the goal cannot be reached from the start (a disconnected floor).
        """
        if self._graph is None:
            self._graph = self._build_graph()
        start = np.asarray(start_xy, dtype=np.float64)
        goal = np.asarray(goal_xy, dtype=np.float64)
        if not self.is_free(start)[0]:
            start = self.nearest_free(start)
        if not self.is_free(goal)[0]:
            goal = self.nearest_free(goal)
        if self.line_free(start, goal):
            return np.stack([start, goal])
        nx = self.free.shape[1]
        s_ij, g_ij = self.cell_of(np.stack([start, goal]))
        s, g = int(s_ij[0] * nx + s_ij[1]), int(g_ij[0] * nx + g_ij[1])
        dist, pred = dijkstra(self._graph, indices=s, return_predecessors=True)
        if not np.isfinite(dist[g]):
            raise ValueError(
                f"no walking path from {start.round(2).tolist()} to {goal.round(2).tolist()}"
            )
        cells = [g]
        while cells[-1] != s:
            cells.append(int(pred[cells[-1]]))
        cells.reverse()
        ij = np.stack([np.asarray(cells) // nx, np.asarray(cells) % nx], axis=1)
        pts = np.concatenate([start[None], self.center_of(ij)[1:-1], goal[None]])
        return self._shortcut(pts)

    def _shortcut(self, pts: np.ndarray) -> np.ndarray:
        out = [pts[0]]
        i = 0
        while i < len(pts) - 1:
            j = len(pts) - 1
            while j > i + 1 and not self.line_free(pts[i], pts[j]):
                j -= 1
            out.append(pts[j])
            i = j
        return np.stack(out)


@dataclass
class World:
    """Floor, walls, doors and box-shaped occluders.

    Attributes:
        size_m: (width, depth) of the floor.
        wall_height_m: height of walls and ceiling.
        style: ``warehouse`` or ``retail`` (textures).
        box_min, box_max: (B, 3) opposite corners of axis-aligned boxes in metres.
        box_kind: (B,) int, one of ``BOX_KINDS``.
        box_seed: (B,) int64 per-box texture seed.
        doors: entry doors.
        nav: walking grid around the boxes.
    """

    size_m: tuple[float, float]
    wall_height_m: float
    style: str
    box_min: np.ndarray
    box_max: np.ndarray
    box_kind: np.ndarray
    box_seed: np.ndarray
    doors: list[Door]
    nav: NavGrid

    @property
    def n_boxes(self) -> int:
        return len(self.box_min)

    def segments_blocked(
        self, origin_m: np.ndarray, targets_m: np.ndarray, shrink_m: float = 0.02
    ) -> np.ndarray:
        """(N,) bool: the segment from ``origin_m`` (3,) to each target (N, 3) crosses a box.

        Boxes are shrunk by ``shrink_m`` so points touching a box face count as visible.
        """
        p0 = np.asarray(origin_m, dtype=np.float64).reshape(1, 1, 3)
        d = np.atleast_2d(np.asarray(targets_m, dtype=np.float64))[:, None, :] - p0  # (N, 1, 3)
        lo = (self.box_min + shrink_m)[None]
        hi = (self.box_max - shrink_m)[None]
        zero = d == 0
        safe = np.where(zero, 1.0, d)
        t1 = (lo - p0) / safe
        t2 = (hi - p0) / safe
        # a zero direction component: inside the slab -> unbounded, outside -> never hits
        tmin = np.where(zero, -np.inf, np.minimum(t1, t2))
        tmax = np.where(zero, np.inf, np.maximum(t1, t2))
        outside = zero & ((p0 < lo) | (p0 > hi))
        t_near = tmin.max(axis=2)
        t_far = tmax.min(axis=2)
        hit = (t_near <= t_far) & (t_far > 0.0) & (t_near < 1.0) & ~outside.any(axis=2)
        return hit.any(axis=1)


def light_level(
    xy_m: np.ndarray,
    size_m: tuple[float, float],
    lamps_m: np.ndarray,
    ambient: float,
    lamp_strength: float,
    gradient: float,
    lamp_sigma_m: float,
) -> np.ndarray:
    """Light level at floor points ``xy_m`` (..., 2): ambient + Gaussian lamp pools + x gradient.

    Example: a point under a lamp with ``ambient=0.6, lamp_strength=0.4, gradient=0`` gets about
    ``0.6 + 0.4 = 1.0`` (plus the tails of neighbouring lamps).
    """
    xy = np.asarray(xy_m, dtype=np.float64)
    level = np.full(xy.shape[:-1], ambient, dtype=np.float64)
    for lx, ly in lamps_m:
        level += lamp_strength * np.exp(
            -((xy[..., 0] - lx) ** 2 + (xy[..., 1] - ly) ** 2) / (2 * lamp_sigma_m**2)
        )
    level *= 1.0 + gradient * (xy[..., 0] / size_m[0] - 0.5)
    return level


def lamp_grid(size_m: tuple[float, float], spacing_m: float) -> np.ndarray:
    """Ceiling lamp positions (L, 2): a regular grid centred on the floor."""
    w, d = size_m
    nx = max(1, round(w / spacing_m))
    ny = max(1, round(d / spacing_m))
    xs = (np.arange(nx) + 0.5) * w / nx
    ys = (np.arange(ny) + 0.5) * d / ny
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def _sample(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _place_runs(
    lo: float,
    hi: float,
    length: tuple[float, float],
    gap: tuple[float, float],
    rng: np.random.Generator,
) -> list[tuple[float, float]]:
    """Split [lo, hi] into runs of ``length`` separated by ``gap``, centred in the interval."""
    runs: list[tuple[float, float]] = []
    x = lo
    while True:
        run = _sample(rng, length)
        if x + run > hi:
            run = hi - x
            if run < 0.5 * length[0]:
                break
        runs.append((x, x + run))
        x += run + _sample(rng, gap)
        if x >= hi - 0.5 * length[0]:
            break
    if runs:
        shift = (hi - runs[-1][1]) / 2
        runs = [(a + shift, b + shift) for a, b in runs]
    return runs


def generate_world(cfg: FloorConfig, rng: np.random.Generator) -> World:
    """A random layout from ``cfg``: rows of shelves along x with aisles, cross aisles, doors.

    Example::

        world = generate_world(FloorConfig(size_m=(30, 20)), np.random.default_rng(0))
        world.n_boxes, [d.side for d in world.doors]
    """
    w, d = cfg.size_m
    m = cfg.wall_margin_m
    retail = cfg.style == "retail"
    kind = GONDOLA if retail else RACK
    row_depth = cfg.shelf_depth_m * (2 if cfg.back_to_back else 1)
    boxes: list[tuple[float, float, float, float, float, int]] = []  # x0, y0, x1, y1, height, kind

    # 1. rows of shelving along x, separated by aisles, the block centred in y
    rows: list[tuple[float, float]] = []
    y = m
    first = True
    while True:
        depth = 0.8 if (first and cfg.counters) else row_depth
        if y + depth > d - m:
            break
        rows.append((y, y + depth))
        y += depth + _sample(rng, cfg.aisle_width_m)
        first = False
    if rows:
        shift = (d - m - rows[-1][1]) / 2
        rows = [(a + shift, b + shift) for a, b in rows]
    for r, (y0, y1) in enumerate(rows):
        if r == 0 and cfg.counters:
            # checkout counters: short, low boxes spread along the first row
            n = cfg.counters
            span = (w - 2 * m) / n
            for k in range(n):
                cx = m + (k + 0.5) * span
                boxes.append((cx - 0.8, y0, cx + 0.8, y1, 1.0, COUNTER))
            continue
        for x0, x1 in _place_runs(m, w - m, cfg.shelf_length_m, cfg.cross_aisle_m, rng):
            if rng.random() < cfg.gap_share:
                continue
            boxes.append((x0, y0, x1, y1, _sample(rng, cfg.shelf_height_m), kind))

    # 2. doors on the walls, at least 2 m from corners and 3 m apart
    doors: list[Door] = []
    tries = 0
    while len(doors) < cfg.doors and tries < 500:
        tries += 1
        side = SIDES[0] if (retail and not doors) else SIDES[int(rng.integers(4))]
        length = w if side in ("south", "north") else d
        width = _sample(rng, cfg.door_width_m)
        lo, hi = 2.0 + width / 2, length - 2.0 - width / 2
        if hi <= lo:
            continue
        center = float(rng.uniform(lo, hi))
        if any(
            o.side == side and abs(o.center_m - center) < (o.width_m + width) / 2 + 3.0
            for o in doors
        ):
            continue
        height = min(cfg.wall_height_m - 0.5, 2.3 if retail else float(rng.uniform(3.2, 4.2)))
        doors.append(Door(side, center, width, height))
    if len(doors) < cfg.doors:
        raise ValueError(f"floor {w} x {d} m is too small for {cfg.doors} doors; lower floor.doors")

    nav_free = _nav_free(w, d, boxes)

    # 3. loose pallet stacks / display tables in open floor, kept only if the floor stays connected
    door_pts = np.stack([door.point((w, d), 0.5) for door in doors])
    placed = 0
    for _ in range(cfg.pallets * 30):
        if placed >= cfg.pallets:
            break
        sx, sy = (1.2, 1.0) if rng.random() < 0.5 else (1.0, 1.2)
        if retail:
            sx, sy = 1.4, 1.0
        cx = float(rng.uniform(1.0 + sx / 2, w - 1.0 - sx / 2))
        cy = float(rng.uniform(1.0 + sy / 2, d - 1.0 - sy / 2))
        if np.min(np.hypot(door_pts[:, 0] - cx, door_pts[:, 1] - cy)) < 4.0:
            continue
        cand = (cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2)
        if any(_rect_gap(cand, b[:4]) < 1.4 for b in boxes):
            continue
        height = float(rng.uniform(0.7, 1.0)) if retail else float(rng.uniform(0.6, 1.7))
        trial = [*boxes, (*cand, height, PALLET)]
        free = _nav_free(w, d, trial)
        if _connected(free, door_pts, NAV_CELL_M):
            boxes = trial
            nav_free = free
            placed += 1

    clearance = _clearance(w, d, boxes)
    nav = NavGrid(cell_m=NAV_CELL_M, free=nav_free, clearance_m=clearance)
    arr = np.asarray([b[:5] for b in boxes], dtype=np.float64).reshape(-1, 5)
    box_min = np.column_stack([arr[:, 0], arr[:, 1], np.zeros(len(arr))])
    box_max = np.column_stack([arr[:, 2], arr[:, 3], arr[:, 4]])
    return World(
        size_m=(float(w), float(d)),
        wall_height_m=cfg.wall_height_m,
        style=cfg.style,
        box_min=box_min,
        box_max=box_max,
        box_kind=np.asarray([b[5] for b in boxes], dtype=np.int64),
        box_seed=rng.integers(0, 2**31 - 1, size=len(boxes)),
        doors=doors,
        nav=nav,
    )


def make_world(
    size_m: tuple[float, float],
    boxes_xyxyh: list[tuple[float, float, float, float, float]],
    doors: list[Door],
    *,
    style: str = "warehouse",
    wall_height_m: float = 6.0,
    kinds: list[int] | None = None,
) -> World:
    """A hand-built world (tests, custom layouts): boxes as ``(x0, y0, x1, y1, height)``."""
    w, d = size_m
    kinds = kinds or [RACK] * len(boxes_xyxyh)
    tagged = [(*b, k) for b, k in zip(boxes_xyxyh, kinds, strict=True)]
    arr = np.asarray(boxes_xyxyh, dtype=np.float64).reshape(-1, 5)
    return World(
        size_m=(float(w), float(d)),
        wall_height_m=wall_height_m,
        style=style,
        box_min=np.column_stack([arr[:, 0], arr[:, 1], np.zeros(len(arr))]),
        box_max=np.column_stack([arr[:, 2], arr[:, 3], arr[:, 4]]),
        box_kind=np.asarray(kinds, dtype=np.int64),
        box_seed=np.arange(len(arr), dtype=np.int64) * 7919 + 13,
        doors=list(doors),
        nav=NavGrid(
            cell_m=NAV_CELL_M, free=_nav_free(w, d, tagged), clearance_m=_clearance(w, d, tagged)
        ),
    )


def _rect_gap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    return math.hypot(dx, dy)


def _clearance(w: float, d: float, boxes: list[tuple]) -> np.ndarray:
    """Distance (ny, nx) from each cell centre to the nearest box or wall, metres."""
    nx, ny = math.ceil(w / NAV_CELL_M), math.ceil(d / NAV_CELL_M)
    xs = (np.arange(nx) + 0.5) * NAV_CELL_M
    ys = (np.arange(ny) + 0.5) * NAV_CELL_M
    # fine occupancy at 1/4 cell for an accurate distance transform
    f = 4
    fx = (np.arange(nx * f) + 0.5) * NAV_CELL_M / f
    fy = (np.arange(ny * f) + 0.5) * NAV_CELL_M / f
    occ = np.zeros((ny * f, nx * f), dtype=bool)
    for x0, y0, x1, y1, *_ in boxes:
        occ[np.ix_((fy >= y0) & (fy <= y1), (fx >= x0) & (fx <= x1))] = True
    dist = ndimage.distance_transform_edt(~occ) * NAV_CELL_M / f
    dist = dist[f // 2 :: f, f // 2 :: f][:ny, :nx]
    wall = np.minimum.outer(np.minimum(ys, d - ys), np.minimum(xs, w - xs))
    return np.minimum(dist, wall)


def _nav_free(w: float, d: float, boxes: list[tuple]) -> np.ndarray:
    return _clearance(w, d, boxes) >= BODY_RADIUS_M


def _connected(free: np.ndarray, points_xy: np.ndarray, cell_m: float) -> bool:
    """True when every free cell is reachable from every point (one connected region)."""
    labels, n = ndimage.label(free, structure=np.ones((3, 3)))
    if n != 1:
        return False
    ij = np.floor(points_xy[:, ::-1] / cell_m).astype(int)
    return bool((labels[ij[:, 0], ij[:, 1]] > 0).all())
