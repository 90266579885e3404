"""Online global association (RTLS): per-camera tracklets -> global ids with floor positions.

Each step receives the detections of all cameras at one time instant, already tracked per camera
(``track_id``), mapped to the floor (``floor_xy_m``) and, for some rows, embedded (``embedding``).
The associator keeps one :class:`Tracklet` per (camera, local track id) and one :class:`GlobalTrack`
per person, and in each step:

1. records the observations on their tracklets;
2. checks the bound tracklets and releases those that contradict their global track: two
   tracklets of one camera never share an id; a tracklet whose last ``APPEARANCE_STRIKES``
   embeddings each look more like another track near it than like its own (by ``SWAP_MARGIN``)
   or lie beyond ``max_appearance_distance`` of it, which is how a local tracker's swap between
   two people walking side by side shows (their floor points fit either track); a tracklet that
   jumps away from the track's prediction for ``unbind_after_s``; and a tracklet that stands
   apart from the other cameras' tracklets of its track (smoothed over ``RESIDUAL_TAU_S``, more
   than ``unbind_residual_m``), which undoes the mix-ups of people walking side by side when
   they first meet the associator (rows flagged ``BOX_CUT`` take no part in this check);
3. matches unbound tracklets to global tracks by gated, component-split Hungarian assignment on
   the fused cost of cosine distance and floor distance (:mod:`mtmc.associate.costs`), one
   camera at a time, so that several cameras can join one person in the same step;
4. promotes tracklets that stayed unmatched for ``tentative_s`` to new global ids, grouping
   simultaneous new tracklets of different cameras that stand on the same spot; new tracklets
   that another camera confirms, away from every global track, need not wait;
5. fuses each global track's floor position from its tracklets (each weighed, per direction, by
   its ``FLOOR_PRECISION``: a camera's point is surer across its view than along it; rows without
   one by ``QUALITY``, which favours large, whole, near boxes) and smooths it with an alpha-beta
   filter, which also gives the velocity; the reported position leaves out a camera whose point
   disagrees with the others';
   5b. exchanges the camera tracks of two ids that met and parted the wrong way round: the
   positions and velocities they had when they came within a metre, carried forward, fit the
   other way round when they are apart again (within ``encounter_s``), and appearance does not
   object (look-alikes walking through each other, whom every camera's tracker swaps);
6. merges duplicates: two global tracks that stay close to each other long enough (within
   0.5 m for 1 s or 1 m for 2 s: ``MERGE_RULES``), during which no camera sees
   both at once, and do not look different (``max_appearance_distance``), are one person (the
   younger id is dropped);
7. retires tracklets and global tracks unseen for ``max_age_s``: the state stays bounded.

:meth:`GlobalAssociator.objects` reports the global tracks seen in the step, except *shadows*: an
id seen by one camera only, within ``shadow_radius_m`` of an id that two or more other cameras
see (with detected boxes that is usually one person split by a misplaced floor point), and *static
alarms* (a fixed object that the detector takes for a person): an id that one camera only has ever
seen and that has not left one spot (``STATIC_ALARM_RADIUS_M``, ``STATIC_LEAVE_S``) for
``static_alarm_s``, or an id seen now only by tracklets that have each stood still that long with
no other camera's tracklet of their id beside them for most of it (``STATIC_COMPANY_SHARE``). A
static-alarm tracklet starts no id and joins none, and an id seen by such tracklets alone takes no
other camera's tracklet (a passer-by's new tracklet would otherwise join the alarm's id).

The stages work on arrays over all of a step's observations and tracks at once (the fusion and
filter of every track, the residual check, the stillness of every tracklet); the little per-object
state they need outside them is kept in Python attributes, and the per-tracklet state they update
as a whole in arrays (``_TrackletArrays``), so that a step costs little more than one pass over the
observations (see ``scripts/bench_association.py``).

Example::

    assoc = GlobalAssociator(AssociationConfig())
    for t_s, dets in steps:                    # dets: Detections of all cameras at t_s
        dets = assoc.update(dets, t_s)         # adds the "global_id" column (-1 = not yet)
        objects = assoc.objects()              # global tracks seen at t_s, with floor x, y, vx, vy
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from mtmc.associate.assign import assign_gated
from mtmc.associate.costs import cosine_distance, floor_distance, fused_cost, l2_normalize
from mtmc.config import AssociationConfig
from mtmc.types import CAMERA_ID, EMBEDDING, FLOOR_XY, Detections

__all__ = [
    "BOX_CUT", "GLOBAL_ID", "QUALITY", "GlobalAssociator", "GlobalObject", "GlobalTrack", "Tracklet",
]

GLOBAL_ID = "global_id"  # (N,) int64 column written by the associator; -1 = not (yet) assigned
QUALITY = "quality"  # optional (N,) float column: weight of a row in floor fusion (default 1)
# Optional (N, 3) float column: inverse covariance (pxx, pxy, pyy) of the row's floor point, 1/m^2
# (mtmc.floor). Where every tracklet of a track has one, the fusion weighs each direction by it.
FLOOR_PRECISION = "floor_precision"
MIN_QUALITY = 1e-6  # floor of a row's fusion weight, so that a zero-quality row still counts

# Optional (N,) bool column: the box touches the image border, so its foot point may be wrong.
# The only effect: such rows are left out of the residual check (step 2), neither checked nor
# part of the other tracklets' reference point. They match, bind and move their track like any
# other row, with their QUALITY weight (mtmc.floor lowers it for cut boxes).
BOX_CUT = "box_cut"

UNASSIGNED = -1
# Appearance running means. The trackers embed confident boxes every frame (10 a second), so a
# track's look following its tracklets' at 0.1 a step (Metropolis's rate) took a neighbour's look
# within a second when the local trackers of several cameras swapped two people at once, before
# the appearance check (step 2) could notice. Seeds 201-203 (shipped detector, base ReID model):
# GLOBAL_EMA 0.1 / 0.05 / 0.03 / 0.01 -> 78.3 / 79.0 / 79.6 / 79.7; with the report and early ids
# of NEW_PERSON_CLEARANCE_M, REPORT_CORE_RADIUS_M: 0.03 -> 81.3, with TRACKLET_EMA 0.1 instead of
# 0.2 -> 81.5 (GLOBAL_EMA 0.01 with TRACKLET_EMA 0.1: 80.0; 4 exemplars instead of 8: 80.7).
TRACKLET_EMA = 0.1  # weight of a new embedding in a tracklet's running mean
GLOBAL_EMA = 0.03  # weight of new tracklet appearance in a global track's running mean
MAX_EXEMPLARS = 8  # appearance exemplars kept per global track (one per recent tracklet)
POSITION_ALPHA = 0.7  # alpha-beta filter: share of the measurement residual taken into the position
VELOCITY_BETA = 0.2  # alpha-beta filter: share of the residual rate taken into the velocity
MAX_SPEED_MPS = 3.0  # velocities are clipped to this (people walk at 1-2 m/s)
# A track unseen for longer is predicted where it was last extrapolated to: people turn, stop and
# start, so a constant velocity over seconds puts the prediction metres away from them.
MAX_EXTRAPOLATION_S = 1.0
# Residual check (step 2): each bound tracklet's floor point minus the fused point of the other
# cameras' tracklets of its track, smoothed with this time constant. A tracklet of the right person
# keeps it near 0 (single points scatter by 0.1-0.2 m, the smoothed residual by a few cm); one of
# a neighbour walking alongside keeps it at their spacing (0.5-1 m).
RESIDUAL_TAU_S = 0.5
# Of two tracklets of a track that disagree, the one further from the track's prediction by more
# than this is released (otherwise the one that joined last).
PREDICTION_MARGIN_M = 0.2
# A released tracklet may not rejoin the track it left for this long: it goes to another track,
# or, after tentative_s, starts a new id (merged back in step 6 if the release was a mistake).
REJOIN_AFTER_S = 2.0
# Step 2, appearance: a bound tracklet is released after this many consecutive embeddings that
# are closer, by SWAP_MARGIN in cosine distance, to another track near it than to its own. On the
# 8-camera scenes (seeds 201-203, shipped detector and base ReID model) 3 strikes give floor HOTA
# 78.3; a version without the appearance_margin condition gave 78.7 / 78.6 with 2 / 3 strikes, and
# a first version (against the tracks' exemplars too) 79.4 / 75.4 with 3 / 5.
# SWAP_MARGIN 0.05 / 0.1 / 0.2 give 77.6 / 78.3 / 76.8. With the slower appearance means below,
# the report and early ids, over seeds 201-205: 0.1 -> 80.8, 0.05 -> 81.8, and with
# appearance_margin 0.4 instead of 0.5 -> 82.1 (2 strikes instead of 3, at 0.1 / 0.5: 80.7).
APPEARANCE_STRIKES = 3
SWAP_MARGIN = 0.05
# Step 4: new tracklets of other cameras join a new global id when within this distance of it
# (simultaneous observations of one person lie within a few tenths of a metre of each other).
GROUP_RADIUS_M = 1.0
# Step 6: duplicate global tracks (one person split over two ids, e.g. after a bad first match).
# Distance alone cannot tell them from two people: people brush past each other, and on the
# simulator even walk through each other; a camera that sees both at once can. Time can too: two
# walkers who cross are close for a moment, the two ids of one person stay close. Detected boxes
# put one camera's floor point about 0.8 m off or more in one case in ten (occluded feet, small
# people; 90th percentile 0.77 m on seed 201), so a split person's ids can stand a metre apart:
# wider distances need longer together.
# (distance m, seconds) pairs: two ids that stay within the distance for that long are merged.
# On the 8-camera scenes (seeds 201-203, shipped detector, no appearance), adding (1.0 m, 2 s) to
# (0.5 m, 1 s) raised floor HOTA 54.4 -> 55.1; a third rule (1.5 m, 3 s) lost it again (54.2),
# faster ones (1.0 m, 1.5 s; 1.5 m, 2 s) more (53.6): they merge people who walk past each other.
MERGE_RULES = ((0.5, 1.0), (1.0, 2.0))
# Step 4: a new tracklet that another camera's new tracklet confirms (within GROUP_RADIUS_M) and
# that no global track could claim (none predicted within gate_floor_m plus this) starts its id at
# once instead of waiting tentative_s: the people present when the cameras start, and people who
# enter where nobody is. Seeds 201-203 (shipped detector, base ReID model): 78.3 -> 78.8.
NEW_PERSON_CLEARANCE_M = 0.5
# Step 5, the report: where three or more cameras see a person, the reported position fuses only
# the tracklets within this distance of their (quality-weighted) medoid, so that one camera's
# misplaced floor point (hidden feet, a box around two people) does not pull it. The track's own
# state still fuses them all: the residual check needs to see the outlier. Seeds 201-203: 78.3 ->
# 78.9 (LocA 94.4 -> 94.9; 0.3 m: the same); leaving the outliers out of the state too: 77.8.
REPORT_CORE_RADIUS_M = 0.5
# The report, static alarms (``static_alarm_s``): an id stands still while it stays within this
# distance of the point where it last stopped. A far box's floor point wanders by tenths of a
# metre when the box does by a pixel or two (shelf goods taken for a person 25 m from the camera,
# seed 202: 0.6 m in 40 s).
STATIC_ALARM_RADIUS_M = 1.0
# ... and leaves it only after standing outside it for this long: a far box's floor point jumps
# a metre or more for a frame or two when the box takes in a passer-by behind it (shelf goods in
# seed 203's cam8: 14.1, 4.2 most of the time, 15.3, 5.8 now and then).
STATIC_LEAVE_S = 1.0
# Static alarms of tracklets: a tracklet that has stood still for static_alarm_s is one unless
# another camera's tracklet of its track stood with it (within STATIC_ALARM_RADIUS_M) for at least
# this share of that time. A person standing where two cameras see them has company almost always;
# shelf goods have it only while someone walks past.
STATIC_COMPANY_SHARE = 0.5
# Step 5b, encounters: when two ids come within ENCOUNTER_RADIUS_M of each other, their floor
# positions and velocities are kept; when they are ENCOUNTER_SEPARATION_M apart again, within
# encounter_s, each kept state is carried forward at its velocity, and if the two ids fit
# those predictions better the other way round, by more than ENCOUNTER_SWAP_MARGIN_M (sum of both
# distances), their tracklets are exchanged. That undoes the swap that every camera's tracker makes
# when two people who look alike walk through each other (seed 201: two people in the same
# clothes meet head on; one walks on, the other turns, and each left with the other's id).
# Only with appearance, and unless it objects: the ids' appearance means fit their own tracklets'
# looks better, by ENCOUNTER_LOOK_MARGIN in summed cosine distance (two people who meet and both
# turn back; without appearance, on ground-truth boxes, seeds 201-203, exchanges on motion alone
# lowered floor HOTA 94.9 -> 92.3). Two
# people who look different score about 2 x (0.6 - 0.2) = 0.8 there with the base model; the
# look-alikes of seed 201, already some steps into the swap when they parted, 0.18.
ENCOUNTER_RADIUS_M = 1.0
ENCOUNTER_SEPARATION_M = 1.5
ENCOUNTER_SWAP_MARGIN_M = 1.0
ENCOUNTER_LOOK_MARGIN = 0.4


class _Encounter(NamedTuple):
    """Two ids' floor states when they came close (step 5b)."""

    t_s: float
    a: tuple[float, float, float, float]  # x, y, vx, vy of the lower id
    b: tuple[float, float, float, float]


