"""mtmc.eval metrics on hand-made sequences, with the expected values written as arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtmc.eval import (
    FloorTable,
    SwitchEvent,
    box_iou_tlwh,
    clear_matches,
    evaluate_floor,
    evaluate_image,
    evaluate_sequence,
    floor_sequence,
    floor_similarity,
    image_sequence,
    trackeval_results,
)
from mtmc.formats.mot import MotTable

ALPHAS = np.arange(0.05, 0.99, 0.05)  # HOTA's 19 thresholds


def floor(rows: list[tuple[int, int, float, float]]) -> FloorTable:
    """FloorTable from (frame, id, x_m, y_m) tuples."""
    if not rows:
        return FloorTable.empty()
    a = np.asarray(rows, dtype=np.float64)
    return FloorTable(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2:4])


def boxes(rows: list[tuple], **columns: list) -> MotTable:
    """MotTable from (frame, id, left, top, width, height) tuples."""
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return MotTable(frame=a[:, 0], track_id=a[:, 1], tlwh=a[:, 2:6], **columns)


# --- similarities -------------------------------------------------------------------------------


def test_floor_similarity_by_hand():
    gt = np.array([[0.0, 0.0], [10.0, 0.0]])
    pred = np.array([[0.6, 0.8], [3.0, 0.0], [0.3, 0.4]])
    sim = floor_similarity(gt, pred)
    assert sim.shape == (2, 3)
    expected = [
        [1 - 1.0 / 2, 0.0, 1 - 0.5 / 2],
        [0.0, 0.0, 0.0],  # 9.4 m, 7 m and 9.7 m away: beyond 2 m
    ]
    np.testing.assert_allclose(sim, expected, atol=1e-12)
    assert floor_similarity(gt, pred, zero_at_m=1.0)[0, 2] == pytest.approx(1 - 0.5 / 1.0)
    assert floor_similarity(np.zeros((0, 2)), pred).shape == (0, 3)
    with pytest.raises(ValueError, match="zero_at_m"):
        floor_similarity(gt, pred, zero_at_m=0.0)


def test_box_iou_by_hand():
    gt = np.array([[0, 0, 10, 10], [0, 0, 0, 10]])  # the second box has zero area
    pred = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [20, 20, 5, 5], [0, 5, 10, 10]])
    iou = box_iou_tlwh(gt, pred)
    expected = [
        [50 / (100 + 100 - 50), 1.0, 0.0, 50 / (100 + 100 - 50)],
        [0.0, 0.0, 0.0, 0.0],
    ]
    np.testing.assert_allclose(iou, expected, atol=1e-12)


# --- floor metrics ------------------------------------------------------------------------------


def test_perfect_floor_tracking_is_100():
    gt = floor([(f, i, f * 0.5 + i, 2.0 * i) for f in range(1, 6) for i in (1, 2, 3)])
    pred = FloorTable(gt.frame, gt.track_id + 100, gt.xy_m)
    m = evaluate_floor(gt, pred)
    for key in ("HOTA", "DetA", "AssA", "LocA", "IDF1", "MOTA", "MOTP"):
        assert m[key] == pytest.approx(100.0), key
    assert m["IDSW"] == 0 and m["CLR_TP"] == 15 and m["GT_IDs"] == 3 and m["IDs"] == 3
    assert m["loc_error_m"] == pytest.approx(0.0)
    assert m["frames"] == 5


def test_floor_hota_with_an_offset_by_hand():
    # One person, two frames; frame 2 predicted 0.45 m off: similarity s = 1 - 0.45 / 2 = 0.775,
    # which matches at alpha 0.05 .. 0.75 (15 alphas) and not at 0.80 .. 0.95 (4 alphas).
    gt = floor([(1, 1, 0.0, 0.0), (2, 1, 1.0, 0.0)])
    pred = floor([(1, 9, 0.0, 0.0), (2, 9, 1.0, 0.45)])
    s = 1 - 0.45 / 2
    assert (ALPHAS <= s).sum() == 15
    m = evaluate_floor(gt, pred)
    # high alphas: TP 1, FN 1, FP 1 -> DetA 1/3; the id pair: 1 match / (2 + 2 - 1) -> AssA 1/3
    assert m["DetA"] == pytest.approx(100 * (15 * 1 + 4 * (1 / 3)) / 19)
    assert m["AssA"] == pytest.approx(100 * (15 * 1 + 4 * (1 / 3)) / 19)
    assert m["HOTA"] == pytest.approx(100 * (15 * 1 + 4 * math.sqrt(1 / 3 * 1 / 3)) / 19)
    assert m["LocA"] == pytest.approx(100 * (15 * (1 + s) / 2 + 4 * 1.0) / 19)
    assert m["MOTA"] == pytest.approx(100.0) and m["IDF1"] == pytest.approx(100.0)
    assert m["MOTP"] == pytest.approx(100 * (1 + s) / 2)
    assert m["loc_error_m"] == pytest.approx((0 + 0.45) / 2)


def test_floor_match_threshold_is_one_metre():
    # CLEAR / Identity match at similarity >= 0.5, i.e. d <= 1 m exactly.
    gt = floor([(1, 1, 0.0, 0.0), (2, 1, 0.0, 0.0)])
    at_1m = evaluate_floor(gt, floor([(1, 5, 1.0, 0.0), (2, 5, 0.0, 1.0)]))
    assert at_1m["CLR_TP"] == 2 and at_1m["IDTP"] == 2
    beyond = evaluate_floor(gt, floor([(1, 5, 1.01, 0.0), (2, 5, 0.0, 1.01)]))
    assert beyond["CLR_TP"] == 0 and beyond["IDTP"] == 0
    assert beyond["MOTA"] == pytest.approx(100 * (0 - 2) / 2)  # 2 misses and 2 false positives


def swap_sequence() -> tuple[FloorTable, FloorTable]:
    """Two people 5 m apart for 4 frames; predicted ids 10 and 11 swap at frame 3."""
    gt = floor([(f, i, 5.0 * i, 0.0) for f in range(1, 5) for i in (1, 2)])
    rows = []
    for f in range(1, 5):
        a, b = (10, 11) if f <= 2 else (11, 10)
        rows += [(f, a, 5.0, 0.0), (f, b, 10.0, 0.0)]
    return gt, floor(rows)


def test_one_swap_by_hand():
    gt, pred = swap_sequence()
    m = evaluate_floor(gt, pred)
    assert m["IDSW"] == 2  # both people switch at frame 3
    assert m["MOTA"] == pytest.approx(100 * (8 - 0 - 2) / 8)
    # best id pairing (1-10, 2-11) shares 2 of 4 frames each: IDTP 4, IDFN 8 - 4, IDFP 8 - 4
    idtp, idfn, idfp = 4, 4, 4
    assert (m["IDTP"], m["IDFN"], m["IDFP"]) == (idtp, idfn, idfp)
    assert m["IDF1"] == pytest.approx(100 * 2 * idtp / (2 * idtp + idfp + idfn))
    # HOTA: detection perfect; every TP's id pair has 2 matches / (4 + 4 - 2) frames
    assert m["DetA"] == pytest.approx(100.0)
    assert m["AssA"] == pytest.approx(100 * 2 / (4 + 4 - 2))
    assert m["HOTA"] == pytest.approx(100 * math.sqrt(1.0 * 2 / (4 + 4 - 2)))


def test_misses_and_false_positives_by_hand():
    # One person, 3 frames; tracked in frames 1-2, missed in 3 where a far false positive appears.
    gt = floor([(1, 1, 0.0, 0.0), (2, 1, 0.0, 0.0), (3, 1, 0.0, 0.0)])
    pred = floor([(1, 5, 0.0, 0.0), (2, 5, 0.0, 0.0), (3, 6, 20.0, 0.0)])
    m = evaluate_floor(gt, pred)
    assert (m["CLR_TP"], m["CLR_FN"], m["CLR_FP"]) == (2, 1, 1)
    assert m["MOTA"] == pytest.approx(100 * (2 - 1 - 0) / 3)
    assert m["IDF1"] == pytest.approx(100 * 2 * 2 / (2 * 2 + 1 + 1))
    assert m["DetA"] == pytest.approx(100 * 2 / (2 + 1 + 1))
    assert m["AssA"] == pytest.approx(100 * 2 / (3 + 2 - 2))
    assert m["HOTA"] == pytest.approx(100 * math.sqrt(2 / 4 * 2 / 3))


def test_empty_predictions_and_empty_frames():
    gt = floor([(1, 1, 0.0, 0.0), (3, 1, 0.0, 0.0)])
    m = evaluate_floor(gt, FloorTable.empty())
    assert m["HOTA"] == 0.0 and m["MOTA"] == 0.0 and m["CLR_FN"] == 2 and m["IDFN"] == 2
    assert m["frames"] == 3 and m["loc_error_m"] is None
    # frame 2 has nobody: it changes nothing
    assert evaluate_floor(gt, floor([(1, 4, 0, 0), (3, 4, 0, 0)]))["HOTA"] == pytest.approx(100)


def test_frames_restrict_evaluation_and_count_dropped_rows():
    gt, pred = swap_sequence()
    m = evaluate_floor(gt, pred, frames=[1, 2])  # before the swap
    assert m["IDSW"] == 0 and m["IDF1"] == pytest.approx(100.0) and m["frames"] == 2
    assert m["gt_rows_dropped"] == 4 and m["pred_rows_dropped"] == 4


def test_ids_are_relabelled_to_contiguous_indices():
    gt = floor([(1, 1000, 0, 0), (1, -7, 5, 0), (2, 1000, 0, 0)])
    pred = floor([(1, 42, 0, 0), (2, 3, 0, 0)])
    seq = floor_sequence(gt, pred)
    d = seq.data
    assert d["num_gt_ids"] == 2 and d["num_tracker_ids"] == 2 and d["num_timesteps"] == 2
    assert [ids.tolist() for ids in d["gt_ids"]] == [[0, 1], [1]]  # -7 -> 0, 1000 -> 1
    assert [ids.tolist() for ids in d["tracker_ids"]] == [[1], [0]]  # 3 -> 0, 42 -> 1
    assert seq.gt_id_values.tolist() == [-7, 1000] and seq.pred_id_values.tolist() == [3, 42]
    assert (d["num_gt_dets"], d["num_tracker_dets"]) == (3, 2)


def test_duplicate_ids_and_zero_based_frames_are_errors():
    with pytest.raises(ValueError, match="id 5 occurs twice in frame 2"):
        floor_sequence(floor([(2, 1, 0, 0)]), floor([(2, 5, 0, 0), (2, 5, 1, 0)]))
    with pytest.raises(ValueError, match="1-based"):
        floor_sequence(floor([(0, 1, 0, 0)]), FloorTable.empty())


def test_evaluation_prints_nothing(capsys):
    gt, pred = swap_sequence()
    evaluate_floor(gt, pred)
    assert capsys.readouterr().out == ""


# --- CLEAR matching and switch events ------------------------------------------------------------


def test_clear_matches_lists_the_swap():
    gt, pred = swap_sequence()
    matches = clear_matches(floor_sequence(gt, pred))
    assert len(matches) == 8
    assert sorted(matches.switches) == [
        SwitchEvent(frame=3, gt_id=1, prev_pred_id=10, new_pred_id=11, camera=""),
        SwitchEvent(frame=3, gt_id=2, prev_pred_id=11, new_pred_id=10, camera=""),
    ]
    assert matches.frame.tolist() == [1, 1, 2, 2, 3, 3, 4, 4]


def random_floor_run(seed: int) -> tuple[FloorTable, FloorTable]:
    """People on random walks; predictions with noise, misses, false positives and id swaps."""
    rng = np.random.default_rng(seed)
    n_frames, n_people = 30, 6
    steps = rng.normal(0, 0.3, (n_frames, n_people, 2)).cumsum(0) + rng.uniform(0, 8, (n_people, 2))
    gt_rows, pred_rows = [], []
    pred_id = np.arange(n_people) + 100
    for f in range(n_frames):
        if rng.random() < 0.2:  # swap two predicted ids
            a, b = rng.choice(n_people, 2, replace=False)
            pred_id[[a, b]] = pred_id[[b, a]]
        for i in range(n_people):
            gt_rows.append((f + 1, i + 1, *steps[f, i]))
            if rng.random() < 0.85:
                pred_rows.append((f + 1, pred_id[i], *(steps[f, i] + rng.normal(0, 0.4, 2))))
        if rng.random() < 0.3:
            pred_rows.append((f + 1, 900 + f, *rng.uniform(0, 8, 2)))
    return floor(gt_rows), floor(pred_rows)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clear_matches_agree_with_clear(seed):
    gt, pred = random_floor_run(seed)
    seq = floor_sequence(gt, pred)
    clear = trackeval_results(seq)["CLEAR"]
    matches = clear_matches(seq)
    assert clear["IDSW"] > 0
    assert len(matches.switches) == clear["IDSW"]
    assert len(matches) == clear["CLR_TP"]
    assert matches.similarity.sum() == pytest.approx(clear["MOTP_sum"])


# --- image space, several cameras ----------------------------------------------------------------


def two_camera_gt() -> dict[str, MotTable]:
    """Person 1 seen by both cameras in frames 1-3, person 2 by cam2 only."""
    cam1 = boxes([(f, 1, 10 * f, 50, 40, 100) for f in (1, 2, 3)])
    cam2 = boxes([(f, i, 200 * i + 5 * f, 60, 40, 100) for f in (1, 2, 3) for i in (1, 2)])
    return {"cam1": cam1, "cam2": cam2}


def relabel(table: MotTable, mapping: dict[int, int]) -> MotTable:
    ids = np.array([mapping[int(i)] for i in table.track_id])
    return MotTable(frame=table.frame, track_id=ids, tlwh=table.tlwh)


def test_multi_camera_consistent_global_ids_are_perfect():
    gt = two_camera_gt()
    pred = {cam: relabel(t, {1: 10, 2: 20}) for cam, t in gt.items()}
    m = evaluate_image(gt, pred)
    assert m["IDF1"] == pytest.approx(100.0) and m["HOTA"] == pytest.approx(100.0)
    assert m["IDSW"] == 0 and m["GT_Dets"] == 9 and m["frames"] == 3
    assert m["cameras"] == ["cam1", "cam2"]
    assert set(m["per_camera"]) == {"cam1", "cam2"}


def test_multi_camera_id_change_between_cameras_is_penalised():
    gt = two_camera_gt()
    # person 1 is id 10 in cam1 but id 30 in cam2: each camera alone looks perfect
    pred = {"cam1": relabel(gt["cam1"], {1: 10}), "cam2": relabel(gt["cam2"], {1: 30, 2: 20})}
    m = evaluate_image(gt, pred)
    for cam in ("cam1", "cam2"):
        assert m["per_camera"][cam]["IDF1"] == pytest.approx(100.0)
        assert m["per_camera"][cam]["IDSW"] == 0
    # all cameras at once: person 1 has 6 boxes, 3 under id 10 and 3 under id 30
    idtp = 3 + 3  # person 1 <-> id 10 (cam1), person 2 <-> id 20
    idfn = 3  # person 1's cam2 boxes
    idfp = 3  # id 30
    assert (m["IDTP"], m["IDFN"], m["IDFP"]) == (idtp, idfn, idfp)
    assert m["IDF1"] == pytest.approx(100 * 2 * idtp / (2 * idtp + idfp + idfn))
    assert m["IDSW"] == 1  # person 1, first cam2 frame
    assert m["MOTA"] == pytest.approx(100 * (9 - 0 - 1) / 9)
    events = clear_matches(image_sequence(gt, pred)).switches
    assert events == [(1, 1, 10, 30, "cam2")]


def test_missing_prediction_camera_counts_as_misses_and_unknown_camera_is_an_error():
    gt = two_camera_gt()
    m = evaluate_image(gt, {"cam1": relabel(gt["cam1"], {1: 10})})
    assert m["CLR_FN"] == 6 and m["CLR_TP"] == 3
    assert m["per_camera"]["cam2"]["CLR_FN"] == 6
    with pytest.raises(ValueError, match="cam9"):
        evaluate_image(gt, {"cam9": gt["cam1"]})


def test_visibility_zero_rows_kept_by_default_and_ignored_on_request():
    vis = [1.0, 0.0, 1.0]
    gt = {"cam1": boxes([(f, 1, 0, 0, 50, 100) for f in (1, 2, 3)], visibility=vis)}
    tracked = {"cam1": boxes([(f, 7, 0, 0, 50, 100) for f in (1, 2, 3)])}
    lost = {"cam1": boxes([(f, 7, 0, 0, 50, 100) for f in (1, 3)])}
    keep = evaluate_image(gt, tracked, per_camera=False)
    assert (keep["GT_Dets"], keep["CLR_TP"], keep["CLR_FP"]) == (3, 3, 0)
    assert evaluate_image(gt, lost, per_camera=False)["CLR_FN"] == 1
    ignore = evaluate_image(gt, tracked, min_visibility=0.1, per_camera=False)
    # the hidden row and the prediction on it are both removed: neither TP nor FP
    assert (ignore["GT_Dets"], ignore["Dets"], ignore["CLR_TP"], ignore["CLR_FP"]) == (2, 2, 2, 0)
    assert evaluate_image(gt, lost, min_visibility=0.1, per_camera=False)["MOTA"] == 100.0


def test_mot_preprocessing_distractors_and_zero_marked_rows():
    # frame 1: pedestrian id 1, static person (class 7) id 2, zero-marked pedestrian id 3
    gt = boxes(
        [(1, 1, 0, 0, 50, 100), (1, 2, 200, 0, 50, 100), (1, 3, 400, 0, 50, 100)],
        confidence=[1, 1, 0],
        class_id=[1, 7, 1],
    )
    pred = boxes([(1, 5, 0, 0, 50, 100), (1, 6, 200, 0, 50, 100), (1, 8, 400, 0, 50, 100)])
    m = evaluate_image({"c": gt}, {"c": pred}, per_camera=False)
    # id 6 on the distractor is removed; id 8 on the zero-marked pedestrian stays and is a FP
    assert (m["GT_Dets"], m["Dets"], m["CLR_TP"], m["CLR_FP"]) == (1, 2, 1, 1)


def test_evaluate_sequence_keys_and_types():
    gt, pred = swap_sequence()
    m = evaluate_sequence(floor_sequence(gt, pred))
    for key in ("HOTA", "DetA", "AssA", "LocA", "IDF1", "MOTA"):
        assert isinstance(m[key], float) and 0.0 <= m[key] <= 100.0
    assert isinstance(m["IDSW"], int)
