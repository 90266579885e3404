"""Build the per-timestep data that TrackEval's metrics consume, with our similarities.

TrackEval splits evaluation into a *dataset* (reads files, computes a similarity per ground-truth /
prediction pair, preprocesses) and *metrics* (HOTA, CLEAR, Identity) that only see this dict::

    num_timesteps                      int
    gt_ids, tracker_ids                list over timesteps of (G_t,) / (P_t,) int arrays, ids
                                       relabelled to 0..num_gt_ids-1 / 0..num_tracker_ids-1
    similarity_scores                  list over timesteps of (G_t, P_t) float arrays in [0, 1]
    num_gt_dets, num_tracker_dets      int, rows over all timesteps
    num_gt_ids, num_tracker_ids        int, distinct ids

The relabelling matters: the metrics index count arrays by id, and an id that never occurs would
divide by zero in HOTA's alignment score. This module is our dataset side:

- :func:`floor_sequence`: floor (bird's-eye) positions, similarity ``max(0, 1 - d / 2 m)``
  (Metropolis / AI City / TrackEval's MOT15-3D convention);
- :func:`image_sequence`: image boxes of one or several cameras with IoU similarity and the
  MOTChallenge (MOT17) preprocessing; several cameras are concatenated in time (camera k's frames
  come after camera k-1's) so one identity matching spans all cameras (Duke / AI City protocol).

Example::

    seq = floor_sequence(gt_table, pred_table)        # FloorTable -> EvalSequence
    seq.data["num_gt_ids"], seq.gt_id_values          # trackeval's data, original ids
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from mtmc.formats.mot import MotTable

__all__ = [
    "FLOOR_ZERO_AT_M",
    "MATCH_THRESHOLD",
    "MOT17_DISTRACTOR_CLASSES",
    "EvalSequence",
    "FloorTable",
    "box_iou_tlwh",
    "floor_sequence",
    "floor_similarity",
    "image_sequence",
]

# Floor similarity reaches 0 at this distance; CLEAR/Identity's 0.5 threshold is then d <= 1 m.
FLOOR_ZERO_AT_M = 2.0
# Similarity a pair needs to count as a match in CLEAR, Identity and the MOTChallenge preprocessing.
MATCH_THRESHOLD = 0.5
# MOTChallenge gt classes whose matched predictions are removed (neither TP nor FP): person on
# vehicle (2), static person (7), distractor (8), reflection (12). MOT20 adds non-MOT vehicle (6).
MOT17_DISTRACTOR_CLASSES = (2, 7, 8, 12)
PEDESTRIAN_CLASS = 1
_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class FloorTable:
    """Floor positions of people (ground truth or tracker output), one row per (frame, id).

    Attributes:
        frame: (N,) int64, 1-based frame numbers.
        track_id: (N,) int64 person ids (gt) or global track ids (predictions).
        xy_m: (N, 2) float64 floor positions in metres (world x, y; z up, floor at z = 0).

    Example::

        t = FloorTable(frame=[1, 1, 2], track_id=[7, 8, 7], xy_m=[[0, 0], [3, 1], [0.1, 0]])
        t[t.frame == 1].xy_m                      # (2, 2)
    """

    frame: np.ndarray
    track_id: np.ndarray
    xy_m: np.ndarray

    def __post_init__(self) -> None:
        xy_m = np.asarray(self.xy_m, dtype=np.float64)
        if xy_m.size == 0:
            xy_m = xy_m.reshape(0, 2)
        if xy_m.ndim != 2 or xy_m.shape[1] != 2:
            raise ValueError(f"FloorTable.xy_m must have shape (N, 2), got {xy_m.shape}")
        if not np.isfinite(xy_m).all():
            row = int(np.flatnonzero(~np.isfinite(xy_m).all(axis=1))[0])
            raise ValueError(f"FloorTable.xy_m row {row} is not finite: {xy_m[row].tolist()}")
        n = len(xy_m)
        object.__setattr__(self, "xy_m", xy_m)
        for name in ("frame", "track_id"):
            value = np.asarray(getattr(self, name), dtype=np.int64).reshape(-1)
            if len(value) != n:
                raise ValueError(f"FloorTable.{name} has {len(value)} rows, xy_m has {n}")
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.xy_m)

    def __getitem__(self, index: np.ndarray | slice) -> FloorTable:
        """Rows selected by a boolean mask, an index array or a slice."""
        return FloorTable(self.frame[index], self.track_id[index], self.xy_m[index])

    @classmethod
    def empty(cls) -> FloorTable:
        """A table with no rows."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)))