class _Step(NamedTuple):
    """One step's observations: the observed tracklets (one per valid row, in row order) and their
    rows' columns, aligned with them, for the stages that work on arrays."""

    tracklets: list[Tracklet]
    xy_m: np.ndarray  # (N, 2) floor points
    quality: np.ndarray  # (N,) QUALITY
    box_cut: np.ndarray  # (N,) bool BOX_CUT
    precision: np.ndarray  # (N, 3) FLOOR_PRECISION, NaN rows where there is none
    camera: np.ndarray  # (N,) Tracklet.camera_code
    slot: np.ndarray  # (N,) Tracklet.slot


@dataclass(slots=True)
class Stillness:
    """Where and since when something has stood still: within ``STATIC_ALARM_RADIUS_M`` of
    ``(x_m, y_m)``, apart from stays outside shorter than ``STATIC_LEAVE_S`` (updated by
    :func:`_stillness_step`)."""

    x_m: float
    y_m: float
    since_t: float
    away_t: float = math.inf  # since when it has been outside the radius (inf: inside)



class _TrackletArrays:
    """Per-tracklet state that the stages update for all tracklets at once, in arrays indexed by
    ``Tracklet.slot``. Slots of retired tracklets are reused; the arrays double when full."""

    def __init__(self) -> None:
        # Residual check (step 2): the smoothed floor point minus the other tracklets' fused
        # point of its track (x, y, metres) and the time of its last update; and whether it is
        # current (the tracklet was bound, or shared its track at its last check: one alone on
        # its track is unchecked, and when it is shared again it starts from 0 at that step, as
        # an old time would let one noisy point set the smoothed residual).
        self.residual = np.zeros((0, 3))
        self.residual_live = np.zeros(0, dtype=bool)
        # Static alarms: where and since when it has stood still (a Stillness: x_m, y_m, since_t,
        # away_t; since_t NaN before its first point), and for how many of those seconds another
        # camera's tracklet of its track stood there with it.
        self.still = np.zeros((0, 4))
        self.company_s = np.zeros(0)
        self._free: list[int] = []
        self._used = 0

    def new(self) -> int:
        """A slot for a new tracklet, its state cleared."""
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._used
            self._used += 1
            if slot == len(self.company_s):
                size = max(64, 2 * slot)
                for name in ("residual", "residual_live", "still", "company_s"):
                    old = getattr(self, name)
                    setattr(self, name, np.resize(old, (size, *old.shape[1:])))
        self.residual[slot] = (0.0, 0.0, -math.inf)
        self.residual_live[slot] = False
        self.still[slot] = (math.nan, math.nan, math.nan, math.inf)
        self.company_s[slot] = 0.0
        return slot

    def free(self, slot: int) -> None:
        self._free.append(slot)


