"""Detection metrics: COCO-style AP with ignore regions, and recall at a confidence threshold.

Pure functions on arrays. Boxes are ``xyxy`` pixels. A ground-truth box can be *ignored*: a
prediction that matches it is neither a true nor a false positive, and it is not counted as missed.
That is how the visibility split is scored: for "people at least half visible" the others are
ignored, so a detector is not punished for finding a person behind a shelf, nor rewarded.

Matching follows COCO: per frame, predictions in descending score order each take the unmatched,
non-ignored ground truth of highest IoU (at least ``iou_min``); a prediction left over that overlaps
an ignored box by ``iou_min`` is ignored; anything else is a false positive. AP is the area under
the pooled precision/recall curve with ultralytics' 101-point interpolation (``compute_ap``), so our
figures read like those of ``yolo val``.

Example::

    frames = [FrameBoxes(pred_xyxy, pred_score, gt_xyxy, gt_ignore), ...]
    m = detection_metrics(frames, confidence_min=0.3)   # {"mAP50": ..., "mAP50-95": ..., ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "IOU_THRESHOLDS",
    "FrameBoxes",
    "average_precision",
    "box_iou_xyxy",
    "detection_metrics",
    "match_frame",
]

IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())  # COCO's 0.50:0.05:0.95

TP, FP, IGNORED = 1, 0, -1


@dataclass(frozen=True)
class FrameBoxes:
    """Predictions and ground truth of one image.

    Attributes:
        pred_xyxy: (P, 4) predicted boxes, pixels.
        pred_score: (P,) confidences.
        gt_xyxy: (G, 4) ground-truth boxes, pixels.
        gt_ignore: (G,) bool, True for boxes that count neither way.
    """

    pred_xyxy: np.ndarray
    pred_score: np.ndarray
    gt_xyxy: np.ndarray
    gt_ignore: np.ndarray


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) intersection over union of two sets of xyxy boxes (0 where a box has no area)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    wh = np.clip(
        np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None
    )
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_frame(frame: FrameBoxes, iou_min: float) -> np.ndarray:
    """Per prediction (in the given order): 1 true positive, 0 false positive, -1 ignored."""
    n_pred = len(frame.pred_score)
    outcome = np.full(n_pred, FP, dtype=np.int8)
    if n_pred == 0 or len(frame.gt_xyxy) == 0:
        return outcome
    iou = box_iou_xyxy(frame.pred_xyxy, frame.gt_xyxy)
    ignore = np.asarray(frame.gt_ignore, dtype=bool)
    taken = np.zeros(len(ignore), dtype=bool)
    for p in np.argsort(-np.asarray(frame.pred_score), kind="stable"):
        free = np.where(~ignore & ~taken, iou[p], -1.0)
        g = int(np.argmax(free))
        if free[g] >= iou_min:
            outcome[p] = TP
            taken[g] = True
        elif ignore.any() and iou[p][ignore].max() >= iou_min:
            outcome[p] = IGNORED
    return outcome


def average_precision(scores: np.ndarray, outcome: np.ndarray, n_gt: int) -> float:
    """AP of pooled predictions (``outcome`` from :func:`match_frame`; ignored ones are dropped).

    Returns 0.0 when there is no ground truth or no scored prediction.
    """
    from mtmc.detect._ultralytics import import_ultralytics

    import_ultralytics()
    from ultralytics.utils.metrics import compute_ap

    keep = outcome != IGNORED
    scores, hits = np.asarray(scores)[keep], np.asarray(outcome)[keep] == TP
    if n_gt == 0 or len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp_cum = np.cumsum(hits[order])
    recall = tp_cum / n_gt
    precision = tp_cum / np.arange(1, len(order) + 1)
    ap, _, _ = compute_ap(recall, precision)
    return float(ap)


def detection_metrics(frames: Sequence[FrameBoxes], confidence_min: float) -> dict[str, float]:
    """mAP50, mAP50-95, and recall / precision of the predictions scored ``>= confidence_min``.

    Returns:
        ``{"mAP50", "mAP50-95", "recall", "precision", "n_gt", "n_pred"}``; AP, recall and
        precision are fractions in [0, 1]; counts exclude ignored boxes and predictions.
    """
    n_gt = int(sum(int((~np.asarray(f.gt_ignore, dtype=bool)).sum()) for f in frames))
    scores = (
        np.concatenate([np.asarray(f.pred_score, dtype=np.float64) for f in frames])
        if frames
        else np.zeros(0)
    )
    aps = {}
    for iou_min in IOU_THRESHOLDS:
        outcome = (
            np.concatenate([match_frame(f, iou_min) for f in frames]) if frames else np.zeros(0, np.int8)
        )
        aps[iou_min] = average_precision(scores, outcome, n_gt)
        if iou_min == 0.5:
            at_conf = (scores >= confidence_min) & (outcome != IGNORED)
            n_tp = int((outcome[at_conf] == TP).sum())
            n_pred = int(at_conf.sum())
    return {
        "mAP50": aps[0.5],
        "mAP50-95": float(np.mean(list(aps.values()))),
        "recall": n_tp / n_gt if n_gt else 0.0,
        "precision": n_tp / n_pred if n_pred else 0.0,
        "n_gt": n_gt,
        "n_pred": n_pred,
    }
