"""HOTA, CLEAR and Identity metrics through TrackEval's own metric code, on our sequences.

The metric arithmetic is TrackEval's (``trackeval.metrics.HOTA``, ``CLEAR``, ``Identity``, package
1.3); this module only feeds them an :class:`~mtmc.eval.sequence.EvalSequence` and summarises.

Thresholds, as TrackEval applies them:

- HOTA averages over alpha = 0.05, 0.10, ..., 0.95 (19 values); a pair matches at alpha when
  ``similarity >= alpha - eps``. On the floor (similarity ``1 - d / 2 m``) that is d <= 1.9 m at
  alpha 0.05 down to d <= 0.1 m at alpha 0.95. LocA is the mean similarity of matched pairs.
- CLEAR (MOTA, MOTP, IDSW) matches pairs with ``similarity >= 0.5 - eps``; Identity (IDF1) with
  ``similarity >= 0.5`` (no eps). On the floor both mean d <= 1 m (``1 - 1.0 / 2`` is exactly 0.5
  in floating point); in images IoU >= 0.5.
- CLEAR counts an ID switch when a gt id is matched to a different prediction id than the last
  time it was matched, however long ago (:func:`clear_matches` lists these events).

Returned summaries use TrackEval's names; rates are percentages (0-100), counts are ints::

    HOTA DetA AssA LocA DetRe DetPr AssRe AssPr    mean over the 19 alphas, percent
    MOTA MOTP IDF1 IDP IDR                         percent
    IDSW Frag MT PT ML CLR_TP CLR_FN CLR_FP IDTP IDFN IDFP GT_Dets Dets GT_IDs IDs
    frames (per camera), gt_rows_dropped, pred_rows_dropped (rows outside the evaluated frames)

Example::

    m = evaluate_floor(gt_table, pred_table)     # FloorTable, FloorTable -> dict
    print(m["HOTA"], m["IDF1"], m["IDSW"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from trackeval.metrics import CLEAR, HOTA, Identity

from mtmc.eval.sequence import (
    FLOOR_ZERO_AT_M,
    MATCH_THRESHOLD,
    MOT17_DISTRACTOR_CLASSES,
    EvalSequence,
    FloorTable,
    floor_sequence,
    image_sequence,
)
from mtmc.formats.mot import MotTable

__all__ = [
    "HEADLINE_KEYS",
    "ClearMatches",
    "SwitchEvent",
    "clear_matches",
    "evaluate_floor",
    "evaluate_image",
    "evaluate_mot",
    "evaluate_sequence",
    "trackeval_results",
]

# The keys every summary has and the CLI prints.
HEADLINE_KEYS = ("HOTA", "DetA", "AssA", "LocA", "IDF1", "MOTA", "IDSW")
_HOTA_KEYS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")
_CLEAR_RATES = ("MOTA", "MOTP")
_CLEAR_COUNTS = ("IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP")
_ID_RATES = ("IDF1", "IDP", "IDR")
_ID_COUNTS = ("IDTP", "IDFN", "IDFP")
_EPS = np.finfo(np.float64).eps


def trackeval_results(seq: EvalSequence) -> dict[str, dict[str, Any]]:
    """TrackEval's raw per-sequence results: ``{"HOTA": {...}, "CLEAR": {...}, "Identity": {...}}``.

    Values are as TrackEval returns them (fractions; HOTA fields are (19,) arrays over alpha).
    Nothing is printed: the metric configs have ``PRINT_CONFIG`` off.
    """
    quiet = {"THRESHOLD": MATCH_THRESHOLD, "PRINT_CONFIG": False}
    return {
        "HOTA": HOTA().eval_sequence(seq.data),
        "CLEAR": CLEAR(dict(quiet)).eval_sequence(seq.data),
        "Identity": Identity(dict(quiet)).eval_sequence(seq.data),
    }


def evaluate_sequence(seq: EvalSequence) -> dict[str, Any]:
    """HOTA / CLEAR / Identity summary of a sequence (keys in the module docstring).

    Example: perfect tracking of any non-empty sequence gives HOTA = DetA = AssA = IDF1 = MOTA =
    100 and IDSW = 0 (LocA is 100 only if the positions are exact).
    """
    res = trackeval_results(seq)
    hota, clear, ident = res["HOTA"], res["CLEAR"], res["Identity"]
    out: dict[str, Any] = {k: 100.0 * float(np.mean(hota[k])) for k in _HOTA_KEYS}
    out.update({k: 100.0 * float(clear[k]) for k in _CLEAR_RATES})
    out.update({k: 100.0 * float(ident[k]) for k in _ID_RATES})
    out.update({k: int(clear[k]) for k in _CLEAR_COUNTS})
    out.update({k: int(ident[k]) for k in _ID_COUNTS})
    out.update(
        GT_Dets=int(seq.data["num_gt_dets"]),
        Dets=int(seq.data["num_tracker_dets"]),
        GT_IDs=int(seq.data["num_gt_ids"]),
        IDs=int(seq.data["num_tracker_ids"]),
        frames=int(seq.num_frames),
        gt_rows_dropped=int(seq.gt_rows_dropped),
        pred_rows_dropped=int(seq.pred_rows_dropped),
    )
    return out


def evaluate_floor(
    gt: FloorTable,
    pred: FloorTable,
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    zero_at_m: float = FLOOR_ZERO_AT_M,
) -> dict[str, Any]:
    """Floor-plane (bird's-eye) HOTA / CLEAR / Identity of predicted positions.

    Args:
        gt: true positions per frame and person id (metres).
        pred: predicted positions per frame and global id (metres).
        frames: 1-based frames to evaluate (``None``: 1 .. last frame of either table).
        zero_at_m: distance where the similarity ``max(0, 1 - d / zero_at_m)`` reaches 0.

    Returns:
        The summary of :func:`evaluate_sequence` plus ``loc_error_m``: mean distance in metres of
        the CLEAR matches (``zero_at_m * (1 - MOTP)``; ``None`` without matches).

    Example (one person, two frames, predicted 0.5 m off in frame 2)::

        gt = FloorTable([1, 2], [1, 1], [[0, 0], [1, 0]])
        pred = FloorTable([1, 2], [9, 9], [[0, 0], [1, 0.5]])
        m = evaluate_floor(gt, pred)
        # m["MOTA"] == 100, m["MOTP"] == 100 * (1 + 0.75) / 2, m["loc_error_m"] == 0.25
    """
    out = evaluate_sequence(floor_sequence(gt, pred, frames=frames, zero_at_m=zero_at_m))
    out["loc_error_m"] = (
        zero_at_m * (1.0 - out["MOTP"] / 100.0) if out["CLR_TP"] > 0 else None
    )
    return out


def evaluate_image(
    gt: Mapping[str, MotTable],
    pred: Mapping[str, MotTable],
    *,
    frames: Sequence[int] | np.ndarray | None = None,
    min_visibility: float = 0.0,
    per_camera: bool = True,
    distractor_classes: Sequence[int] = MOT17_DISTRACTOR_CLASSES,
) -> dict[str, Any]:
    """Multi-camera image-space metrics: all cameras matched at once (Duke / AI City protocol).

    The cameras' sequences are concatenated in time and evaluated as one sequence with IoU
    similarity and global ids (see :func:`mtmc.eval.sequence.image_sequence` for the
    preprocessing and the visibility rule). A global id that changes between cameras is therefore
    penalised in IDF1 / AssA and counted as an ID switch.

    Args:
        gt: camera id -> MOTChallenge ground truth.
        pred: camera id -> results with global ids (missing camera = no predictions).
        frames: 1-based frames to evaluate, the same for all cameras (``None``: all).
        min_visibility: gt rows less visible than this are ignored (default 0: evaluate all).
        per_camera: also evaluate each camera alone, under ``"per_camera"``: {camera: summary}.
        distractor_classes: MOTChallenge distractor classes (MOT20: add 6).

    Returns:
        The summary of :func:`evaluate_sequence` (``frames`` = frames per camera), plus
        ``cameras`` (list) and optionally ``per_camera``.
    """
    kwargs = {
        "frames": frames,
        "min_visibility": min_visibility,
        "distractor_classes": distractor_classes,
    }
    seq = image_sequence(gt, pred, **kwargs)
    out = evaluate_sequence(seq)
    out["cameras"] = list(gt)
    if per_camera:
        frames_used = seq.timestep_frame[: seq.num_frames]
        kwargs["frames"] = frames_used
        out["per_camera"] = {
            cam: evaluate_sequence(
                image_sequence({cam: gt[cam]}, {cam: pred[cam]} if cam in pred else {}, **kwargs)
            )
            for cam in gt
        }
    return out


def evaluate_mot(
    gt: MotTable,
    pred: MotTable,
    *,
    num_frames: int | None = None,
    min_visibility: float = 0.0,
    distractor_classes: Sequence[int] = MOT17_DISTRACTOR_CLASSES,
) -> dict[str, Any]:
    """Single-camera MOTChallenge evaluation, equal to TrackEval's ``MotChallenge2DBox`` (MOT17).

    Args:
        gt: ground truth (``read_mot("gt/gt.txt")``).
        pred: tracker results.
        num_frames: sequence length (``seqLength`` of seqinfo.ini); ``None``: last frame present.
        min_visibility: 0 (default) evaluates every gt row, as MOTChallenge does.
        distractor_classes: MOTChallenge distractor classes (MOT20: add 6).

    Raises:
        ValueError: a row lies after ``num_frames`` (TrackEval rejects such files too).

    Example::

        m = evaluate_mot(read_mot("MOT17-02/gt/gt.txt"), read_mot("res/MOT17-02.txt"), num_frames=600)
    """
    if num_frames is not None:
        for what, table in (("ground truth", gt), ("prediction", pred)):
            if len(table) and table.frame.max() > num_frames:
                raise ValueError(
                    f"{what} has frame {int(table.frame.max())} > num_frames={num_frames}"
                )
        frames: np.ndarray | None = np.arange(1, num_frames + 1)
    else:
        frames = None
    seq = image_sequence(
        {"": gt},
        {"": pred},
        frames=frames,
        min_visibility=min_visibility,
        distractor_classes=distractor_classes,
    )
    return evaluate_sequence(seq)


class SwitchEvent(NamedTuple):
    """A CLEAR identity switch: at ``frame`` gt person ``gt_id`` is matched to ``new_pred_id``
    after having last been matched to ``prev_pred_id`` (``camera`` is "" on the floor)."""

    frame: int
    gt_id: int
    prev_pred_id: int
    new_pred_id: int
    camera: str = ""


@dataclass(frozen=True)
class ClearMatches:
    """The CLEAR matching, one row per matched (gt, prediction) pair, in timestep order.

    Attributes:
        frame: (M,) int64 1-based frames.
        camera: (M,) str cameras ("" on the floor).
        gt_id: (M,) int64 original gt ids.
        pred_id: (M,) int64 original prediction ids.
        similarity: (M,) float64 similarity of each pair (>= 0.5).
        switches: the ID switch events, as many as CLEAR's IDSW.
    """

    frame: np.ndarray
    camera: np.ndarray
    gt_id: np.ndarray
    pred_id: np.ndarray
    similarity: np.ndarray
    switches: list[SwitchEvent]

    def __len__(self) -> int:
        return len(self.frame)


def clear_matches(seq: EvalSequence, threshold: float = MATCH_THRESHOLD) -> ClearMatches:
    """Per-frame matches and ID switch events, computed exactly as TrackEval's CLEAR matches.

    Per timestep: Hungarian on ``1000 * [pair continues last timestep's match] + similarity``,
    pairs below ``threshold`` excluded; a switch is a gt id matched to a prediction id other than
    the one it was last matched to (at any earlier timestep). The number of events equals CLEAR's
    IDSW and the number of matches CLEAR's CLR_TP.

    Example::

        m = clear_matches(floor_sequence(gt, pred))
        for e in m.switches:
            print(f"frame {e.frame}: person {e.gt_id} {e.prev_pred_id} -> {e.new_pred_id}")
    """
    data = seq.data
    n_gt = data["num_gt_ids"]
    last_pred = np.full(n_gt, -1, dtype=np.int64)  # last matched prediction, any time ago
    prev_step_pred = np.full(n_gt, -1, dtype=np.int64)  # matched in the previous timestep
    steps: list[np.ndarray] = []
    gts: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    switches: list[SwitchEvent] = []
    for t, (g, p) in enumerate(zip(data["gt_ids"], data["tracker_ids"], strict=True)):
        if len(g) == 0 or len(p) == 0:
            continue  # as CLEAR: an empty timestep leaves the previous-timestep matches as they are
        sim = data["similarity_scores"][t]
        score = 1000.0 * (p[None, :] == prev_step_pred[g][:, None]) + sim
        score[sim < threshold - _EPS] = 0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > _EPS
        rows, cols = rows[ok], cols[ok]
        mg, mp = g[rows], p[cols]
        before = last_pred[mg]
        for k in np.flatnonzero((before >= 0) & (before != mp)):
            switches.append(
                SwitchEvent(
                    frame=int(seq.timestep_frame[t]),
                    gt_id=int(seq.gt_id_values[mg[k]]),
                    prev_pred_id=int(seq.pred_id_values[before[k]]),
                    new_pred_id=int(seq.pred_id_values[mp[k]]),
                    camera=str(seq.timestep_camera[t]),
                )
            )
        last_pred[mg] = mp
        prev_step_pred[:] = -1
        prev_step_pred[mg] = mp
        steps.append(np.full(len(mg), t, dtype=np.int64))
        gts.append(mg)
        preds.append(mp)
        sims.append(sim[rows, cols])
    step = np.concatenate([np.zeros(0, np.int64), *steps])
    return ClearMatches(
        frame=seq.timestep_frame[step],
        camera=seq.timestep_camera[step],
        gt_id=seq.gt_id_values[np.concatenate([np.zeros(0, np.int64), *gts])],
        pred_id=seq.pred_id_values[np.concatenate([np.zeros(0, np.int64), *preds])],
        similarity=np.concatenate([np.zeros(0), *sims]),
        switches=switches,
    )
