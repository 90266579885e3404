"""Online global association (RTLS): per-camera tracklets -> global ids with floor positions.

Each step receives the detections of all cameras at one time instant, already tracked per camera
(``track_id``), mapped to the floor (``floor_xy_m``) and, for some rows, embedded (``embedding``).
The associator keeps one :class:`Tracklet` per (camera, local track id) and one :class:`GlobalTrack`
per person, and in each step:

1. records the observations on their tracklets;
2. checks the bound tracklets: a tracklet whose floor point or appearance contradicts its global
   track for ``unbind_after_s`` is released (a single-camera tracker may have swapped people);
   two tracklets of one camera can never share a global id;
3. matches unbound tracklets to global tracks by gated, component-split Hungarian assignment on
   the fused cost of cosine distance and floor distance (:mod:`mtmc.associate.costs`);
4. promotes tracklets that stayed unmatched for ``tentative_s`` to new global ids, grouping
   simultaneous new tracklets of different cameras that stand on the same spot;
5. fuses each global track's floor position from its tracklets (weights favour large, unoccluded,
   near boxes) and smooths it with an alpha-beta filter, which also gives the velocity;
6. retires tracklets and global tracks unseen for ``max_age_s``: the state stays bounded.

Example::

    assoc = GlobalAssociator(AssociationConfig())
    for t_s, dets in steps:                    # dets: Detections of all cameras at t_s
        dets = assoc.update(dets, t_s)         # adds the "global_id" column (-1 = not yet)
        objects = assoc.objects()              # global tracks seen at t_s, with floor x, y, vx, vy
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from mtmc.associate.assign import assign_gated
from mtmc.associate.costs import cosine_distance, floor_distance, fused_cost, l2_normalize
from mtmc.config import AssociationConfig
from mtmc.types import CAMERA_ID, EMBEDDING, FLOOR_XY, Detections

__all__ = ["GLOBAL_ID", "QUALITY", "GlobalAssociator", "GlobalObject", "GlobalTrack", "Tracklet"]

GLOBAL_ID = "global_id"  # (N,) int64 column written by the associator; -1 = not (yet) assigned
QUALITY = "quality"  # optional (N,) float column: weight of a row in floor fusion (default 1)

UNASSIGNED = -1
TRACKLET_EMA = 0.2  # weight of a new embedding in a tracklet's running mean
GLOBAL_EMA = 0.1  # weight of a tracklet embedding in a global track's running mean (as Metropolis)
MAX_EXEMPLARS = 8  # appearance exemplars kept per global track (one per recent tracklet)
POSITION_ALPHA = 0.7  # alpha-beta filter: share of the measurement residual taken into the position
VELOCITY_BETA = 0.2  # alpha-beta filter: share of the residual rate taken into the velocity
MAX_SPEED_MPS = 3.0  # velocities are clipped to this (people walk at 1-2 m/s)


@dataclass
class Tracklet:
    """One camera's local track as the associator sees it."""

    camera_id: str
    local_id: int
    first_t: float
    last_t: float
    xy_m: np.ndarray  # latest floor point (2,)
    quality: float = 1.0
    appearance: np.ndarray | None = None  # running mean embedding (unit)
    last_embedding: np.ndarray | None = None
    global_id: int = UNASSIGNED
    unassigned_since: float = 0.0  # when it last became unbound (for the tentative period)
    contradiction_since: float | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.camera_id, self.local_id)


@dataclass
class GlobalTrack:
    """One person: floor state, appearance model and the tracklets bound to it."""

    global_id: int
    xy_m: np.ndarray
    velocity_mps: np.ndarray
    last_t: float
    appearance: np.ndarray | None = None
    # One exemplar per recent tracklet (its running mean), oldest first, at most MAX_EXEMPLARS.
    exemplars: OrderedDict[tuple[str, int], np.ndarray] = field(default_factory=OrderedDict)
    tracklets: set[tuple[str, int]] = field(default_factory=set)

    def predict(self, t_s: float) -> np.ndarray:
        return self.xy_m + self.velocity_mps * max(0.0, t_s - self.last_t)

    def appearance_distance(self, embedding: np.ndarray | None) -> float:
        """Smallest cosine distance from ``embedding`` to the running mean and the exemplars."""
        if embedding is None or self.appearance is None:
            return float("nan")
        gallery = np.vstack([self.appearance, *self.exemplars.values()])
        return float(cosine_distance(embedding[None], gallery).min())


