"""Detection metrics against hand-computed cases (matching, ignore regions, AP, recall at a threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from mtmc.eval.detection import (
    IOU_THRESHOLDS,
    FrameBoxes,
    average_precision,
    box_iou_xyxy,
    detection_metrics,
    match_frame,
)

G1, G2 = [0, 0, 10, 10], [20, 0, 30, 10]


def frame(preds, scores, gts, ignore=None) -> FrameBoxes:
    gts = np.asarray(gts, dtype=float).reshape(-1, 4)
    return FrameBoxes(
        np.asarray(preds, dtype=float).reshape(-1, 4),
        np.asarray(scores, dtype=float),
        gts,
        np.zeros(len(gts), bool) if ignore is None else np.asarray(ignore, bool),
    )


def test_iou_of_hand_made_boxes():
    iou = box_iou_xyxy([[0, 0, 10, 10]], [[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 20, 30]])
    # half overlap: 50 / (100 + 100 - 50); identical: 1; a box of no area: 0
    np.testing.assert_allclose(iou, [[1 / 3, 1.0, 0.0]])


def test_match_takes_the_highest_score_first_and_each_truth_once():
    # two predictions on G1: the shifted one (IoU 0.78) scores 0.95 and takes it first
    f = frame([[0, 0, 10, 10], [1, 0, 11, 10.5], [50, 50, 60, 60]], [0.9, 0.95, 0.8], [G1])
    assert match_frame(f, 0.5).tolist() == [0, 1, 0]
    assert match_frame(f, 0.9).tolist() == [1, 0, 0]  # at IoU 0.9 only the exact box matches


def test_a_prediction_on_an_ignored_truth_is_ignored_not_false():
    f = frame([[0, 0, 10, 10], [20, 0, 30, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.7], [G1, G2], [False, True])
    assert match_frame(f, 0.5).tolist() == [1, -1, 0]
    # with nothing to match, every prediction is false
    assert match_frame(frame([[0, 0, 1, 1]], [0.5], np.zeros((0, 4))), 0.5).tolist() == [0]


def test_average_precision_of_a_hand_made_ranking():
    # TP (0.9), FP (0.8), TP (0.7) for 2 truths: precision 1 up to recall 0.5, then 2/3 -> 5/6
    ap = average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1]), n_gt=2)
    assert ap == pytest.approx(5 / 6, abs=0.01)
    # a perfect ranking; ultralytics' 101-point rule tops out at 0.995
    assert average_precision(np.array([0.9, 0.8]), np.array([1, 1]), n_gt=2) == pytest.approx(0.995, abs=1e-3)
    # ignored predictions drop out; no truth gives 0
    assert average_precision(np.array([0.9, 0.8]), np.array([1, -1]), n_gt=1) == pytest.approx(0.995, abs=1e-3)
    assert average_precision(np.array([0.9]), np.array([0]), n_gt=0) == 0.0


def test_detection_metrics_pool_frames_and_count_at_the_threshold():
    frames = [
        frame([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [G1, G2]),  # TP, FP, G2 missed
        frame([[20, 0, 30, 10]], [0.2], [G2]),  # TP below the threshold
    ]
    m = detection_metrics(frames, confidence_min=0.5)
    assert m["n_gt"] == 3 and m["n_pred"] == 2
    assert m["recall"] == pytest.approx(1 / 3) and m["precision"] == pytest.approx(1 / 2)
    # ranking TP .9, FP .8, TP .2 over 3 truths: 1/3 at precision 1, 2/3 at 2/3 -> 1/3 + 2/9
    assert m["mAP50"] == pytest.approx(1 / 3 + 2 / 9, abs=0.01)
    # exact boxes match at every IoU threshold, so mAP50-95 equals mAP50
    assert m["mAP50-95"] == pytest.approx(m["mAP50"])
    assert len(IOU_THRESHOLDS) == 10 and IOU_THRESHOLDS[0] == 0.5 and IOU_THRESHOLDS[-1] == 0.95


def test_loose_boxes_lose_only_the_strict_thresholds():
    # IoU of the prediction with the truth is 100 / 121 = 0.826: a hit at 0.50-0.80, a miss above
    m = detection_metrics([frame([[0, 0, 11, 11]], [0.9], [G1])], confidence_min=0.3)
    assert m["mAP50"] == pytest.approx(0.995, abs=1e-3)
    assert m["mAP50-95"] == pytest.approx(0.995 * 7 / 10, abs=1e-3)