def _stillness_step(still: np.ndarray, xy_m: np.ndarray, t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The stillness of many things at once (:class:`Stillness`): ``still`` (N, 4) x_m, y_m,
    since_t, away_t (since_t NaN: no point yet, it starts standing here), ``xy_m`` (N, 2) the
    points seen at ``t_s``. A point within ``STATIC_ALARM_RADIUS_M`` of the spot keeps it (and ends
    a stay outside); one outside starts or continues a stay outside, and after ``STATIC_LEAVE_S``
    of it the thing has left: it stands still from this point and time. Returns the new (N, 4)
    and (N,) bool: it left its spot."""
    still = still.copy()
    first = np.isnan(still[:, 2])
    still[first, :2], still[first, 2:] = xy_m[first], (t_s, math.inf)
    inside = np.hypot(xy_m[:, 0] - still[:, 0], xy_m[:, 1] - still[:, 1]) <= STATIC_ALARM_RADIUS_M
    still[:, 3] = np.where(inside, math.inf, np.minimum(still[:, 3], t_s))
    left = ~inside & (t_s - still[:, 3] >= STATIC_LEAVE_S)
    still[left, :2], still[left, 2:] = xy_m[left], (t_s, math.inf)
    return still, left


@dataclass(eq=False, slots=True)
class Tracklet:
    """One camera's local track as the associator sees it."""

    camera_id: str
    local_id: int
    first_t: float
    last_t: float
    x_m: float = 0.0
    y_m: float = 0.0
    quality: float = 1.0
    camera_code: int = 0  # small int per camera, for array comparisons (the associator's numbering)
    appearance: np.ndarray | None = None  # running mean embedding (unit)
    last_embedding: np.ndarray | None = None
    embedded_t: float = -math.inf  # when last_embedding arrived
    global_id: int = UNASSIGNED
    unassigned_since: float = 0.0  # when it last became unbound (for the tentative period)
    contradiction_since: float | None = None
    appearance_strikes: int = 0  # consecutive embeddings that looked wrong for its track (step 2)
    bound_t: float = -math.inf  # when it joined its global track
    slot: int = -1  # its row in the associator's per-tracklet arrays (_TrackletArrays)
    left_id: int = UNASSIGNED  # the global id it was released from (step 2), and when
    left_t: float = -math.inf
    step: int = -1  # the associator's step that last observed it (one row per step)
    dt_s: float = 0.0  # time since its observation before this step's
    # It is a static alarm now (static_alarm_s, STATIC_COMPANY_SHARE; its stillness and company
    # are in the associator's _TrackletArrays).
    static_alarm: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.camera_id, self.local_id)


@dataclass(eq=False, slots=True)
class GlobalTrack:
    """One person: floor state, appearance model and the tracklets bound to it."""

    global_id: int
    x_m: float
    y_m: float
    last_t: float
    first_t: float  # creation time: of two duplicates the older id stays
    vx_mps: float = 0.0
    vy_mps: float = 0.0
    appearance: np.ndarray | None = None
    # One exemplar per recent tracklet (its running mean), oldest first, at most MAX_EXEMPLARS.
    exemplars: OrderedDict[tuple[str, int], np.ndarray] = field(default_factory=OrderedDict)
    tracklets: set[tuple[str, int]] = field(default_factory=set)
    # Reported position minus (x_m, y_m) after the last update (REPORT_CORE_RADIUS_M), metres.
    report_dx_m: float = 0.0
    report_dy_m: float = 0.0
    # Static alarms (the report): the only camera that has ever seen it (None once another one
    # did), and where and since when it has stood still.
    single_camera: str | None = None
    still: Stillness | None = None
    # Its tracklets were all static alarms when it was last seen.
    alarm_only: bool = False

    def predict(self, t_s: float) -> tuple[float, float]:
        """Floor position at ``t_s``: constant velocity for at most ``MAX_EXTRAPOLATION_S``."""
        dt = min(max(0.0, t_s - self.last_t), MAX_EXTRAPOLATION_S)
        return (self.x_m + self.vx_mps * dt, self.y_m + self.vy_mps * dt)

    def appearance_distance(self, embedding: np.ndarray | None) -> float:
        """Smallest cosine distance from ``embedding`` to the running mean and the exemplars."""
        if embedding is None or self.appearance is None:
            return float("nan")
        gallery = np.vstack([self.appearance, *self.exemplars.values()])
        return float(cosine_distance(embedding[None], gallery).min())


