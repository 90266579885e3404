"""mtmc.detect.cache: snapping cached detections to the ground truth (a diagnostic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script

from mtmc.config import DetectorConfig
from mtmc.detect.cache import snap_to_ground_truth, snapped_detector
from mtmc.formats.mot import MotTable, read_mot, write_mot


def table(frames, boxes_tlwh, visibility=None, scores=None) -> MotTable:
    n = len(frames)
    return MotTable(frame=np.array(frames), track_id=np.full(n, -1), tlwh=np.array(boxes_tlwh, float),
                    confidence=None if scores is None else np.array(scores, float),
                    visibility=None if visibility is None else np.array(visibility, float))


def test_a_matching_detection_takes_the_ground_truth_box_and_others_stay() -> None:
    det = table([1, 1], [[0, 0, 10, 20], [50, 0, 10, 20]], scores=[0.9, 0.4])
    gt = table([1], [[1, 0, 10, 20]])  # IoU with the first: 9 * 20 / (11 * 20) = 0.82
    out = snap_to_ground_truth(det, gt)
    np.testing.assert_array_equal(out.tlwh, [[1, 0, 10, 20], [50, 0, 10, 20]])
    np.testing.assert_array_equal(out.confidence, [0.9, 0.4])
    np.testing.assert_array_equal(out.frame, [1, 1])


def test_matching_is_one_to_one_per_frame_above_the_iou_floor() -> None:
    # two detections over one person: the better overlap (IoU 0.9 against 0.73) takes the box
    det = table([1, 1, 2], [[0, 0, 10, 20], [1, 0, 10, 20], [0, 0, 10, 20]])
    gt = table([1, 2], [[2, 0, 9, 20], [0, 12, 10, 20]])  # frame 2: IoU 80 / 320 = 0.25
    out = snap_to_ground_truth(det, gt)
    np.testing.assert_array_equal(out.tlwh, [[0, 0, 10, 20], [2, 0, 9, 20], [0, 0, 10, 20]])


def test_hidden_ground_truth_people_are_not_snapped_to() -> None:
    det = table([3], [[0, 0, 10, 20]])
    gt = table([3], [[0, 0, 10, 20]], visibility=[0.0])
    np.testing.assert_array_equal(snap_to_ground_truth(det, gt).tlwh, [[0, 0, 10, 20]])


def test_snapped_detector_writes_a_snapped_copy_beside_the_cache(tmp_path: Path) -> None:
    scene, cache = tmp_path / "scene", tmp_path / "cache" / "abc_640"
    (scene / "gt").mkdir(parents=True)
    cache.mkdir(parents=True)
    write_mot(cache / "cam1.txt", table([1], [[0, 0, 10, 20]], scores=[0.7]), kind="det")
    write_mot(scene / "gt" / "cam1.txt", table([1], [[1, 0, 10, 20]], visibility=[1.0]))
    cached = DetectorConfig(backend="file", file_pattern=str(cache / "{camera}.txt"), confidence_min=0.3)
    out = snapped_detector(scene, ["cam1"], cached)
    assert out.file_pattern == str((tmp_path / "cache" / "abc_640_snapped").resolve() / "{camera}.txt")
    assert out.confidence_min == 0.3
    snapped = read_mot(out.file_pattern.format(camera="cam1"))
    np.testing.assert_array_equal(snapped.tlwh, [[1, 0, 10, 20]])
    np.testing.assert_allclose(snapped.confidence, [0.7])
    (scene / "gt" / "cam1.txt").unlink()
    with pytest.raises(ValueError, match=r"gt/cam1.txt: not found"):
        snapped_detector(scene, ["cam1"], cached)


def test_accuracy_runs_snaps_only_cached_detections(tmp_path: Path) -> None:
    accuracy_runs = load_script("accuracy_runs")
    from tiny_scene import write_scene

    scene = write_scene(tmp_path, seconds=1.0).parent
    with pytest.raises(ValueError, match="yolo-exact snaps the cached detections: drop --no-cache"):
        accuracy_runs.configure(scene, "yolo-exact", None, None, cache=None)
