"""The yolo backend with a tiny randomly initialised model: the call path, not accuracy.

The model is built from ultralytics' bundled ``yolov8n.yaml`` (no download) and saved to a temp
folder. Every socket connection and DNS look-up is refused while these tests run (``no_network``
in conftest.py), so any attempt of ultralytics to go online fails the test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mtmc.config import DetectorConfig
from mtmc.detect import build_detector
from mtmc.detect.yolo import YoloDetector
from mtmc.types import SOURCE_INDEX

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mtmc.detect._ultralytics import import_ultralytics

    ultralytics = import_ultralytics()
    path = tmp_path_factory.mktemp("yolo") / "tiny.pt"
    model = ultralytics.YOLO("yolov8n.yaml", task="detect")  # random weights, 80 COCO classes
    model.save(str(path))
    return path


def test_missing_weights_is_one_clear_error(tmp_path: Path) -> None:
    cfg = DetectorConfig(backend="yolo", weights=tmp_path / "person.pt")
    with pytest.raises(ValueError, match=r"^detector.weights: file not found: .*person.pt$"):
        YoloDetector(cfg)
    (tmp_path / "person.tflite").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported format '.tflite'"):
        YoloDetector(DetectorConfig(backend="yolo", weights=tmp_path / "person.tflite"))


def test_offline_switches_are_set(tiny_weights: Path) -> None:
    import ultralytics.utils

    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "False"
    assert ultralytics.utils.ONLINE is False


def test_detect_one_batch_for_all_cameras(tiny_weights: Path) -> None:
    cfg = DetectorConfig(backend="yolo", weights=tiny_weights, confidence_min=0.0, image_size_px=64, device="cpu")
    det = build_detector(cfg, [], {})
    assert isinstance(det, YoloDetector)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), rng.integers(0, 255, (90, 200, 3), dtype=np.uint8)]
    metas = [{"camera_id": "cam1", "frame": 5, "t_s": 0.4}, {"camera_id": "cam2", "frame": 5, "t_s": 0.41}]
    out = det.detect(frames, metas)
    assert len(det.model.predictor.batch[1]) == 2  # both frames went through one forward pass
    assert [d.meta for d in out] == metas
    for dets, frame in zip(out, frames, strict=True):
        # a random network scores everything near 0; with confidence_min 0 the person rows remain
        assert len(dets) > 0
        assert (dets.class_id == 0).all() and (dets.confidence >= 0).all()
        assert dets.data[SOURCE_INDEX].tolist() == list(range(len(dets)))
        h, w = frame.shape[:2]
        assert (dets.xyxy[:, [0, 2]] <= w + 1e-3).all() and (dets.xyxy[:, [1, 3]] <= h + 1e-3).all()
    high = DetectorConfig(backend="yolo", weights=tiny_weights, confidence_min=0.99, image_size_px=64, device="cpu")
    assert [len(d) for d in YoloDetector(high).detect(frames, metas)] == [0, 0]
    assert det.detect([], []) == []