@dataclass(frozen=True)
class GlobalObject:
    """A global track as reported at one time step (one ``objects`` entry of ``rtls.jsonl``)."""

    global_id: int
    x_m: float
    y_m: float
    vx_mps: float
    vy_mps: float
    cams: dict[str, int]


class GlobalAssociator:
    """Online multi-camera association. All state is on the instance; ``reset()`` clears it."""

    def __init__(self, config: AssociationConfig, first_global_id: int = 1) -> None:
        self.config = config
        self._first_id = first_global_id
        self.reset()

    def reset(self) -> None:
        self._next_id = self._first_id
        self.tracklets: dict[tuple[str, int], Tracklet] = {}
        self.globals: dict[int, GlobalTrack] = {}
        self._seen_now: dict[int, dict[str, int]] = {}
        self._t = float("-inf")

    # ------------------------------------------------------------------------------------------

    def update(self, dets: Detections, t_s: float) -> Detections:
        """Associate one time step. Returns ``dets`` with a ``global_id`` column added.

        ``dets`` needs the ``camera_id`` column (or meta), ``track_id`` (local ids, -1 rows are
        ignored) and the ``floor_xy_m`` column (NaN rows are ignored: outside the ROI or above
        the horizon); ``embedding`` (NaN rows = not embedded this step) and ``quality`` are optional.
        """
        if t_s < self._t:
            raise ValueError(f"time went backwards: step at {t_s} s after {self._t} s")
        self._t = t_s
        observed = self._observe(dets, t_s)  # 1.
        self._check_bound(observed, t_s)  # 2.
        self._match_unbound(observed, t_s)  # 3.
        self._promote_tentative(observed, t_s)  # 4.
        self._update_globals(observed, t_s)  # 5.
        self._retire(t_s)  # 6.
        out = dets[np.arange(len(dets))]
        cams = _camera_column(dets)
        out.data[GLOBAL_ID] = np.array(
            [self._global_of(str(cam), int(tid)) for cam, tid in zip(cams, dets.track_id, strict=True)],
            dtype=np.int64,
        )
        return out

    def objects(self) -> list[GlobalObject]:
        """Global tracks observed in the last step, with fused floor position and velocity."""
        result = []
        for gid in sorted(self._seen_now):
            g = self.globals[gid]
            result.append(
                GlobalObject(
                    global_id=gid,
                    x_m=float(g.xy_m[0]),
                    y_m=float(g.xy_m[1]),
                    vx_mps=float(g.velocity_mps[0]),
                    vy_mps=float(g.velocity_mps[1]),
                    cams=dict(sorted(self._seen_now[gid].items())),
                )
            )
        return result

    # 1. ----------------------------------------------------------------------------------------

    def _observe(self, dets: Detections, t_s: float) -> list[Tracklet]:
        n = len(dets)
        cams = _camera_column(dets)
        floor = dets.data.get(FLOOR_XY)
        if floor is None:
            raise ValueError("association needs the floor_xy_m column (map foot points with calib)")
        emb = dets.data.get(EMBEDDING)
        quality = dets.data.get(QUALITY, np.ones(n))
        has_emb = (
            np.isfinite(emb).all(axis=1) if emb is not None else np.zeros(n, dtype=bool)
        )
        if emb is not None and has_emb.any():
            emb = l2_normalize(emb)
        observed: list[Tracklet] = []
        for i in range(n):
            local_id = int(dets.track_id[i])
            if local_id < 0 or not np.isfinite(floor[i]).all():
                continue
            key = (str(cams[i]), local_id)
            tr = self.tracklets.get(key)
            if tr is None:
                tr = Tracklet(key[0], local_id, first_t=t_s, last_t=t_s, xy_m=floor[i].astype(float))
                tr.unassigned_since = t_s
                self.tracklets[key] = tr
            tr.last_t = t_s
            tr.xy_m = np.asarray(floor[i], dtype=float)
            tr.quality = float(quality[i])
            if has_emb[i]:
                e = emb[i]
                tr.last_embedding = e
                tr.appearance = (
                    e if tr.appearance is None
                    else l2_normalize((1 - TRACKLET_EMA) * tr.appearance + TRACKLET_EMA * e)
                )
            observed.append(tr)
        return observed

    # 2. ----------------------------------------------------------------------------------------

    def _check_bound(self, observed: list[Tracklet], t_s: float) -> None:
        cfg = self.config
        by_global: dict[int, list[Tracklet]] = {}
        for tr in observed:
            if tr.global_id != UNASSIGNED:
                by_global.setdefault(tr.global_id, []).append(tr)
        for gid, members in by_global.items():
            g = self.globals[gid]
            # One camera cannot see one person twice: keep the tracklet bound first.
            members.sort(key=lambda tr: tr.first_t)
            seen_cams: set[str] = set()
            kept: list[Tracklet] = []
            for tr in members:
                if tr.camera_id in seen_cams:
                    self._unbind(tr, t_s)
                else:
                    seen_cams.add(tr.camera_id)
                    kept.append(tr)
            # Compare with the track's prediction, not with the other tracklets: when two cameras
            # disagree, the one that jumped away from where the person was heading is to blame.
            predicted = g.predict(t_s)
            reach_m = cfg.gate_floor_m + MAX_SPEED_MPS * (t_s - g.last_t)
            for tr in kept:
                far = np.hypot(*(tr.xy_m - predicted)) > reach_m
                unlike = g.appearance_distance(tr.last_embedding) > cfg.max_appearance_distance
                if far or unlike:
                    if tr.contradiction_since is None:
                        tr.contradiction_since = t_s
                    if t_s - tr.contradiction_since >= cfg.unbind_after_s:
                        self._unbind(tr, t_s)
                else:
                    tr.contradiction_since = None

    def _unbind(self, tr: Tracklet, t_s: float) -> None:
        self.globals[tr.global_id].tracklets.discard(tr.key)
        tr.global_id = UNASSIGNED
        tr.unassigned_since = t_s
        tr.contradiction_since = None
        # Its history may belong to the person it was bound to: restart from the latest look.
        tr.appearance = tr.last_embedding

    # 3. ----------------------------------------------------------------------------------------

    def _cost(self, tracklets: list[Tracklet], tracks: list[GlobalTrack], t_s: float) -> np.ndarray:
        """(R, C) fused cost of unbound tracklets against global tracks, inf where gated."""
        cfg = self.config
        xy = np.array([tr.xy_m for tr in tracklets])
        pred = np.array([g.predict(t_s) for g in tracks])
        gap = np.array([max(0.0, t_s - g.last_t) for g in tracks])
        gate = (cfg.gate_floor_m + cfg.reentry_speed_mps * gap)[None, :]
        appearance = np.array(
            [[g.appearance_distance(tr.appearance) for g in tracks] for tr in tracklets]
        )
        cost = fused_cost(
            floor_distance(xy, pred), gate, appearance, cfg.appearance_weight,
            cfg.max_appearance_distance,
        )
        # A global track cannot take a second tracklet of a camera it is seen by right now.
        for j, g in enumerate(tracks):
            busy = {key[0] for key in g.tracklets if self.tracklets[key].last_t == t_s}
            if busy:
                rows = [i for i, tr in enumerate(tracklets) if tr.camera_id in busy]
                cost[rows, j] = np.inf
        return cost

    def _match_unbound(self, observed: list[Tracklet], t_s: float) -> None:
        unbound = [tr for tr in observed if tr.global_id == UNASSIGNED]
        tracks = list(self.globals.values())
        if not unbound or not tracks:
            return
        for r, c in assign_gated(self._cost(unbound, tracks, t_s)):
            self._bind(unbound[r], tracks[c])

    def _bind(self, tr: Tracklet, g: GlobalTrack) -> None:
        tr.global_id = g.global_id
        tr.contradiction_since = None
        g.tracklets.add(tr.key)

    # 4. ----------------------------------------------------------------------------------------

    def _promote_tentative(self, observed: list[Tracklet], t_s: float) -> None:
        due = sorted(
            (tr for tr in observed
             if tr.global_id == UNASSIGNED and t_s - tr.unassigned_since >= self.config.tentative_s),
            key=lambda tr: (tr.unassigned_since, tr.camera_id, tr.local_id),
        )
        for tr in due:
            if tr.global_id != UNASSIGNED:  # joined a global created earlier in this loop
                continue
            g = GlobalTrack(
                global_id=self._next_id, xy_m=tr.xy_m.copy(), velocity_mps=np.zeros(2),
                last_t=t_s, appearance=tr.appearance,
            )
            self._next_id += 1
            self.globals[g.global_id] = g
            self._bind(tr, g)
            # Other cameras' new tracklets standing on the same spot are the same new person.
            rest = [o for o in due if o.global_id == UNASSIGNED and o.camera_id != tr.camera_id]
            if rest:
                cost = self._cost(rest, [g], t_s)[:, 0]
                best: dict[str, tuple[float, Tracklet]] = {}
                for o, c in zip(rest, cost, strict=True):
                    if np.isfinite(c) and c < best.get(o.camera_id, (np.inf, o))[0]:
                        best[o.camera_id] = (c, o)
                for _, o in best.values():
                    self._bind(o, g)

    # 5. ----------------------------------------------------------------------------------------

    def _update_globals(self, observed: list[Tracklet], t_s: float) -> None:
        members: dict[int, list[Tracklet]] = {}
        for tr in observed:
            if tr.global_id != UNASSIGNED:
                members.setdefault(tr.global_id, []).append(tr)
        self._seen_now = {}
        for gid, reporting in members.items():
            g = self.globals[gid]
            # Tracklets under suspicion do not move the track (unless nothing else sees it).
            trs = [tr for tr in reporting if tr.contradiction_since is None] or reporting
            weights = np.array([max(tr.quality, 1e-6) for tr in trs])
            measured = np.average([tr.xy_m for tr in trs], axis=0, weights=weights)
            dt = t_s - g.last_t
            if dt > 0:
                predicted = g.predict(t_s)
                residual = measured - predicted
                g.xy_m = predicted + POSITION_ALPHA * residual
                g.velocity_mps = g.velocity_mps + VELOCITY_BETA * residual / dt
                speed = np.hypot(*g.velocity_mps)
                if speed > MAX_SPEED_MPS:
                    g.velocity_mps *= MAX_SPEED_MPS / speed
            else:  # created this step: take the fused point
                g.xy_m = measured
            g.last_t = t_s
            for tr in trs:
                if tr.last_embedding is not None and tr.last_t == t_s and tr.appearance is not None:
                    g.appearance = (
                        tr.appearance if g.appearance is None
                        else l2_normalize((1 - GLOBAL_EMA) * g.appearance + GLOBAL_EMA * tr.appearance)
                    )
                    _replace_exemplar(g, tr)
            self._seen_now[gid] = {tr.camera_id: tr.local_id for tr in reporting}

    # 6. ----------------------------------------------------------------------------------------

    def _retire(self, t_s: float) -> None:
        max_age = self.config.max_age_s
        for key in [k for k, tr in self.tracklets.items() if t_s - tr.last_t > max_age]:
            tr = self.tracklets.pop(key)
            if tr.global_id in self.globals:
                self.globals[tr.global_id].tracklets.discard(key)
        for gid in [gid for gid, g in self.globals.items() if t_s - g.last_t > max_age]:
            for key in self.globals.pop(gid).tracklets:
                if key in self.tracklets:
                    self._unbind_retired(self.tracklets[key], t_s)

    def _unbind_retired(self, tr: Tracklet, t_s: float) -> None:
        tr.global_id = UNASSIGNED
        tr.unassigned_since = t_s

    def _global_of(self, camera_id: str, local_id: int) -> int:
        if local_id < 0:
            return UNASSIGNED
        tr = self.tracklets.get((camera_id, local_id))
        if tr is None or tr.last_t != self._t:
            return UNASSIGNED
        return tr.global_id


def _camera_column(dets: Detections) -> np.ndarray:
    if CAMERA_ID in dets.data:
        return dets.data[CAMERA_ID]
    if CAMERA_ID in dets.meta:
        return np.full(len(dets), dets.meta[CAMERA_ID])
    raise ValueError("association needs camera_id (a column, or meta for a single camera)")


def _replace_exemplar(g: GlobalTrack, tr: Tracklet) -> None:
    """Keep one exemplar per recent tracklet: its latest running mean; drop the oldest beyond the cap."""
    g.exemplars.pop(tr.key, None)
    g.exemplars[tr.key] = tr.appearance
    while len(g.exemplars) > MAX_EXEMPLARS:
        g.exemplars.popitem(last=False)