@dataclass(frozen=True)
class EvalSequence:
    """TrackEval's per-sequence data dict plus what is needed to map results back to our ids.

    Attributes:
        data: the dict TrackEval's ``HOTA``, ``CLEAR`` and ``Identity`` ``eval_sequence`` take
            (see the module docstring).
        gt_id_values: (num_gt_ids,) int64, original ground-truth id of each relabelled gt id.
        pred_id_values: (num_tracker_ids,) int64, original prediction id of each relabelled id.
        timestep_frame: (num_timesteps,) int64, 1-based frame number of each timestep.
        timestep_camera: (num_timesteps,) str, camera of each timestep ("" for floor sequences).
        num_frames: frames evaluated per camera (= num_timesteps / number of cameras).
        gt_rows_dropped: ground-truth rows outside the evaluated frames.
        pred_rows_dropped: prediction rows outside the evaluated frames.
    """

    data: dict[str, Any]
    gt_id_values: np.ndarray
    pred_id_values: np.ndarray
    timestep_frame: np.ndarray
    timestep_camera: np.ndarray
    num_frames: int
    gt_rows_dropped: int = 0
    pred_rows_dropped: int = 0


def floor_similarity(
    gt_xy_m: np.ndarray, pred_xy_m: np.ndarray, zero_at_m: float = FLOOR_ZERO_AT_M
) -> np.ndarray:
    """Similarity of floor positions: ``max(0, 1 - d / zero_at_m)``, d the Euclidean distance.

    Args:
        gt_xy_m: (G, 2) true positions in metres.
        pred_xy_m: (P, 2) predicted positions in metres.
        zero_at_m: distance at which the similarity reaches 0 (2 m in Metropolis and AI City, so
            the 0.5 match threshold of CLEAR and Identity means d <= 1 m).

    Returns:
        (G, P) float64 in [0, 1].

    Example::

        floor_similarity(np.array([[0.0, 0.0]]), np.array([[0.6, 0.8], [3.0, 0.0]]))
        # [[1 - 1.0 / 2, 0.0]] = [[0.5, 0.0]]
    """
    if zero_at_m <= 0:
        raise ValueError(f"floor_similarity: zero_at_m must be > 0 metres, got {zero_at_m}")
    gt_xy_m = np.asarray(gt_xy_m, dtype=np.float64).reshape(-1, 2)
    pred_xy_m = np.asarray(pred_xy_m, dtype=np.float64).reshape(-1, 2)
    d_m = np.linalg.norm(gt_xy_m[:, None, :] - pred_xy_m[None, :, :], axis=2)
    return np.maximum(0.0, 1.0 - d_m / zero_at_m)


