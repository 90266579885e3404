"""MOTChallenge and KITTI readers/writers: round trips, column layouts and errors."""

from __future__ import annotations

import numpy as np
import pytest

from mtmc.formats.kitti import (
    KittiLabels,
    format_kitti,
    kitti_frame_path,
    occlusion_level,
    read_kitti,
    read_kitti_folder,
    write_kitti,
)
from mtmc.formats.mot import MotTable, format_mot, read_mot, write_mot


def _gt_table() -> MotTable:
    return MotTable(
        frame=[2, 1, 1],
        track_id=[7, 9, 7],
        tlwh=[[10, 20, 30, 60], [0, 0, 5.5, 11], [12.25, 21, 30, 61]],
        visibility=[0.5, 1.0, 0.0],
    )


def test_mot_gt_round_trip_sorts_by_frame_then_id(tmp_path):
    path = write_mot(tmp_path / "gt" / "cam1.txt", _gt_table(), kind="gt")
    lines = path.read_text().splitlines()
    assert lines[0] == "2,7,10.00,20.00,30.00,60.00,1,1,0.500"
    table = read_mot(path)
    assert table.frame.tolist() == [1, 1, 2]
    assert table.track_id.tolist() == [7, 9, 7]
    np.testing.assert_allclose(table.tlwh[0], [12.25, 21, 30, 61])
    np.testing.assert_allclose(table.visibility, [0.0, 1.0, 0.5])
    assert table.class_id.tolist() == [1, 1, 1]
    np.testing.assert_allclose(table.xyxy[0], [12.25, 21, 12.25 + 30, 21 + 61])
    np.testing.assert_allclose(table.foot_px[0], [12.25 + 30 / 2, 21 + 61])


def test_mot_det_file_has_ten_columns_and_unknown_visibility(tmp_path):
    dets = MotTable(frame=[3], track_id=[-1], tlwh=[[1, 2, 3, 4]], confidence=[0.875])
    text = format_mot(dets, kind="det")
    assert text == "3,-1,1.00,2.00,3.00,4.00,0.875,-1,-1,-1\n"
    (tmp_path / "det.txt").write_text(text)
    back = read_mot(tmp_path / "det.txt")
    assert back.confidence.tolist() == [0.875]
    assert back.visibility.tolist() == [-1.0] and back.class_id.tolist() == [-1]


def test_mot_reader_accepts_whitespace_and_six_columns(tmp_path):
    (tmp_path / "a.txt").write_text("1 4 10 20 30 40\n\n2 4 11 21 30 40\n")
    table = read_mot(tmp_path / "a.txt")
    assert len(table) == 2 and table.confidence.tolist() == [1.0, 1.0]
    assert len(table[table.frame == 2]) == 1


def test_mot_empty_file_gives_empty_table(tmp_path):
    (tmp_path / "e.txt").write_text("")
    table = read_mot(tmp_path / "e.txt")
    assert len(table) == 0 and table.tlwh.shape == (0, 4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,2,3\n", "expected 6 to 10"),
        ("1,2,3,4,5,x\n", "non-numeric"),
        ("1,2,3,4,5,6\n1,2,3,4,5,6,1\n", "columns"),
    ],
)
def test_mot_reader_errors_name_file_and_line(tmp_path, text, problem):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(ValueError, match=problem) as info:
        read_mot(tmp_path / "bad.txt")
    assert "bad.txt:" in str(info.value)


def test_mot_missing_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_mot(tmp_path / "nope.txt")


def test_mot_table_rejects_mismatched_columns():
    with pytest.raises(ValueError, match="visibility has 2 rows"):
        MotTable(frame=[1], track_id=[1], tlwh=[[0, 0, 1, 1]], visibility=[1, 1])


def test_occlusion_levels_follow_the_project_thresholds():
    assert occlusion_level([1.0, 0.8, 0.79, 0.4, 0.39, 0.0]).tolist() == [0, 0, 1, 1, 2, 2]


def _kitti() -> KittiLabels:
    return KittiLabels(
        type=["Person", "Person"],
        truncated=[0.0, 0.25],
        occluded=[1, 0],
        alpha=[-1.57, 0.5],
        xyxy=[[412.3, 120.8, 470.1, 301.55], [0, 10, 20, 90]],
        dimensions_hwl_m=[[1.74, 0.52, 0.3], [1.6, 0.5, 0.3]],
        location_xyz_m=[[-1.2, 2.95, 11.4], [3, 2, 8]],
        rotation_y=[-1.6, 0.1],
        track_id=[7, 12],
    )


def test_kitti_line_layout_is_fifteen_fields_plus_id():
    line = format_kitti(_kitti()).splitlines()[0]
    assert (
        line
        == "Person 0.00 1 -1.57 412.30 120.80 470.10 301.55 1.74 0.52 0.30 -1.20 2.95 11.40 -1.60 7"
    )
    assert len(format_kitti(_kitti(), with_id=False).splitlines()[1].split()) == 15


def test_kitti_round_trip_and_folder_reader(tmp_path):
    root = tmp_path / "labels" / "kitti"
    labels = _kitti()
    write_kitti(kitti_frame_path(root, "cam1", 12), labels)
    write_kitti(kitti_frame_path(root, "cam1", 3), labels[np.array([False, True])])
    assert kitti_frame_path(root, "cam1", 12).name == "000012.txt"
    one = read_kitti(root / "cam1" / "000012.txt")
    assert one.frame.tolist() == [12, 12]
    assert one.track_id.tolist() == [7, 12]
    np.testing.assert_allclose(one.xyxy, labels.xyxy, atol=0.005)
    np.testing.assert_allclose(one.location_xyz_m, labels.location_xyz_m)
    assert one.occluded.tolist() == [1, 0]
    folder = read_kitti_folder(root / "cam1")
    assert folder.frame.tolist() == [3, 12, 12]
    assert folder.track_id.tolist() == [12, 7, 12]
    assert folder.type.tolist() == ["Person"] * 3


def test_kitti_fifteen_fields_give_unknown_id(tmp_path):
    (tmp_path / "000001.txt").write_text("Car 0 0 0 1 2 3 4 1 1 1 0 0 5 0\n")
    labels = read_kitti(tmp_path / "000001.txt")
    assert labels.track_id.tolist() == [-1] and labels.type.tolist() == ["Car"]


def test_kitti_empty_file_is_an_empty_frame(tmp_path):
    (tmp_path / "000004.txt").write_text("")
    assert len(read_kitti(tmp_path / "000004.txt")) == 0


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Person 0 0 0 1 2 3 4\n", "expected 15"),
        ("Person 0 0 0 1 2 3 4 1 1 1 0 0 5 0 0.93\n", "integer person id"),
        ("Person 0 0 a 1 2 3 4 1 1 1 0 0 5 0 1\n", "non-numeric"),
    ],
)
def test_kitti_reader_errors(tmp_path, line, problem):
    (tmp_path / "000001.txt").write_text(line)
    with pytest.raises(ValueError, match=problem):
        read_kitti(tmp_path / "000001.txt")


def test_kitti_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_kitti_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no KITTI label files"):
        read_kitti_folder(tmp_path)