class GlobalObject(NamedTuple):
    """A global track as reported at one time step (one ``objects`` entry of ``rtls.jsonl``).
    A named tuple: a step reports every person, and tuples are built several times faster than
    frozen dataclasses (the association benchmark times the report)."""

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
        self._static_hidden: set[int] = set()  # ids seen now that are static alarms
        self._alarms: set[Tracklet] = set()  # tracklets that are static alarms
        self._camera_codes: dict[str, int] = {}  # Tracklet.camera_code of each camera seen
        self._camera_rank = np.zeros(0, dtype=np.int64)  # camera code -> rank of its id in sort order
        self._arrays = _TrackletArrays()
        # (older id, younger id) -> per MERGE_RULES entry, since when the two have stood within
        # its distance on disjoint cameras (inf: not now)
        self._close_since: dict[tuple[int, int], tuple[float, ...]] = {}
        self._encounters: dict[tuple[int, int], _Encounter] = {}  # (id, id) in order
        self._t = -math.inf
        self._step = 0

    # ------------------------------------------------------------------------------------------

    def update(self, dets: Detections, t_s: float) -> Detections:
        """Associate one time step. Returns ``dets`` with a ``global_id`` column added.

        ``dets`` needs the ``camera_id`` column (or meta), ``track_id`` (local ids, -1 rows are
        ignored) and the ``floor_xy_m`` column (NaN rows are ignored: outside the ROI or above
        the horizon); ``embedding`` (NaN rows = not embedded this step), ``quality`` and
        ``box_cut`` are optional.
        """
        if t_s < self._t:
            raise ValueError(f"time went backwards: step at {t_s} s after {self._t} s")
        self._t = t_s
        self._step += 1
        rows, step = self._observe(dets, t_s)  # 1.
        observed = step.tracklets
        self._check_bound(step, t_s)  # 2.
        self._match_unbound(observed, t_s)  # 3.
        self._promote_tentative(observed, t_s)  # 4.
        self._update_globals(step, t_s)  # 5.
        self._resolve_encounters(t_s)  # 5b.
        self._merge_duplicates(t_s)  # 6.
        self._retire(t_s)  # 7.
        ids = np.array(
            [UNASSIGNED if tr is None else tr.global_id for tr in rows], dtype=np.int64
        )
        return dets.with_data(**{GLOBAL_ID: ids})

    def objects(self) -> list[GlobalObject]:
        """Global tracks observed in the last step, with fused floor position and velocity,
        except shadows (``shadow_radius_m``) and static alarms (``static_alarm_s``). The position
        is the filter's, with the point of the cameras that agree (``REPORT_CORE_RADIUS_M``) as
        its last measurement."""
        result = []
        hidden = self._shadows() | self._static_hidden
        for gid in sorted(self._seen_now.keys() - hidden):
            g = self.globals[gid]
            result.append(GlobalObject(gid, g.x_m + g.report_dx_m, g.y_m + g.report_dy_m,
                                       g.vx_mps, g.vy_mps, dict(self._seen_now[gid])))
        return result

    def _shadows(self) -> set[int]:
        """Ids seen now by one camera only, within ``shadow_radius_m`` of an id that two or more
        other cameras see now. (When that camera sees both, they are two people.)"""
        radius_m = self.config.shadow_radius_m
        single = [gid for gid, cams in self._seen_now.items() if len(cams) == 1]
        multi = [gid for gid, cams in self._seen_now.items() if len(cams) >= 2]
        if radius_m <= 0 or not single or not multi:
            return set()
        near = cKDTree(_floor_xy([self.globals[gid] for gid in multi])).query_ball_point(
            _floor_xy([self.globals[gid] for gid in single]), radius_m)
        hidden = set()
        for gid, around in zip(single, near, strict=True):
            (cam,) = self._seen_now[gid]
            if any(cam not in self._seen_now[multi[k]] for k in around):
                hidden.add(gid)
        return hidden

    # 1. ----------------------------------------------------------------------------------------

    def _observe(self, dets: Detections, t_s: float) -> tuple[list[Tracklet | None], _Step]:
        """Record the observations; returns each row's tracklet (None for ignored rows) and the
        step's observations."""
        n = len(dets)
        floor = dets.data.get(FLOOR_XY)
        if floor is None:
            raise ValueError("association needs the floor_xy_m column (map foot points with calib)")
        cams = _camera_column(dets).tolist()
        local_ids = dets.track_id.tolist()
        valid = (dets.track_id >= 0) & np.isfinite(floor).all(axis=1)
        xs, ys = floor[:, 0].tolist(), floor[:, 1].tolist()
        quality_col = np.asarray(dets.data.get(QUALITY, np.ones(n)), dtype=float)
        cut_col = np.asarray(dets.data.get(BOX_CUT, np.zeros(n)), dtype=bool)
        quality = quality_col.tolist()
        precision = np.asarray(dets.data.get(FLOOR_PRECISION, np.full((n, 3), np.nan)), dtype=float)
        precision = np.where(np.isfinite(precision).all(axis=1, keepdims=True), precision, np.nan)
        rows: list[Tracklet | None] = [None] * n
        step_no = self._step
        for i in np.flatnonzero(valid).tolist():
            key = (str(cams[i]), local_ids[i])
            tr = self.tracklets.get(key)
            if tr is None:
                tr = Tracklet(key[0], key[1], first_t=t_s, last_t=t_s, unassigned_since=t_s,
                              camera_code=self._camera_code(key[0]), slot=self._arrays.new())
                self.tracklets[key] = tr
                self._take_alarm_spot(tr, xs[i], ys[i])
            if tr.step == step_no:
                raise ValueError(
                    f"camera {key[0]!r}: local track id {key[1]} is on two rows of one step "
                    f"(t = {t_s} s); a single-camera tracker gives each box its own id"
                )
            tr.step = step_no
            tr.dt_s, tr.last_t = t_s - tr.last_t, t_s
            tr.x_m, tr.y_m, tr.quality = xs[i], ys[i], quality[i]
            rows[i] = tr
        emb = dets.data.get(EMBEDDING)
        if emb is not None and n:
            with_emb = np.flatnonzero(valid & np.isfinite(emb).all(axis=1))
            if with_emb.size:
                self._record_embeddings([rows[i] for i in with_emb.tolist()], emb[with_emb], t_s)
        observed = list(compress(rows, valid.tolist()))
        step = _Step(observed, floor[valid], quality_col[valid], cut_col[valid], precision[valid],
                     _ints(observed, "camera_code"), _ints(observed, "slot"))
        self._update_static_alarms(step, t_s)
        return rows, step

    def _update_static_alarms(self, step: _Step, t_s: float) -> None:
        """Each observed tracklet's stillness, and whether it is a static alarm now: still for
        ``static_alarm_s`` with company for less than ``STATIC_COMPANY_SHARE`` of it."""
        arrays, slots = self._arrays, step.slot
        arrays.still[slots], left = _stillness_step(arrays.still[slots], step.xy_m, t_s)
        arrays.company_s[slots[left]] = 0.0
        static_after_s = self.config.static_alarm_s
        still_s = t_s - arrays.still[slots, 2]
        alarm = ((still_s >= static_after_s) & (static_after_s > 0)
                 & (arrays.company_s[slots] < STATIC_COMPANY_SHARE * still_s))
        was = np.fromiter(map(attrgetter("static_alarm"), step.tracklets), bool, len(slots))
        for k in np.flatnonzero(alarm != was).tolist():
            tr = step.tracklets[k]
            tr.static_alarm = bool(alarm[k])
            if tr.static_alarm:
                self._alarms.add(tr)
            else:
                self._alarms.discard(tr)

    def _camera_code(self, camera_id: str) -> int:
        """The code of ``camera_id`` (a new one for a camera not seen before)."""
        code = self._camera_codes.get(camera_id)
        if code is None:
            code = self._camera_codes[camera_id] = len(self._camera_codes)
            ranks = np.empty(len(self._camera_codes), dtype=np.int64)
            ranks[[self._camera_codes[cam] for cam in sorted(self._camera_codes)]] = np.arange(ranks.size)
            self._camera_rank = ranks
        return code

    def _take_alarm_spot(self, tr: Tracklet, x_m: float, y_m: float) -> None:
        """A new tracklet where a static alarm of its camera stands, unseen now, is that alarm
        again (the local tracker lost it and started a new track): it takes over its stillness."""
        arrays = self._arrays
        for alarm in sorted(self._alarms, key=attrgetter("key")):  # not in the set's id() order
            ax, ay, since_t, _ = arrays.still[alarm.slot].tolist()
            if (alarm.camera_id == tr.camera_id and alarm.last_t < tr.first_t
                    and math.hypot(x_m - ax, y_m - ay) <= STATIC_ALARM_RADIUS_M):
                arrays.still[tr.slot] = (ax, ay, since_t, math.inf)
                arrays.company_s[tr.slot] = arrays.company_s[alarm.slot]
                return

    @staticmethod
    def _record_embeddings(trs: list[Tracklet], emb: np.ndarray, t_s: float) -> None:
        new = l2_normalize(emb)
        old = np.array([new[k] if tr.appearance is None else tr.appearance for k, tr in enumerate(trs)])
        mean = l2_normalize((1 - TRACKLET_EMA) * old + TRACKLET_EMA * new)
        for k, tr in enumerate(trs):
            tr.last_embedding = new[k]
            tr.embedded_t = t_s
            tr.appearance = mean[k]

    # 2. ----------------------------------------------------------------------------------------

    def _check_bound(self, step: _Step, t_s: float) -> None:
        cfg = self.config
        trs = step.tracklets
        kept = self._one_per_camera(step, t_s)
        for tr in self._appearance_strikes([trs[i] for i in kept.tolist()], t_s):
            self._unbind(tr, t_s)
        gid = _ints(trs, "global_id")
        kept = kept[gid[kept] != UNASSIGNED]
        if kept.size:
            # Compare with the track's prediction, not with the other tracklets: when two cameras
            # disagree, the one that jumped away from where the person was heading is to blame.
            ids, group = np.unique(gid[kept], return_inverse=True)
            pred, gap = _predict([self.globals[g] for g in ids.tolist()], t_s)
            reach_m = cfg.gate_floor_m + MAX_SPEED_MPS * gap
            away = np.hypot(*(step.xy_m[kept] - pred[group]).T) > reach_m[group]
            suspect = np.fromiter((trs[i].contradiction_since is not None for i in kept.tolist()),
                                  bool, kept.size)
            for k in np.flatnonzero(away | suspect).tolist():
                tr = trs[kept[k]]
                if not away[k]:
                    tr.contradiction_since = None
                    continue
                if tr.contradiction_since is None:
                    tr.contradiction_since = t_s
                if t_s - tr.contradiction_since >= cfg.unbind_after_s:
                    self._unbind(tr, t_s)
                    gid[kept[k]] = UNASSIGNED
            kept = kept[gid[kept] != UNASSIGNED]
        self._check_residuals(step, kept, gid[kept], t_s)

    def _one_per_camera(self, step: _Step, t_s: float) -> np.ndarray:
        """One camera cannot see one person twice: of the tracklets of one camera bound to one
        global track, the one that was there first stays and the others are released. Returns the
        rows of ``step`` that stay bound, grouped by global id (in order of first appearance),
        oldest first within each group."""
        trs = step.tracklets
        gid_all = _ints(trs, "global_id")
        bound = np.flatnonzero(gid_all != UNASSIGNED)
        if not bound.size:
            return bound
        gid = gid_all[bound]
        _, first, group = np.unique(gid, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        order = np.lexsort((bound, _floats(trs, "first_t")[bound], rank[group]))
        pair = (gid * len(self._camera_codes) + step.camera[bound])[order]
        twice = np.ones(bound.size, dtype=bool)
        twice[np.unique(pair, return_index=True)[1]] = False
        for i in bound[order[twice]].tolist():
            self._unbind(trs[i], t_s)
        return bound[order[~twice]]

    def _check_residuals(self, step: _Step, bound: np.ndarray, gids: np.ndarray, t_s: float) -> None:
        """Smooth each tracklet's offset from the rest of its track; release the worst outlier.

        ``bound``: rows of ``step`` whose tracklets are bound, ``gids`` their global ids. The rest
        of the track is the quality-weighted mean of the other tracklets seen now (whole boxes
        only: cut boxes carry no evidence). With more than two tracklets the largest residual
        goes. With two, both residuals are equal and opposite: the one further from the track's
        prediction goes (a local tracker that swapped people jumps away from where the person was
        heading), or, when both are about as far, the one that joined last.
        """
        whole = ~step.box_cut[bound]
        members, gids = bound[whole], gids[whole]
        slots = step.slot[members]
        if members.size < 2:
            self._arrays.residual_live[slots] = False  # alone on its track
            return
        # 1. each member's offset from the quality-weighted mean of the others of its track
        _, group = np.unique(gids, return_inverse=True)
        w = np.maximum(step.quality[members], MIN_QUALITY)
        xy = step.xy_m[members]
        count = np.bincount(group)[group]
        total = np.bincount(group, weights=w)[group]
        sums = np.column_stack([np.bincount(group, weights=w * xy[:, k])[group] for k in (0, 1)])
        shared = count >= 2
        rest = np.where(shared, total - w, 1.0)[:, None]
        residual = xy - (sums - w[:, None] * xy) / rest
        # 2. exponential smoothing in time; a tracklet shared again after standing alone on its
        # track starts from 0 now (as when bound)
        state = self._arrays.residual[slots]
        state[shared & ~self._arrays.residual_live[slots]] = (0.0, 0.0, t_s)
        a = 1.0 - np.exp(-(t_s - state[:, 2]) / RESIDUAL_TAU_S)
        smooth = state[:, :2] + a[:, None] * (residual - state[:, :2])
        size = np.hypot(smooth[:, 0], smooth[:, 1])
        self._arrays.residual_live[slots] = shared
        self._arrays.residual[slots[shared], :2] = smooth[shared]
        self._arrays.residual[slots[shared], 2] = t_s
        # 3. at most one release per track and step
        trs = step.tracklets
        by_global: dict[int, list[int]] = {}
        for k in np.flatnonzero(shared & (size > self.config.unbind_residual_m)).tolist():
            by_global.setdefault(int(gids[k]), []).append(k)
        for gid, outliers in by_global.items():
            pair = [trs[i] for i in members[gids == gid].tolist()]
            if len(pair) == 2:
                px, py = self.globals[gid].predict(t_s)
                far = [math.hypot(tr.x_m - px, tr.y_m - py) for tr in pair]
                if abs(far[0] - far[1]) > PREDICTION_MARGIN_M:
                    worst = pair[int(far[1] > far[0])]
                else:
                    worst = max(pair, key=lambda tr: (tr.bound_t, tr.first_t))
            else:
                worst = trs[members[max(outliers, key=lambda k: size[k])]]
            self._unbind(worst, t_s)

    def _appearance_strikes(self, bound: list[Tracklet], t_s: float) -> list[Tracklet]:
        """Bound tracklets whose last ``APPEARANCE_STRIKES`` embeddings each looked wrong for
        their track: further than ``max_appearance_distance`` from its running mean, or further
        than ``appearance_margin`` (a person's own scatter) and closer to the mean of another
        track near them (within ``gate_floor_m``) than to their own by ``SWAP_MARGIN``. That is
        how a local tracker's swap between two people walking side by side shows: their floor
        points fit either track. Steps without an embedding leave the count as it is. Off with
        ``appearance_weight`` 0 (geometry only).
        """
        cfg = self.config
        if cfg.appearance_weight == 0:
            return []
        fresh = [tr for tr in bound
                 if tr.embedded_t == t_s and self.globals[tr.global_id].appearance is not None]
        if not fresh:
            return []
        emb = np.array([tr.last_embedding for tr in fresh])
        own = np.array([self.globals[tr.global_id].appearance for tr in fresh])
        d_own = 1.0 - np.einsum("ij,ij->i", emb, own)
        wrong = d_own > cfg.max_appearance_distance
        doubt = np.flatnonzero(~wrong & (d_own > cfg.appearance_margin))
        if doubt.size:  # only these need the tracks around them
            tracks = [g for g in self.globals.values() if g.appearance is not None]
            near = cKDTree(_floor_xy(tracks)).query_ball_point(
                [(fresh[k].x_m, fresh[k].y_m) for k in doubt.tolist()], cfg.gate_floor_m)
            for k, around in zip(doubt.tolist(), near, strict=True):
                others = [tracks[j].appearance for j in around
                          if tracks[j].global_id != fresh[k].global_id]
                if others:
                    d_alt = 1.0 - float(np.max(np.array(others) @ emb[k]))
                    wrong[k] = d_own[k] - d_alt > SWAP_MARGIN
        due = []
        for tr, bad in zip(fresh, wrong.tolist(), strict=True):
            tr.appearance_strikes = tr.appearance_strikes + 1 if bad else 0
            if tr.appearance_strikes >= APPEARANCE_STRIKES:
                due.append(tr)
        return due

    def _unbind(self, tr: Tracklet, t_s: float) -> None:
        g = self.globals[tr.global_id]
        g.tracklets.discard(tr.key)
        g.exemplars.pop(tr.key, None)  # its look may be another person's
        tr.appearance_strikes = 0
        tr.left_id, tr.left_t = tr.global_id, t_s
        tr.global_id = UNASSIGNED
        tr.unassigned_since = t_s
        tr.contradiction_since = None
        # Its history may belong to the person it was bound to: restart from the latest look.
        tr.appearance = tr.last_embedding

    # 3. ----------------------------------------------------------------------------------------

    def _cost(
        self, tracklets: list[Tracklet], tracks: list[GlobalTrack], t_s: float,
        radius_m: float | None = None,
    ) -> np.ndarray:
        """(R, C) fused cost of unbound tracklets against global tracks, inf where gated
        (also beyond ``radius_m`` of a track's prediction, when given)."""
        cfg = self.config
        xy = _floor_xy(tracklets)
        pred, gap = _predict(tracks, t_s)
        gate = (cfg.gate_floor_m + cfg.reentry_speed_mps * gap)[None, :]
        floor_m = floor_distance(xy, pred)
        # Appearance only where the floor gate lets the pair through (few pairs).
        appearance = np.full(floor_m.shape, np.nan)
        for r, c in zip(*np.nonzero(floor_m <= gate), strict=True):
            appearance[r, c] = tracks[c].appearance_distance(tracklets[r].appearance)
        cost = fused_cost(floor_m, gate, appearance, cfg.appearance_weight,
                          cfg.max_appearance_distance, scale_m=cfg.gate_floor_m,
                          appearance_margin=cfg.appearance_margin)
        if radius_m is not None:
            cost[floor_m > radius_m] = np.inf
        # A global track cannot take a second tracklet of a camera it is seen by right now, nor
        # one it has just released.
        for c in np.flatnonzero(np.isfinite(cost).any(axis=0)).tolist():
            g = tracks[c]
            if g.alarm_only:  # nor, when static alarms alone saw it last, any other tracklet
                cost[:, c] = np.inf
                continue
            busy = {key[0] for key in g.tracklets if self.tracklets[key].last_t == t_s}
            for r in np.flatnonzero(np.isfinite(cost[:, c])).tolist():
                tr = tracklets[r]
                if tr.camera_id in busy or (
                    tr.left_id == g.global_id and t_s - tr.left_t < REJOIN_AFTER_S
                ):
                    cost[r, c] = np.inf
        return cost

    def _match_unbound(self, observed: list[Tracklet], t_s: float) -> None:
        """One assignment per camera: a camera's tracklets compete for tracks, cameras do not
        (one cost matrix serves all: binding a tracklet only makes its track busy for its own
        camera)."""
        unbound = [tr for tr in observed if tr.global_id == UNASSIGNED and not tr.static_alarm]
        tracks = list(self.globals.values())
        if not unbound or not tracks:
            return
        cost = self._cost(unbound, tracks, t_s)
        rows_of: dict[str, list[int]] = {}
        for r, tr in enumerate(unbound):
            rows_of.setdefault(tr.camera_id, []).append(r)
        for rows in rows_of.values():
            for r, c in assign_gated(cost[rows]):
                self._bind(unbound[rows[r]], tracks[c], t_s)

    def _bind(self, tr: Tracklet, g: GlobalTrack, t_s: float) -> None:
        tr.global_id = g.global_id
        tr.contradiction_since = None
        tr.bound_t = t_s
        self._arrays.residual[tr.slot] = (0.0, 0.0, t_s)
        self._arrays.residual_live[tr.slot] = True
        g.tracklets.add(tr.key)

    # 4. ----------------------------------------------------------------------------------------

    def _promote_tentative(self, observed: list[Tracklet], t_s: float) -> None:
        """Start new global ids for tracklets unmatched for ``tentative_s``, one camera at a time:
        the first camera's tracklets each start an id; the next camera's are assigned (Hungarian,
        within ``GROUP_RADIUS_M``) to the ids started in this step, and start their own where
        none fits; and so on. Cameras with the best views (largest total quality) go first."""
        by_camera: dict[str, list[Tracklet]] = {}
        confirmed = self._confirmed_new(observed, t_s)
        for tr in observed:
            if tr.global_id == UNASSIGNED and not tr.static_alarm and (
                t_s - tr.unassigned_since >= self.config.tentative_s or tr.key in confirmed
            ):
                by_camera.setdefault(tr.camera_id, []).append(tr)
        order = sorted(by_camera, key=lambda cam: (-sum(tr.quality for tr in by_camera[cam]), cam))
        created: list[GlobalTrack] = []
        for cam in order:
            due = sorted(by_camera[cam], key=lambda tr: (tr.unassigned_since, tr.local_id))
            if created:
                # a track created this step is predicted where it was created
                cost = self._cost(due, created, t_s, radius_m=GROUP_RADIUS_M)
                for r, c in assign_gated(cost):
                    self._bind(due[r], created[c], t_s)
            for tr in due:
                if tr.global_id == UNASSIGNED:
                    g = GlobalTrack(global_id=self._next_id, x_m=tr.x_m, y_m=tr.y_m, last_t=t_s,
                                    appearance=tr.appearance, first_t=t_s, single_camera=cam,
                                    still=Stillness(tr.x_m, tr.y_m, t_s))
                    self._next_id += 1
                    self.globals[g.global_id] = g
                    self._bind(tr, g, t_s)
                    created.append(g)

    def _confirmed_new(self, observed: list[Tracklet], t_s: float) -> set[tuple[str, int]]:
        """Keys of the new tracklets that need no tentative period: another camera's new tracklet
        stands within ``GROUP_RADIUS_M``, and no global track is predicted within
        ``gate_floor_m + NEW_PERSON_CLEARANCE_M`` of either. A tracklet released from a track
        (step 2) always waits."""
        new = [tr for tr in observed
               if tr.global_id == UNASSIGNED and tr.left_id == UNASSIGNED and not tr.static_alarm]
        if len(new) < 2:
            return set()
        xy = _floor_xy(new)
        clear = np.ones(len(new), dtype=bool)
        if self.globals:
            pred, _ = _predict(list(self.globals.values()), t_s)
            nearest_m, _ = cKDTree(pred).query(xy)
            clear = nearest_m > self.config.gate_floor_m + NEW_PERSON_CLEARANCE_M
        keys: set[tuple[str, int]] = set()
        for i, j in cKDTree(xy).query_pairs(GROUP_RADIUS_M):
            if clear[i] and clear[j] and new[i].camera_id != new[j].camera_id:
                keys.update((new[i].key, new[j].key))
        return keys

    # 5. ----------------------------------------------------------------------------------------

    def _update_globals(self, step: _Step, t_s: float) -> None:
        """Fuse each observed track's floor point from its tracklets, step its alpha-beta filter,
        update its appearance and its static-alarm state, and record who sees it now (in camera
        order). The arithmetic runs on arrays over all tracks at once."""
        self._seen_now = {}
        self._static_hidden = set()
        gid = _ints(step.tracklets, "global_id")
        rows = np.flatnonzero(gid != UNASSIGNED)
        if not rows.size:
            return
        bound = [step.tracklets[i] for i in rows.tolist()]
        n = len(bound)
        ids, group = np.unique(gid[rows], return_inverse=True)
        tracks = [self.globals[g] for g in ids.tolist()]
        n_tracks = len(tracks)
        xy, quality, rows_precision = step.xy_m[rows], step.quality[rows], step.precision[rows]
        # Tracklets under suspicion do not move the track (unless nothing else sees it).
        calm = np.fromiter((tr.contradiction_since is None for tr in bound), bool, n)
        used = calm | (np.bincount(group, calm, minlength=n_tracks)[group] == 0)
        use = np.flatnonzero(used)
        measured, core = _measure_tracks(group[use], n_tracks, xy[use], quality[use], rows_precision[use])
        state = self._step_filters(tracks, measured, core, t_s)
        # appearance, except while the tracklet's looks are in doubt
        fresh = used & (_floats(bound, "embedded_t") == t_s) & (_ints(bound, "appearance_strikes") == 0)
        _update_appearance(tracks, group[fresh], list(compress(bound, fresh.tolist())))
        # who sees each track now, in camera order
        seen_now = self._seen_now
        by_camera = np.lexsort((self._camera_rank[step.camera[rows]], group))
        for track_id, k in zip(ids[group[by_camera]].tolist(), by_camera.tolist(), strict=True):
            tr = bound[k]
            seen_now.setdefault(track_id, {})[tr.camera_id] = tr.local_id
        company = rows[_in_company(group, step.camera[rows], xy)]
        self._arrays.company_s[step.slot[company]] += _floats(step.tracklets, "dt_s")[company]
        # static alarms (static_alarm_s): seen by static-alarm tracklets only, or only one
        # camera has ever seen it and it has stood still that long
        alarm = np.fromiter(map(attrgetter("static_alarm"), bound), bool, n)
        alarm_only = (np.bincount(group, ~alarm, minlength=n_tracks) == 0).tolist()
        static_after_s = self.config.static_alarm_s
        standing: list[GlobalTrack] = []  # seen by one camera ever: their stillness, below
        for g, only, (x, y, vx, vy, dx, dy) in zip(tracks, alarm_only, state.tolist(), strict=True):
            g.x_m, g.y_m, g.vx_mps, g.vy_mps, g.report_dx_m, g.report_dy_m = x, y, vx, vy, dx, dy
            g.last_t = t_s
            g.alarm_only = only
            if only:
                self._static_hidden.add(g.global_id)
            if g.single_camera is not None:
                if any(cam != g.single_camera for cam in seen_now[g.global_id]):
                    g.single_camera = None
                elif g.still is not None:
                    standing.append(g)
        if standing:
            stills, _ = _stillness_step(
                np.array([(g.still.x_m, g.still.y_m, g.still.since_t, g.still.away_t) for g in standing]),
                _floor_xy(standing), t_s)
            for g, values in zip(standing, stills.tolist(), strict=True):
                g.still = Stillness(*values)
                if static_after_s > 0 and t_s - g.still.since_t >= static_after_s:
                    self._static_hidden.add(g.global_id)

    @staticmethod
    def _step_filters(
        tracks: list[GlobalTrack], measured: np.ndarray, core: np.ndarray, t_s: float
    ) -> np.ndarray:
        """The alpha-beta filter step of each of ``tracks`` towards its ``measured`` floor point;
        returns (C, 6): x, y, vx, vy and the report's offset (the same step taking the ``core``
        point instead, minus the state's position). A track created this step takes its point."""
        pred, dt = _predict(tracks, t_s)
        vx, vy = _floats(tracks, "vx_mps"), _floats(tracks, "vy_mps")
        created = dt <= 0
        px, py = pred[:, 0], pred[:, 1]
        mx, my = measured[:, 0], measured[:, 1]
        rx, ry = mx - px, my - py
        with np.errstate(divide="ignore", invalid="ignore"):  # created tracks: dt = 0
            new_vx, new_vy = vx + VELOCITY_BETA * rx / dt, vy + VELOCITY_BETA * ry / dt
            speed = np.hypot(new_vx, new_vy)
            scale = np.where(speed > MAX_SPEED_MPS, MAX_SPEED_MPS / speed, 1.0)
            new_vx, new_vy = new_vx * scale, new_vy * scale
        gain = np.where(created, 1.0, POSITION_ALPHA)
        return np.column_stack([
            np.where(created, mx, px + POSITION_ALPHA * rx),
            np.where(created, my, py + POSITION_ALPHA * ry),
            np.where(created, vx, new_vx),
            np.where(created, vy, new_vy),
            gain * (core[:, 0] - mx),
            gain * (core[:, 1] - my),
        ])

    # 6. ----------------------------------------------------------------------------------------

    def _resolve_encounters(self, t_s: float) -> None:
        """Keep the states of ids that come close; exchange their tracklets when they part the
        wrong way round (``ENCOUNTER_*``)."""
        # motion alone cannot tell a crossing from two people who meet and turn back
        max_s = self.config.encounter_s if self.config.appearance_weight > 0 else 0.0
        seen = sorted(self._seen_now)
        encounters: dict[tuple[int, int], _Encounter] = {}
        if max_s > 0 and len(seen) > 1:
            xy = _floor_xy([self.globals[g] for g in seen])
            for i, j in cKDTree(xy).query_pairs(ENCOUNTER_RADIUS_M):
                pair = (seen[i], seen[j])
                a, b = self.globals[pair[0]], self.globals[pair[1]]
                encounters[pair] = self._encounters.get(pair) or _Encounter(
                    t_s, (a.x_m, a.y_m, a.vx_mps, a.vy_mps), (b.x_m, b.y_m, b.vx_mps, b.vy_mps))
        for pair, enc in self._encounters.items():
            if pair in encounters or pair[0] not in self._seen_now or pair[1] not in self._seen_now:
                continue
            a, b = self.globals[pair[0]], self.globals[pair[1]]
            gap_m = math.hypot(a.x_m - b.x_m, a.y_m - b.y_m)
            if gap_m < ENCOUNTER_SEPARATION_M:
                encounters[pair] = enc  # close, not yet apart
            elif (t_s - enc.t_s <= max_s and _parted_swapped(enc, a, b, t_s)
                  and self._looks_allow_exchange(a, b)):
                self._exchange(a, b)
        self._encounters = encounters

    def _looks_allow_exchange(self, a: GlobalTrack, b: GlobalTrack) -> bool:
        """Whether appearance lets ``a`` and ``b`` exchange their tracklets: both have a look,
        and their means do not fit the looks of their own tracklets seen now better than each
        other's by ``ENCOUNTER_LOOK_MARGIN``."""
        if a.appearance is None or b.appearance is None:
            return False
        looks = []
        for g in (a, b):
            # in key order: a set's order follows string hashes, which change from run to run
            embs = [tr.appearance for key in sorted(g.tracklets)
                    if (tr := self.tracklets[key]).last_t == self._t and tr.appearance is not None]
            if not embs:
                return False
            looks.append(l2_normalize(np.mean(embs, axis=0)))
        means = np.array([a.appearance, b.appearance])
        d = 1.0 - means @ np.array(looks).T  # (track, look) cosine distances
        return float(d[0, 1] + d[1, 0] - d[0, 0] - d[1, 1]) <= ENCOUNTER_LOOK_MARGIN

    def _exchange(self, a: GlobalTrack, b: GlobalTrack) -> None:
        """Give ``a`` the tracklets and floor state of ``b`` and the other way round; each keeps
        its id, age and appearance."""
        keys_a, keys_b = a.tracklets, b.tracklets
        for g, keys in ((a, keys_b), (b, keys_a)):
            for key in keys:
                self.tracklets[key].global_id = g.global_id
        # the moved exemplars keep their age order (not the key sets' hash order)
        ex_a = {k: a.exemplars.pop(k) for k in list(a.exemplars) if k in keys_a}
        ex_b = {k: b.exemplars.pop(k) for k in list(b.exemplars) if k in keys_b}
        a.exemplars.update(ex_b)
        b.exemplars.update(ex_a)
        _cap_exemplars(a)
        _cap_exemplars(b)
        a.tracklets, b.tracklets = keys_b, keys_a
        for name in ("x_m", "y_m", "vx_mps", "vy_mps", "report_dx_m", "report_dy_m",
                     "single_camera", "still", "alarm_only"):
            va, vb = getattr(a, name), getattr(b, name)
            setattr(a, name, vb)
            setattr(b, name, va)
        self._seen_now[a.global_id], self._seen_now[b.global_id] = (
            self._seen_now[b.global_id], self._seen_now[a.global_id])

    def _merge_duplicates(self, t_s: float) -> None:
        """Merge global tracks that stood together on disjoint cameras (``MERGE_RULES``)."""
        seen = sorted(self._seen_now)
        close: dict[tuple[int, int], tuple[float, ...]] = {}
        if len(seen) > 1:
            xy = _floor_xy([self.globals[g] for g in seen])
            reach_m = max(distance_m for distance_m, _ in MERGE_RULES)
            for i, j in cKDTree(xy).query_pairs(reach_m):
                a, b = self.globals[seen[i]], self.globals[seen[j]]
                if self._seen_now[a.global_id].keys() & self._seen_now[b.global_id].keys():
                    continue  # one camera sees both: two people
                # appearances are kept unit-length: the cosine distance is 1 - dot
                if a.appearance is not None and b.appearance is not None and (
                    1.0 - float(a.appearance @ b.appearance) > self.config.max_appearance_distance
                ):
                    continue  # they look different: two people
                older, younger = sorted((a, b), key=lambda g: (g.first_t, g.global_id))
                pair = (older.global_id, younger.global_id)
                gap_m = math.dist(xy[i], xy[j])
                before = self._close_since.get(pair, (math.inf,) * len(MERGE_RULES))
                close[pair] = tuple(
                    min(since, t_s) if gap_m <= distance_m else math.inf
                    for since, (distance_m, _) in zip(before, MERGE_RULES, strict=True)
                )
        self._close_since = close
        due = sorted(
            (min(since), pair) for pair, since in close.items()
            if any(t_s - s >= after_s for s, (_, after_s) in zip(since, MERGE_RULES, strict=True))
        )
        for _, (keep, drop) in due:
            if keep in self.globals and drop in self.globals:
                self._merge(self.globals[keep], self.globals[drop], t_s)
                self._close_since.pop((keep, drop), None)

    def _merge(self, keep: GlobalTrack, drop: GlobalTrack, t_s: float) -> None:
        """Move ``drop``'s tracklets and appearance to ``keep``. Where both hold a tracklet of
        one camera seen now, ``keep``'s stays and ``drop``'s is released."""
        busy = {key[0] for key in keep.tracklets if self.tracklets[key].last_t == t_s}
        for key in list(drop.tracklets):
            tr = self.tracklets.get(key)
            if tr is None:
                continue
            if tr.last_t == t_s and tr.camera_id in busy:
                self._unbind(tr, t_s)
            else:
                self._bind(tr, keep, t_s)
        if drop.single_camera != keep.single_camera:
            keep.single_camera = None
        for key, exemplar in drop.exemplars.items():
            keep.exemplars.setdefault(key, exemplar)
        _cap_exemplars(keep)
        if keep.appearance is None:
            keep.appearance = drop.appearance
        elif drop.appearance is not None:
            keep.appearance = l2_normalize(keep.appearance + drop.appearance)
        del self.globals[drop.global_id]
        cams = self._seen_now.pop(drop.global_id, {})
        seen = self._seen_now[keep.global_id]
        seen.update({cam: local for cam, local in cams.items() if cam not in busy})
        self._seen_now[keep.global_id] = dict(sorted(seen.items()))  # in camera order

    # 7. ----------------------------------------------------------------------------------------

    def _retire(self, t_s: float) -> None:
        max_age = self.config.max_age_s
        for key in [k for k, tr in self.tracklets.items() if t_s - tr.last_t > max_age]:
            tr = self.tracklets.pop(key)
            self._arrays.free(tr.slot)
            self._alarms.discard(tr)
            if tr.global_id in self.globals:
                self.globals[tr.global_id].tracklets.discard(key)
        for gid in [gid for gid, g in self.globals.items() if t_s - g.last_t > max_age]:
            for key in self.globals.pop(gid).tracklets:
                tr = self.tracklets.get(key)
                if tr is not None:
                    tr.global_id = UNASSIGNED
                    tr.unassigned_since = t_s


def _predict(tracks: list[GlobalTrack], t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`GlobalTrack.predict` of many tracks at once: (C, 2) floor positions at ``t_s``
    and (C,) seconds since each was last seen."""
    x, y, vx, vy, last_t = (_floats(tracks, name) for name in ("x_m", "y_m", "vx_mps", "vy_mps", "last_t"))
    gap = np.maximum(t_s - last_t, 0.0)
    dt = np.minimum(gap, MAX_EXTRAPOLATION_S)
    return np.column_stack([x + vx * dt, y + vy * dt]), gap


def _update_appearance(tracks: list[GlobalTrack], which: np.ndarray, trs: list[Tracklet]) -> None:
    """Take the looks of ``trs`` (tracklets embedded this step; ``which``: the index in ``tracks``
    of the track of each): each becomes its track's newest exemplar, and each track's running
    mean moves towards the mean of its tracklets' looks (``GLOBAL_EMA``)."""
    if not trs:
        return
    for k, tr in zip(which.tolist(), trs, strict=True):
        # one exemplar per recent tracklet: its latest look (the oldest beyond MAX_EXEMPLARS goes)
        g = tracks[k]
        g.exemplars.pop(tr.key, None)
        g.exemplars[tr.key] = tr.appearance
        _cap_exemplars(g)
    looks = np.array([tr.appearance for tr in trs])
    updated, firsts, index = np.unique(which, return_index=True, return_inverse=True)
    new = looks[firsts].astype(np.float32)  # a track's first look, plus (rarely) the others
    more = np.ones(len(trs), dtype=bool)
    more[firsts] = False
    if more.any():
        np.add.at(new, index[more], looks[more])
    new = l2_normalize(new)
    gs = [tracks[k] for k in updated.tolist()]
    old = np.array([new[j] if g.appearance is None else g.appearance for j, g in enumerate(gs)])
    for g, mean in zip(gs, l2_normalize((1 - GLOBAL_EMA) * old + GLOBAL_EMA * new), strict=True):
        g.appearance = mean


def _floats(items: list, name: str) -> np.ndarray:
    """Attribute ``name`` of each of ``items`` as a float array (faster than ``np.array`` of a
    list of tuples, which the per-step state gathers would otherwise be)."""
    return np.fromiter(map(attrgetter(name), items), dtype=float, count=len(items))


def _floor_xy(items: list) -> np.ndarray:
    """(N, 2) ``x_m``, ``y_m`` of each of ``items`` (tracklets or global tracks)."""
    return np.column_stack([_floats(items, "x_m"), _floats(items, "y_m")]).reshape(-1, 2)


def _ints(items: list, name: str) -> np.ndarray:
    """Attribute ``name`` of each of ``items`` as an int64 array."""
    return np.fromiter(map(attrgetter(name), items), dtype=np.int64, count=len(items))


def _camera_column(dets: Detections) -> np.ndarray:
    if CAMERA_ID in dets.data:
        return dets.data[CAMERA_ID]
    if CAMERA_ID in dets.meta:
        return np.full(len(dets), dets.meta[CAMERA_ID])
    raise ValueError("association needs camera_id (a column, or meta for a single camera)")


def _cap_exemplars(g: GlobalTrack) -> None:
    """Drop the oldest exemplars beyond ``MAX_EXEMPLARS``."""
    while len(g.exemplars) > MAX_EXEMPLARS:
        g.exemplars.popitem(last=False)


def _parted_swapped(enc: _Encounter, a: GlobalTrack, b: GlobalTrack, t_s: float) -> bool:
    """Whether ``a`` and ``b`` fit the states kept at their encounter, carried forward at their
    velocities to ``t_s``, better the other way round by ``ENCOUNTER_SWAP_MARGIN_M``."""
    dt = t_s - enc.t_s
    pa = (enc.a[0] + enc.a[2] * dt, enc.a[1] + enc.a[3] * dt)
    pb = (enc.b[0] + enc.b[2] * dt, enc.b[1] + enc.b[3] * dt)
    keep = math.dist(pa, (a.x_m, a.y_m)) + math.dist(pb, (b.x_m, b.y_m))
    swap = math.dist(pa, (b.x_m, b.y_m)) + math.dist(pb, (a.x_m, a.y_m))
    return keep - swap > ENCOUNTER_SWAP_MARGIN_M


def _in_company(group: np.ndarray, camera: np.ndarray, xy_m: np.ndarray) -> np.ndarray:
    """(N,) bool: whether each row has a row of its group (track) from another camera within
    ``STATIC_ALARM_RADIUS_M`` of it (the tracklets of one track seen now; ``company_s``)."""
    order = np.argsort(group, kind="stable")
    g, cam, xy = group[order], camera[order], xy_m[order]
    company = np.zeros(len(order), dtype=bool)
    for d in range(1, int(np.bincount(group).max(initial=0))):  # pairs d apart in the order
        pair = (g[d:] == g[:-d]) & (cam[d:] != cam[:-d]) & (
            np.hypot(*(xy[d:] - xy[:-d]).T) <= STATIC_ALARM_RADIUS_M)
        company[d:] |= pair
        company[:-d] |= pair
    result = np.zeros(len(order), dtype=bool)
    result[order] = company
    return result


def _core_mask(xy_m: np.ndarray, quality: np.ndarray, radius_m: float) -> np.ndarray:
    """(N,) bool: the points within ``radius_m`` of their medoid (the one with the least
    quality-weighted sum of distances to the others), the medoid included."""
    weight = np.maximum(quality, MIN_QUALITY)
    dist_m = np.linalg.norm(xy_m[:, None] - xy_m[None], axis=2)
    return dist_m[int(np.argmin(dist_m @ weight))] <= radius_m


def _measure_tracks(
    group: np.ndarray, n_groups: int, xy_m: np.ndarray, quality: np.ndarray, precision: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each track's floor measurement from its rows (``_fuse_groups``), and the report's: the
    fusion of the rows that agree (``REPORT_CORE_RADIUS_M`` around their medoid), where three or
    more rows see the track. Two (n_groups, 2) arrays."""
    measured = _fuse_groups(group, n_groups, xy_m, quality, precision)
    core = measured.copy()
    counts = np.bincount(group, minlength=n_groups)
    crowded = np.flatnonzero(counts >= 3)
    if crowded.size:
        by_track = np.argsort(group, kind="stable")
        starts = np.cumsum(counts) - counts
        for k in crowded.tolist():
            rows = by_track[starts[k]:starts[k] + counts[k]]
            inside = rows[_core_mask(xy_m[rows], quality[rows], REPORT_CORE_RADIUS_M)]
            if inside.size < rows.size:
                core[k] = _fuse_groups(np.zeros(inside.size, dtype=np.int64), 1, xy_m[inside],
                                       quality[inside], precision[inside])[0]
    return measured, core


def _fuse_groups(
    group: np.ndarray, n_groups: int, xy_m: np.ndarray, quality: np.ndarray, precision: np.ndarray
) -> np.ndarray:
    """(n_groups, 2) fused floor point of each group of rows (``group``: (N,) in 0..n_groups-1):
    the precision-weighted mean where every row of the group has a precision (``precision``:
    (N, 3) pxx, pxy, pyy, NaN rows for none) and their sum is invertible, else the
    quality-weighted mean."""
    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=n_groups)

    x, y = xy_m[:, 0], xy_m[:, 1]
    w = np.maximum(quality, MIN_QUALITY)
    weight = total(w)
    has = np.isfinite(precision).all(axis=1)
    pxx, pxy, pyy = np.where(has[:, None], precision, 0.0).T
    a, b, c = total(pxx), total(pxy), total(pyy)
    bx, by = total(pxx * x + pxy * y), total(pxy * x + pyy * y)
    det = a * c - b * b
    precise = (total((~has).astype(float)) == 0) & (det > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.column_stack([
            np.where(precise, (c * bx - b * by) / det, total(w * x) / weight),
            np.where(precise, (a * by - b * bx) / det, total(w * y) / weight),
        ])