def box_iou_tlwh(gt_tlwh: np.ndarray, pred_tlwh: np.ndarray) -> np.ndarray:
    """Intersection over union of ``left, top, width, height`` boxes (pixels).

    Boxes with zero area have IoU 0 with everything. The arithmetic follows TrackEval's box IoU
    step by step so that results agree bit for bit (thresholds at 0.5 are then decided alike).

    Args:
        gt_tlwh: (G, 4) boxes.
        pred_tlwh: (P, 4) boxes.

    Returns:
        (G, P) float64 in [0, 1].

    Example::

        box_iou_tlwh(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 10, 10]]))
        # [[50 / (100 + 100 - 50)]] = [[1 / 3]]
    """
    a = np.array(gt_tlwh, dtype=np.float64).reshape(-1, 4)
    b = np.array(pred_tlwh, dtype=np.float64).reshape(-1, 4)
    a[:, 2:] += a[:, :2]  # -> xyxy
    b[:, 2:] += b[:, :2]
    lo = np.maximum(a[:, None, :], b[None, :, :])
    hi = np.minimum(a[:, None, :], b[None, :, :])
    inter = np.maximum(hi[..., 2] - lo[..., 0], 0) * np.maximum(hi[..., 3] - lo[..., 1], 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    inter[area_a <= _EPS, :] = 0
    inter[:, area_b <= _EPS] = 0
    inter[union <= _EPS] = 0
    union[union <= _EPS] = 1
    return inter / union


def floor_sequence(
    gt: FloorTable,
    pred: FloorTable,
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    zero_at_m: float = FLOOR_ZERO_AT_M,
) -> EvalSequence:
    """Floor-plane evaluation data: one timestep per evaluated frame, similarity by distance.

    Args:
        gt: true floor positions (``gt/world.txt``).
        pred: predicted floor positions (``rtls.jsonl``).
        frames: the 1-based frames to evaluate; rows on other frames are dropped (counted in
            ``gt_rows_dropped`` / ``pred_rows_dropped``). ``None``: frames 1 .. the last frame of
            either table.
        zero_at_m: see :func:`floor_similarity`.

    Raises:
        ValueError: an id occurs twice in one frame, or frame numbers < 1.
    """
    frames = _eval_frames(frames, [gt.frame, pred.frame])
    gt_steps, gt_dropped = _rows_per_step(gt.frame, gt.track_id, frames, "ground truth", "")
    pred_steps, pred_dropped = _rows_per_step(pred.frame, pred.track_id, frames, "prediction", "")
    gt_ids = [gt.track_id[r] for r in gt_steps]
    pred_ids = [pred.track_id[r] for r in pred_steps]
    sims = [
        floor_similarity(gt.xy_m[g], pred.xy_m[p], zero_at_m)
        for g, p in zip(gt_steps, pred_steps, strict=True)
    ]
    return _assemble(
        gt_ids, pred_ids, sims, frames, np.full(len(frames), "", dtype=object), len(frames),
        gt_dropped, pred_dropped,
    )


def image_sequence(
    gt: Mapping[str, MotTable],
    pred: Mapping[str, MotTable],
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    min_visibility: float = 0.0,
    distractor_classes: Sequence[int] = MOT17_DISTRACTOR_CLASSES,
) -> EvalSequence:
    """Image-space evaluation data for one or more cameras, matched as one sequence.

    Cameras are concatenated in time in the order of ``gt``: camera k's frames are timesteps
    ``k * F .. k * F + F - 1`` (F = number of evaluated frames). Ids are global, so one identity
    matching (IDF1, AssA) spans all cameras, and CLEAR counts an ID switch when a person's
    predicted id differs from the one it had in the previous camera.

    MOTChallenge (MOT17) preprocessing is applied per camera and frame, as TrackEval does:

    1. predictions matched (Hungarian on IoU, pairs with IoU >= 0.5) to a gt row of a distractor
       class are removed;
    2. gt rows are kept only if ``conf != 0`` and class is pedestrian (1; -1 = "not given" counts
       as pedestrian).

    Visibility: with ``min_visibility = 0`` (default) every gt row is evaluated, including
    visibility-0 rows (fully occluded people). That is MOT17's official choice and suits
    multi-camera tracking: the person is really there, and a tracker that coasts through the
    occlusion or projects the global floor position into the camera is right to report them.
    With ``min_visibility > 0``, gt rows with ``0 <= visibility < min_visibility`` are treated like
    distractors (step 1 and removed), so predictions on them are neither rewarded nor penalised.

    Args:
        gt: camera id -> MOTChallenge ground truth (``frame,id,l,t,w,h,conf,class,visibility``).
        pred: camera id -> tracker results with global ids; a camera missing here has no
            predictions (all its gt rows are misses).
        frames: 1-based frames to evaluate (the same for all cameras); ``None``: 1 .. last frame
            of any table.
        min_visibility: see above.
        distractor_classes: MOT gt classes treated as distractors (MOT20: add 6).

    Raises:
        ValueError: a prediction camera with no ground truth, duplicate ids in one frame of one
            camera, frame numbers < 1.
    """
    cameras = list(gt)
    unknown = sorted(set(pred) - set(gt))
    if unknown:
        raise ValueError(
            f"predictions for camera(s) {unknown} have no ground truth; known: {sorted(gt)}"
        )
    if not cameras:
        raise ValueError("image_sequence: no cameras given")
    empty = MotTable(frame=np.zeros(0), track_id=np.zeros(0), tlwh=np.zeros((0, 4)))
    preds = {cam: pred.get(cam, empty) for cam in cameras}
    frames = _eval_frames(
        frames, [gt[c].frame for c in cameras] + [preds[c].frame for c in cameras]
    )
    distractors = np.asarray(distractor_classes, dtype=np.int64)
    gt_ids: list[np.ndarray] = []
    pred_ids: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    gt_dropped = pred_dropped = 0
    for cam in cameras:
        g_tab, p_tab = gt[cam], preds[cam]
        g_steps, n_g = _rows_per_step(g_tab.frame, g_tab.track_id, frames, "ground truth", cam)
        p_steps, n_p = _rows_per_step(p_tab.frame, p_tab.track_id, frames, "prediction", cam)
        gt_dropped += n_g
        pred_dropped += n_p
        vis = g_tab.visibility
        ignore_row = np.isin(g_tab.class_id, distractors) | (
            (vis >= 0) & (vis < min_visibility)
        )
        keep_row = (
            (g_tab.confidence != 0)
            & ((g_tab.class_id == PEDESTRIAN_CLASS) | (g_tab.class_id < 0))
            & ~ignore_row
        )
        for g, p in zip(g_steps, p_steps, strict=True):
            sim = box_iou_tlwh(g_tab.tlwh[g], p_tab.tlwh[p])
            # 1. drop predictions that match an ignored gt row (distractor / too hidden)
            if len(p) and ignore_row[g].any():
                score = np.where(sim < MATCH_THRESHOLD - _EPS, 0.0, sim)
                rows, cols = linear_sum_assignment(-score)
                matched = score[rows, cols] > _EPS
                drop = cols[matched & ignore_row[g][rows]]
                keep_p = np.ones(len(p), dtype=bool)
                keep_p[drop] = False
                p, sim = p[keep_p], sim[:, keep_p]
            # 2. keep evaluated gt rows only
            keep_g = keep_row[g]
            gt_ids.append(g_tab.track_id[g[keep_g]])
            pred_ids.append(p_tab.track_id[p])
            sims.append(sim[keep_g])
    n_cam, n_frames = len(cameras), len(frames)
    return _assemble(
        gt_ids,
        pred_ids,
        sims,
        np.tile(frames, n_cam),
        np.repeat(np.asarray(cameras, dtype=object), n_frames),
        n_frames,
        gt_dropped,
        pred_dropped,
    )


def _eval_frames(frames: Sequence[int] | np.ndarray | None, columns: list[np.ndarray]) -> np.ndarray:
    """Sorted unique 1-based frames to evaluate; default 1 .. the last frame in ``columns``."""
    for col in columns:
        if len(col) and col.min() < 1:
            raise ValueError(
                f"frame numbers are 1-based; found frame {int(col.min())} (is the file 0-based?)"
            )
    if frames is None:
        last = max((int(c.max()) for c in columns if len(c)), default=0)
        return np.arange(1, last + 1, dtype=np.int64)
    frames = np.unique(np.asarray(frames, dtype=np.int64).reshape(-1))
    if len(frames) and frames[0] < 1:
        raise ValueError(f"frames to evaluate are 1-based; got frame {int(frames[0])}")
    return frames


def _rows_per_step(
    frame: np.ndarray, track_id: np.ndarray, frames: np.ndarray, what: str, camera: str
) -> tuple[list[np.ndarray], int]:
    """Row indices of each evaluated frame (in ``frames`` order) and the number of rows dropped.

    Raises ValueError when an id occurs twice in one frame (TrackEval requires unique ids).
    """
    step = np.searchsorted(frames, frame)
    if len(frames):
        inside = (step < len(frames)) & (frames[np.minimum(step, len(frames) - 1)] == frame)
    else:
        inside = np.zeros(len(frame), dtype=bool)
    rows = np.flatnonzero(inside)
    order = rows[np.lexsort((track_id[rows], step[rows]))]
    s, ids = step[order], track_id[order]
    dup = np.flatnonzero((s[1:] == s[:-1]) & (ids[1:] == ids[:-1]))
    if len(dup):
        where = f" of camera {camera}" if camera else ""
        raise ValueError(
            f"{what}: id {int(ids[dup[0]])} occurs twice in frame {int(frames[s[dup[0]]])}"
            f"{where}; ids must be unique per frame"
        )
    bounds = np.searchsorted(s, np.arange(len(frames) + 1))
    steps = [order[bounds[i] : bounds[i + 1]] for i in range(len(frames))]
    return steps, int(len(frame) - len(rows))


def _relabel(ids_per_step: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Ids mapped to 0..K-1 (sorted original order) and the (K,) original ids."""
    values = np.unique(np.concatenate([np.zeros(0, np.int64), *ids_per_step]))
    return [np.searchsorted(values, ids).astype(np.int64) for ids in ids_per_step], values


def _assemble(
    gt_ids: list[np.ndarray],
    pred_ids: list[np.ndarray],
    sims: list[np.ndarray],
    timestep_frame: np.ndarray,
    timestep_camera: np.ndarray,
    num_frames: int,
    gt_dropped: int,
    pred_dropped: int,
) -> EvalSequence:
    gt_rel, gt_values = _relabel(gt_ids)
    pred_rel, pred_values = _relabel(pred_ids)
    data = {
        "num_timesteps": len(gt_rel),
        "gt_ids": gt_rel,
        "tracker_ids": pred_rel,
        "similarity_scores": sims,
        "num_gt_dets": int(sum(len(i) for i in gt_rel)),
        "num_tracker_dets": int(sum(len(i) for i in pred_rel)),
        "num_gt_ids": len(gt_values),
        "num_tracker_ids": len(pred_values),
        "seq": "mtmc",
    }
    return EvalSequence(
        data=data,
        gt_id_values=gt_values,
        pred_id_values=pred_values,
        timestep_frame=np.asarray(timestep_frame, dtype=np.int64),
        timestep_camera=np.asarray(timestep_camera, dtype=object),
        num_frames=num_frames,
        gt_rows_dropped=gt_dropped,
        pred_rows_dropped=pred_dropped,
    )
