from __future__ import annotations

import numpy as np
import pytest

from mtmc.types import CAMERA_ID, EMBEDDING, FLOOR_XY, UNSET_TRACK_ID, Detections


def make(n: int = 3, camera: str = "cam1", frame: int = 5) -> Detections:
    xyxy = np.array([[0, 0, 10, 20], [5, 5, 25, 45], [100, 50, 130, 150]], np.float32)[:n]
    return Detections(
        xyxy=xyxy,
        confidence=np.array([0.9, 0.4, 0.7])[:n],
        data={EMBEDDING: np.eye(3, 4, dtype=np.float32)[:n], FLOOR_XY: np.arange(2 * n).reshape(n, 2)},
        meta={CAMERA_ID: camera, "frame": frame},
    )


def test_defaults_and_dtypes() -> None:
    d = Detections(xyxy=[[0, 0, 1, 2]])
    assert d.xyxy.dtype == np.float32 and d.xyxy.shape == (1, 4)
    assert d.confidence.tolist() == [1.0] and d.confidence.dtype == np.float32
    assert d.class_id.tolist() == [0] and d.class_id.dtype == np.int32
    assert d.track_id.tolist() == [UNSET_TRACK_ID] and d.track_id.dtype == np.int64
    assert len(Detections.empty(camera_id="c")) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": np.zeros((3, 5))}, r"xyxy must have shape \(N, 4\), got \(3, 5\)"),
        ({"xyxy": np.zeros(4)}, r"xyxy must have shape \(N, 4\), got \(4,\)"),
        ({"xyxy": np.zeros((2, 4)), "confidence": np.ones(3)}, r"confidence must have shape \(2,\) to match xyxy, got \(3,\)"),
        ({"xyxy": np.zeros((2, 4)), "track_id": np.ones((2, 1))}, r"track_id must have shape \(2,\) to match xyxy, got \(2, 1\)"),
        ({"xyxy": np.zeros((2, 4)), "data": {"embedding": np.ones((3, 8))}}, r"data\['embedding'\] must have 2 rows to match xyxy, got shape \(3, 8\)"),
        ({"xyxy": [[10, 0, 5, 4]]}, r"row 0 is \[10.0, 0.0, 5.0, 4.0\]: x2 < x1 or y2 < y1 \(is it tlwh"),
        ({"xyxy": [[0, 0, np.nan, 4]]}, "NaN or infinite"),
    ],
)
def test_validation_names_the_shape(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


def test_boolean_mask_selection_keeps_columns_and_meta() -> None:
    d = make()
    sub = d[d.confidence > 0.5]
    assert isinstance(sub, Detections)
    assert sub.xyxy.tolist() == [[0, 0, 10, 20], [100, 50, 130, 150]]
    assert sub.data[FLOOR_XY].tolist() == [[0, 1], [4, 5]]
    assert sub.data[EMBEDDING].shape == (2, 4)
    assert sub.meta == {CAMERA_ID: "cam1", "frame": 5}
    with pytest.raises(IndexError, match=r"mask has shape \(2,\), expected \(3,\)"):
        d[np.array([True, False])]


def test_index_selection() -> None:
    d = make()
    assert d[[2, 0]].confidence.tolist() == pytest.approx([0.7, 0.9])
    assert d[1].xyxy.shape == (1, 4)
    assert len(d[1:]) == 2
    assert len(d[np.array([], dtype=int)]) == 0
    with pytest.raises(IndexError, match="row 3 out of range for 3"):
        d[3]


def test_selection_is_a_copy() -> None:
    d = make()
    sub = d[[0]]
    sub.xyxy[0, 0] = 99
    assert d.xyxy[0, 0] == 0


def test_geometry() -> None:
    d = Detections.from_tlwh(np.array([[10, 20, 30, 40]]))
    assert d.xyxy.tolist() == [[10, 20, 40, 60]]
    assert d.tlwh.tolist() == [[10, 20, 30, 40]]
    assert d.width_px.tolist() == [30] and d.height_px.tolist() == [40]
    assert d.foot_px.tolist() == [[25.0, 60.0]]


def test_concatenate_across_cameras_moves_camera_id_to_a_column() -> None:
    a, b = make(2, "cam1"), make(3, "cam2")
    both = Detections.concatenate([a, b])
    assert len(both) == 5
    assert both.data[CAMERA_ID].tolist() == ["cam1", "cam1", "cam2", "cam2", "cam2"]
    assert both.meta == {"frame": 5}  # equal in every part -> stays metadata
    assert both.data[EMBEDDING].shape == (5, 4)
    assert both.confidence.tolist() == pytest.approx([0.9, 0.4, 0.9, 0.4, 0.7])
    # Selecting a camera back out works with the column.
    assert len(both[both.data[CAMERA_ID] == "cam2"]) == 3


def test_concatenate_edge_cases() -> None:
    assert len(Detections.concatenate([])) == 0
    a = make(2)
    b = Detections(xyxy=[[0, 0, 1, 1]], meta={CAMERA_ID: "cam2", "frame": 5})
    with pytest.raises(ValueError, match=r"part 1 has columns \[\], part 0 has \['embedding', 'floor_xy_m'\]"):
        Detections.concatenate([a, b])
    empty = Detections.concatenate([Detections.empty(camera_id="x"), Detections.empty(camera_id="y")])
    assert len(empty) == 0 and empty.data[CAMERA_ID].shape == (0,)


def test_with_data_shares_arrays_and_validates() -> None:
    d = make(2)
    e = d.with_data(score=np.array([1.0, 2.0]))
    assert e.xyxy is d.xyxy and "score" not in d.data and e.data["score"].tolist() == [1.0, 2.0]
    assert e.data[EMBEDDING] is d.data[EMBEDDING]
    with pytest.raises(ValueError, match=r"data\['score'\] must have 2 rows"):
        d.with_data(score=np.zeros(3))
