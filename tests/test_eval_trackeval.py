"""Single-camera figures equal TrackEval's own MOTChallenge evaluation of the same files."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import trackeval

from mtmc.eval import evaluate_mot, image_sequence, trackeval_results
from mtmc.formats.mot import MotTable, read_mot, write_mot

SEQ = "SYN-01"
N_FRAMES = 60


def synthetic_mot(seed: int) -> tuple[MotTable, MotTable]:
    """A crowded sequence and a flawed tracker's output on it.

    Ground truth: 8 walkers whose boxes cross each other, with some rows of distractor class 7
    (static person) and 8, some zero-marked (conf 0) rows and some visibility-0 rows. Results:
    jittered boxes (IoUs spread around 0.5), misses, id swaps, false positives and boxes on
    distractors and zero-marked rows.
    """
    rng = np.random.default_rng(seed)
    n_people = 8
    start = rng.uniform([0, 100], [600, 300], (n_people, 2))
    velocity = rng.uniform(-8, 8, (n_people, 2))
    size = rng.uniform([30, 80], [60, 160], (n_people, 2))
    cls = np.where(rng.random(n_people) < 0.25, rng.choice([7, 8], n_people), 1)
    g_rows, p_rows = [], []
    pred_id = np.arange(n_people) + 1
    for f in range(1, N_FRAMES + 1):
        if rng.random() < 0.15:
            a, b = rng.choice(n_people, 2, replace=False)
            pred_id[[a, b]] = pred_id[[b, a]]
        for i in range(n_people):
            if rng.random() < 0.1:  # person out of view this frame
                continue
            left, top = start[i] + velocity[i] * f
            box = [left, top, *size[i]]
            conf = 0.0 if rng.random() < 0.05 else 1.0
            vis = 0.0 if rng.random() < 0.1 else round(rng.uniform(0.1, 1.0), 3)
            g_rows.append([f, 10 + i, *box, conf, cls[i], vis])
            if rng.random() < 0.8:
                jitter = rng.normal(0, 0.07, 4) * [size[i][0], size[i][1], size[i][0], size[i][1]]
                p_rows.append([f, 100 + pred_id[i], *(np.asarray(box) + jitter), 1.0])
        for k in range(rng.poisson(0.7)):
            p_rows.append([f, 500 + 3 * f + k, *rng.uniform([0, 0, 20, 50], [700, 400, 80, 180]), 1])
    g = np.asarray(g_rows)
    p = np.asarray(p_rows)
    gt = MotTable(frame=g[:, 0], track_id=g[:, 1], tlwh=g[:, 2:6], confidence=g[:, 6],
                  class_id=g[:, 7], visibility=g[:, 8]).sorted()
    pred = MotTable(frame=p[:, 0], track_id=p[:, 1], tlwh=p[:, 2:6], confidence=p[:, 6]).sorted()
    return gt, pred


def trackeval_on_files(root: Path, gt_path: Path, pred_path: Path) -> dict:
    """TrackEval's MotChallenge2DBox + Evaluator on a MOT17-style folder layout, silenced."""
    gt_dir = root / "gt" / SEQ / "gt"
    gt_dir.mkdir(parents=True)
    (gt_dir / "gt.txt").write_bytes(gt_path.read_bytes())
    data_dir = root / "trackers" / "mine" / "data"
    data_dir.mkdir(parents=True)
    (data_dir / f"{SEQ}.txt").write_bytes(pred_path.read_bytes())
    eval_config = {
        "USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
        "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
        "PLOT_CURVES": False, "LOG_ON_ERROR": None, "BREAK_ON_ERROR": True,
    }
    dataset_config = {
        "GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"),
        "OUTPUT_FOLDER": str(root / "out"), "TRACKERS_TO_EVAL": ["mine"], "BENCHMARK": "MOT17",
        "SKIP_SPLIT_FOL": True, "SEQ_INFO": {SEQ: N_FRAMES}, "PRINT_CONFIG": False,
    }
    quiet = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(dict(quiet)),
               trackeval.metrics.Identity(dict(quiet))]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        res, msg = evaluator.evaluate([dataset], metrics)
    assert msg["MotChallenge2DBox"]["mine"] == "Success"
    return res["MotChallenge2DBox"]["mine"][SEQ]["pedestrian"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_camera_equals_trackeval(tmp_path, seed):
    gt, pred = synthetic_mot(seed)
    gt_path = write_mot(tmp_path / "files" / "gt.txt", gt, kind="gt")
    pred_path = write_mot(tmp_path / "files" / "pred.txt", pred, kind="det")
    # the same files, read back by us and by TrackEval
    gt, pred = read_mot(gt_path), read_mot(pred_path)
    assert ((gt.class_id != 1) | (gt.confidence == 0)).sum() > 5  # preprocessing is exercised
    assert (gt.visibility == 0).sum() > 5
    ref = trackeval_on_files(tmp_path / "te", gt_path, pred_path)

    ours = evaluate_mot(gt, pred, num_frames=N_FRAMES)
    for key in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr"):
        assert ours[key] == pytest.approx(100 * np.mean(ref["HOTA"][key]), abs=1e-9), key
    for key in ("MOTA", "MOTP"):
        assert ours[key] == pytest.approx(100 * ref["CLEAR"][key], abs=1e-9), key
    for key in ("IDF1", "IDP", "IDR"):
        assert ours[key] == pytest.approx(100 * ref["Identity"][key], abs=1e-9), key
    for key in ("IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP"):
        assert ours[key] == ref["CLEAR"][key], key
    for key in ("IDTP", "IDFN", "IDFP"):
        assert ours[key] == ref["Identity"][key], key
    for key in ("GT_Dets", "Dets", "GT_IDs", "IDs"):
        assert ours[key] == ref["Count"][key], key
    assert ours["IDSW"] > 0 and 0 < ours["MOTA"] < 100 and 0 < ours["HOTA"] < 100
    assert ours["Dets"] < len(pred)  # predictions on distractors were removed

    # every raw field, every alpha
    raw = trackeval_results(image_sequence({"": gt}, {"": pred}, frames=np.arange(1, N_FRAMES + 1)))
    for metric in ("HOTA", "CLEAR", "Identity"):
        for field, value in ref[metric].items():
            np.testing.assert_allclose(raw[metric][field], value, atol=1e-9, err_msg=field)


def test_rows_after_the_last_frame_are_an_error():
    gt, pred = synthetic_mot(0)
    with pytest.raises(ValueError, match="num_frames=10"):
        evaluate_mot(gt, pred, num_frames=10)
