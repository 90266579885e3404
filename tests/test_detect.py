"""Detector backends without weights (bgsub, hog, file), the size prior and the registry.

The yolo backend has its own file (tests/test_detect_yolo.py) because importing ultralytics is slow.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib import HomographyCamera, PinholeCamera
from calib.io import read_tsai_xml
from mtmc.config import CameraConfig, DetectorConfig
from mtmc.detect import DETECTORS, Detector, build_detector
from mtmc.detect.base import check_batch, detections_from_arrays
from mtmc.detect.bgsub import BgSubDetector, boxes_from_mask, split_blob, split_stacked
from mtmc.detect.file import FileDetector
from mtmc.detect.hog import HogDetector, nms, window_to_person
from mtmc.detect.prior import PERSON_HEIGHT_RANGE_M, PersonSizePrior
from mtmc.formats.cvml import read_cvml
from mtmc.types import SOURCE_INDEX, UNSET_TRACK_ID

W, H = 640, 360
F_PX = 500.0
CAM_HEIGHT_M = 2.0


def level_camera() -> PinholeCamera:
    """Looks horizontally along +y from 2 m up; a person at depth d is 500 * 1.7 / d px tall."""
    return PinholeCamera(
        K=[[F_PX, 0, W / 2], [0, F_PX, H / 2], [0, 0, 1]],
        R_world_to_cam=[[1, 0, 0], [0, 0, -1], [0, 1, 0]],
        t_world_to_cam_m=[0, CAM_HEIGHT_M, 0],
        image_size_wh=(W, H),
        camera_id="cam1",
    )


def cameras(*ids: str) -> list[CameraConfig]:
    return [CameraConfig(id=i, source="unused.mp4", calibration=Path("unused.json")) for i in ids]


def meta(frame: int, camera_id: str = "cam1") -> dict:
    return {"camera_id": camera_id, "frame": frame, "t_s": (frame - 1) / 10}


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) xyxy -> (N, M)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


# --- registry and shared output -------------------------------------------------------------


def test_registry_lists_backends_and_rejects_unknown() -> None:
    assert sorted(DETECTORS) == ["bgsub", "file", "hog", "yolo"]
    cfg = dataclasses.replace(DetectorConfig(), backend="ssd")
    with pytest.raises(KeyError, match=r"unknown detector 'ssd'; choose from \['bgsub', 'file', 'hog', 'yolo'\]"):
        build_detector(cfg, cameras("cam1"), {"cam1": level_camera()})


def test_build_detector_returns_a_detector() -> None:
    det = build_detector(DetectorConfig(backend="bgsub"), cameras("cam1"), {"cam1": level_camera()})
    assert isinstance(det, BgSubDetector) and isinstance(det, Detector)


def test_detections_from_arrays_filters_and_numbers_rows() -> None:
    m = meta(3)
    dets = detections_from_arrays(
        np.array([[0, 0, 10, 20], [5, 5, 15, 25], [1, 1, 2, 2]]), np.array([0.9, 0.2, 0.3]), m,
        confidence_min=0.3,
    )
    assert dets.xyxy.tolist() == [[0, 0, 10, 20], [1, 1, 2, 2]]
    assert dets.confidence.tolist() == pytest.approx([0.9, 0.3])
    assert dets.data[SOURCE_INDEX].tolist() == [0, 1]
    assert dets.class_id.tolist() == [0, 0] and dets.track_id.tolist() == [UNSET_TRACK_ID] * 2
    assert dets.meta == m and dets.meta is not m


def test_check_batch_errors() -> None:
    with pytest.raises(ValueError, match="2 frames but 1 metas"):
        check_batch([None, None], [meta(1)])
    with pytest.raises(ValueError, match=r"metas\[0\] has no 'camera_id'"):
        check_batch([None], [{"frame": 1}])


# --- size prior -------------------------------------------------------------------------------


def test_prior_expected_height_hand_computed() -> None:
    prior = PersonSizePrior(level_camera())
    # feet 10 m ahead: image row 180 + 500 * 2 / 10 = 280; head row 180 + 500 * (2 - 1.7) / 10
    foot = np.array([[W / 2, H / 2 + F_PX * CAM_HEIGHT_M / 10]])
    assert prior.expected_height_px(foot) == pytest.approx([F_PX * 1.7 / 10])
    # the same pixel in a half-size frame: half the height, in the frame's pixels
    assert prior.expected_height_px(foot / 2, image_wh=(W // 2, H // 2)) == pytest.approx([F_PX * 1.7 / 20])
    # above the horizon the feet cannot touch the floor
    assert np.isnan(prior.expected_height_px(np.array([[W / 2, H / 2 - 20]])))[0]


@pytest.mark.parametrize(
    ("height_ratio", "fit"),
    [
        (1.0, 1.0),
        (PERSON_HEIGHT_RANGE_M[0] / 1.7, 1.0),
        (PERSON_HEIGHT_RANGE_M[1] / 1.7, 1.0),
        (PERSON_HEIGHT_RANGE_M[0] / 1.7 / 1.35**0.5, 0.5),  # halfway (in log) to the lower limit
        (PERSON_HEIGHT_RANGE_M[1] / 1.7 * 1.35**0.5, 0.5),
        (PERSON_HEIGHT_RANGE_M[0] / 1.7 / 1.35 / 1.01, 0.0),
        (PERSON_HEIGHT_RANGE_M[1] / 1.7 * 1.35 * 1.01, 0.0),
    ],
)
def test_prior_fit_hand_computed(height_ratio: float, fit: float) -> None:
    prior = PersonSizePrior(level_camera(), tolerance=0.35)
    foot_y = H / 2 + F_PX * CAM_HEIGHT_M / 10
    h = F_PX * 1.7 / 10 * height_ratio
    box = np.array([[300, foot_y - h, 330, foot_y]])
    assert prior.fit(box)[0] == pytest.approx(fit, abs=1e-6)


def test_prior_fit_border_and_horizon() -> None:
    prior = PersonSizePrior(level_camera())
    # cut by the bottom border: only the upper limit applies, so a short box still fits
    assert prior.fit(np.array([[300, H - 40, 330, H]]))[0] == 1.0
    assert prior.fit(np.array([[300, H - 40, 330, H - 10]]))[0] == 0.0
    # feet above the horizon: nothing fits
    assert prior.fit(np.array([[300, 50, 330, 150]]))[0] == 0.0


def test_prior_homography_only_estimates_from_floor_scale() -> None:
    cam = level_camera()
    flat = HomographyCamera(H_img_to_floor=cam.H_img_to_floor, image_size_wh=(W, H))
    foot = np.array([[W / 2, H / 2 + F_PX * CAM_HEIGHT_M / 10]])
    # a level camera: sideways scale 500 px / 10 m, times 1.7 m
    assert PersonSizePrior(flat).expected_height_px(foot) == pytest.approx([F_PX * 1.7 / 10], rel=1e-3)
    short = np.array([[300, foot[0, 1] - 0.6 * 85, 330, foot[0, 1]]])  # 0.6 of a 1.7 m person
    assert PersonSizePrior(cam).fit(short)[0] == 0.0
    assert PersonSizePrior(flat).fit(short)[0] > 0.0  # steep views foreshorten: lower limit relaxed


def test_prior_accepts_pets_ground_truth_and_rejects_wrong_sizes(pets_dir: Path) -> None:
    prior = PersonSizePrior(read_tsai_xml(pets_dir / "calibration" / "View_001.xml"))
    gt = read_cvml(pets_dir / "PETS2009-S2L1.xml").xyxy
    assert (prior.fit(gt) > 0).mean() > 0.97
    half, double = gt.copy(), gt.copy()
    half[:, 1] = gt[:, 3] - (gt[:, 3] - gt[:, 1]) / 2
    double[:, 1] = gt[:, 3] - (gt[:, 3] - gt[:, 1]) * 2
    assert (prior.fit(half) > 0).mean() < 0.05
    assert (prior.fit(double) > 0).mean() < 0.05


# --- bgsub ------------------------------------------------------------------------------------


def body_box(cam: PinholeCamera, x_m: float, y_m: float, height_m: float = 1.7, width_m: float = 0.6) -> np.ndarray:
    foot, head = cam.project([[x_m, y_m, 0.0], [x_m, y_m, height_m]])
    h = foot[1] - head[1]
    w = h * width_m / height_m
    return np.array([foot[0] - w / 2, head[1], foot[0] + w / 2, foot[1]])


def draw(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int]) -> None:
    x1, y1, x2, y2 = np.round(box).astype(int)
    cv2.ellipse(image, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, colour, -1)


class SyntheticScene:
    """A textured static background with blobs drawn as people (seeded noise per frame)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.background = cv2.GaussianBlur(self.rng.integers(0, 255, (H, W, 3), dtype=np.uint8), (0, 0), 3)

    def frame(self, boxes_colours: list[tuple[np.ndarray, tuple[int, int, int]]]) -> np.ndarray:
        noise = self.rng.integers(-4, 5, self.background.shape)
        image = np.clip(self.background.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        for box, colour in boxes_colours:
            draw(image, box, colour)
        return image


def test_bgsub_finds_a_walking_person_and_ignores_a_small_animal() -> None:
    cam = level_camera()
    det = BgSubDetector(DetectorConfig(confidence_min=0.3), cameras("cam1"), {"cam1": cam})
    scene = SyntheticScene()
    for f in range(1, 21):  # learn the empty background
        assert len(det.detect([scene.frame([])], [meta(f)])[0]) == 0 or f < 5
    hits = []
    for k in range(20):
        person = body_box(cam, -2.0 + 0.1 * k, 8.0)
        dog = body_box(cam, 2.5 - 0.05 * k, 6.0, height_m=0.5, width_m=0.6)
        m = meta(21 + k)
        [dets] = det.detect([scene.frame([(person, (40, 40, 200)), (dog, (200, 160, 40))])], [m])
        assert dets.meta == m
        assert (dets.confidence >= 0.3).all() and (dets.class_id == 0).all()
        assert dets.data[SOURCE_INDEX].tolist() == list(range(len(dets)))
        assert (iou(dets.xyxy, dog) < 0.1).all()  # far too short for a person standing there
        if k >= 5:
            assert len(dets) == 1
            hits.append(iou(dets.xyxy, person)[0, 0])
    assert min(hits) > 0.7


def test_bgsub_is_per_camera_and_reset_forgets() -> None:
    cam = level_camera()
    det = BgSubDetector(DetectorConfig(), cameras("cam1", "cam2"), {"cam1": cam, "cam2": cam})
    scene = SyntheticScene(1)
    for f in range(1, 21):
        det.detect([scene.frame([]), scene.frame([])], [meta(f, "cam1"), meta(f, "cam2")])
    person = body_box(cam, 0.0, 8.0)
    # cam1 sees a person; cam2 still sees the empty scene: its model is separate
    d1, d2 = det.detect([scene.frame([(person, (30, 200, 30))]), scene.frame([])], [meta(21, "cam1"), meta(21, "cam2")])
    assert len(d1) == 1 and len(d2) == 0
    assert set(det._models) == {"cam1", "cam2"}
    det.reset()
    assert det._models == {}
    with pytest.raises(ValueError, match="camera 'cam9' was not given"):
        det.detect([scene.frame([])], [meta(1, "cam9")])


def test_bgsub_needs_every_calibration() -> None:
    with pytest.raises(ValueError, match="needs the calibration of camera 'cam2'"):
        BgSubDetector(DetectorConfig(), cameras("cam1", "cam2"), {"cam1": level_camera()})


def test_split_blob_cuts_at_the_gap() -> None:
    blob = np.zeros((50, 42), bool)
    blob[0:50, 0:20] = True  # person 1: columns 0-19
    blob[10:50, 22:42] = True  # person 2: columns 22-41, shorter
    blob[45:50, 20:22] = True  # a thin bridge of shadow joining the two at the bottom
    boxes, counts = split_blob(blob, person_width_px=20.0)
    assert boxes.tolist() == [[0, 0, 20, 50], [20, 10, 42, 50]] or boxes.tolist() == [[0, 0, 21, 50], [21, 10, 42, 50]]
    assert counts.sum() == blob.sum()
    assert len(split_blob(blob[:, :20], person_width_px=20.0)[0]) == 0  # one person: no split


def test_bgsub_splits_two_people_side_by_side() -> None:
    cam = level_camera()
    prior = PersonSizePrior(cam)
    a = body_box(cam, -0.25, 8.0, width_m=0.55)
    b = body_box(cam, 0.25, 8.0, width_m=0.55)
    mask = np.zeros((H, W), np.uint8)
    for box in (a, b):
        draw(mask, box, (255, 255, 255))
    xyxy, score = boxes_from_mask(mask, prior)
    assert len(xyxy) == 2
    overlaps = iou(xyxy, np.stack([a, b]))
    assert overlaps.max(axis=0).min() > 0.75 and (score > 0.5).all()


# --- bgsub: people one behind the other ----------------------------------------------------


def _looking_down() -> PinholeCamera:
    return PinholeCamera.look_at((0.0, -8.0, 6.0), (0.0, 4.0, 0.0), (640, 360), 60.0, "cam1")


def _body_xyxy(cam: PinholeCamera, x_m: float, y_m: float) -> np.ndarray:
    foot, head = cam.project([[x_m, y_m, 0.0], [x_m, y_m, 1.7]])
    h = foot[1] - head[1]
    w = h * 0.6 / 1.7
    return np.array([foot[0] - w / 2, head[1], foot[0] + w / 2, foot[1]])


def _mask_of(boxes: list[np.ndarray]) -> np.ndarray:
    mask = np.zeros((360, 640), np.uint8)
    for box in boxes:
        x1, y1, x2, y2 = np.round(box).astype(int)
        centre, axes = ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2)
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask


def test_bgsub_separates_two_people_one_behind_the_other() -> None:
    cam = _looking_down()
    prior = PersonSizePrior(cam)
    front, back = _body_xyxy(cam, 0.0, 2.0), _body_xyxy(cam, 0.2, 3.0)
    assert back[1] < front[1] < back[3] < front[3]  # the back person's legs overlap the front one
    xyxy, score = boxes_from_mask(_mask_of([back, front]), prior)
    assert len(xyxy) == 2 and (score > 0.5).all()
    overlap = iou(xyxy, np.stack([front, back]))
    assert overlap.max(axis=0).min() > 0.75  # each person found by one box
    assert overlap.argmax(axis=0).tolist() == [0, 1]  # front box first


def test_bgsub_keeps_one_person_whole() -> None:
    cam = _looking_down()
    prior = PersonSizePrior(cam)
    alone = _body_xyxy(cam, 0.0, 2.0)
    mask = _mask_of([alone])
    xyxy, _ = boxes_from_mask(mask, prior)
    assert len(xyxy) == 1 and iou(xyxy, alone)[0, 0] > 0.85
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    blob = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] > 0
    boxes, counts = split_stacked(blob, (int(cols[0]), int(rows[0])), prior, (640, 360))
    assert boxes.shape == (0, 4) and counts.shape == (0,)  # not taller than one person


def test_bgsub_on_pets_finds_most_people(pets_dir: Path) -> None:
    cam = read_tsai_xml(pets_dir / "calibration" / "View_001.xml")
    gt = read_cvml(pets_dir / "PETS2009-S2L1.xml")
    det = BgSubDetector(DetectorConfig(confidence_min=0.3), cameras("cam1"), {"cam1": cam})
    tp = n_det = n_gt = 0
    capture = cv2.VideoCapture(str(pets_dir / "vtest.avi"))
    for f in range(1, 81):
        ok, image = capture.read()
        assert ok
        [dets] = det.detect([image], [meta(f)])
        if f <= 40:  # the background model settles first
            continue
        truth = gt[gt.frame == f].xyxy
        tp += _matches(dets.xyxy, truth, 0.5)
        n_det += len(dets)
        n_gt += len(truth)
    precision, recall = tp / n_det, tp / n_gt
    print(f"bgsub on PETS S2L1 frames 41-80: precision {precision:.3f}, recall {recall:.3f} (IoU 0.5)")
    assert precision > 0.75 and recall > 0.6


def _matches(pred: np.ndarray, truth: np.ndarray, iou_min: float) -> int:
    from scipy.optimize import linear_sum_assignment

    if len(pred) == 0 or len(truth) == 0:
        return 0
    m = iou(pred, truth)
    r, c = linear_sum_assignment(-m)
    return int((m[r, c] >= iou_min).sum())


# --- hog --------------------------------------------------------------------------------------


def test_window_to_person_hand_computed() -> None:
    out = window_to_person(np.array([[0, 0, 64, 128], [600, 300, 664, 428]]), (640, 400))
    assert out[0].tolist() == pytest.approx([16, 0.15 * 128, 48, 128 - 0.15 * 128])
    assert out[1].tolist() == pytest.approx([616, 300 + 0.15 * 128, 640, 400])  # clipped


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    xyxy = np.array([[0, 0, 10, 20], [1, 0, 11, 20], [50, 0, 60, 20]], float)
    assert nms(xyxy, np.array([0.8, 0.9, 0.5]), 0.4, 0.3).tolist() == [1, 2]
    assert nms(xyxy, np.array([0.8, 0.9, 0.1]), 0.4, 0.3).tolist() == [1]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.4, 0.3).tolist() == []


class ScriptedHog:
    """Stands in for cv2.HOGDescriptor: returns fixed windows and records the image size."""

    def __init__(self, rects: list[list[int]], margins: list[float]) -> None:
        self.rects, self.margins, self.sizes = rects, margins, []

    def detectMultiScale(self, image: np.ndarray, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
        self.sizes.append(image.shape[:2])
        return np.array(self.rects).reshape(-1, 4), np.array(self.margins)


def test_hog_scales_back_shrinks_filters_by_size_and_suppresses() -> None:
    cam = level_camera()
    det = HogDetector(DetectorConfig(backend="hog", image_size_px=320, confidence_min=0.3), cameras("cam1"), {"cam1": cam})
    person = body_box(cam, 0.0, 8.0, width_m=0.6)  # 106 px tall at full size
    win = np.empty(4)  # the detection window around it, at the half-size working image
    h, w = (person[3] - person[1]) / (1 - 2 * 0.15), (person[2] - person[0]) / (1 - 2 * 0.25)
    win[:2] = [(person[0] + person[2]) / 2 - w / 2, (person[1] + person[3]) / 2 - h / 2]
    win[2:] = [w, h]
    half = np.round(win / 2).astype(int).tolist()
    dup = [half[0] + 1, half[1], half[2], half[3]]
    tiny = [20, 20, 10, 20]  # 40 px tall at full size, near the horizon: no person fits
    det.hog = ScriptedHog([half, dup, tiny], [1.2, 0.8, 2.0])
    [dets] = det.detect([np.zeros((H, W, 3), np.uint8)], [meta(4)])
    assert det.hog.sizes == [(H // 2, W // 2)]
    assert len(dets) == 1
    assert iou(dets.xyxy, person)[0, 0] > 0.9
    assert dets.confidence[0] == pytest.approx(np.tanh(1.2), abs=1e-6)


def test_hog_on_pets_finds_people_with_few_false_alarms(pets_dir: Path) -> None:
    cam = read_tsai_xml(pets_dir / "calibration" / "View_001.xml")
    gt = read_cvml(pets_dir / "PETS2009-S2L1.xml")
    det = HogDetector(DetectorConfig(backend="hog", image_size_px=1024, confidence_min=0.3), cameras("cam1"), {"cam1": cam})
    capture = cv2.VideoCapture(str(pets_dir / "vtest.avi"))
    tp = n_det = n_gt = 0
    for f in range(1, 5):
        ok, image = capture.read()
        assert ok
        [dets] = det.detect([image], [meta(f)])
        truth = gt[gt.frame == f].xyxy
        tp += _matches(dets.xyxy, truth, 0.5)
        n_det += len(dets)
        n_gt += len(truth)
    print(f"hog on PETS S2L1 frames 1-4 at 1024 px: precision {tp / n_det:.3f}, recall {tp / n_gt:.3f}")
    assert tp / n_det > 0.8 and tp / n_gt > 0.5


# --- file -------------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_detector_reads_once_and_indexes_by_frame(tmp_path: Path) -> None:
    write(tmp_path / "cam1.txt", "\n".join([
        "2,5,10,20,30,60,1,1,0.8",
        "1,7,100,50,20,40,1,1,1.0",
        "2,6,200,50,20,40,1,1,0.0",   # hidden: skipped
        "2,8,300,50,20,40,0,1,1.0",   # "do not consider" flag 0: below confidence_min
        "2,9,400,50,20,40,1,3,1.0",   # MOT class 3 (car): skipped
        "3,5,12,20,30,60,1,1,0.6",
    ]) + "\n")
    write(tmp_path / "cam2.txt", "1,1,5,5,10,20,0.9,-1,-1,-1\n1,-1,50,5,10,20,0.2,-1,-1,-1\n")
    cfg = DetectorConfig(backend="file", file_pattern=str(tmp_path / "{camera}.txt"), confidence_min=0.3)
    det = build_detector(cfg, cameras("cam1", "cam2"), {})
    assert isinstance(det, FileDetector)
    d1, d2 = det.detect([None, None], [meta(2, "cam1"), meta(1, "cam2")])
    assert d1.xyxy.tolist() == [[10, 20, 40, 80]]
    assert d1.data[SOURCE_INDEX].tolist() == [0] and d1.meta == meta(2, "cam1")
    assert d2.xyxy.tolist() == [[5, 5, 15, 25]] and d2.confidence.tolist() == pytest.approx([0.9])
    [empty] = det.detect([None], [meta(99, "cam1")])
    assert len(empty) == 0 and empty.meta["frame"] == 99 and SOURCE_INDEX in empty.data


def test_file_detector_reads_cvml(tmp_path: Path) -> None:
    write(tmp_path / "cam1.xml", """<dataset><frame number="0"><objectlist>
        <object id="3"><box h="40" w="20" xc="50" yc="60"/></object>
        </objectlist></frame></dataset>""")
    det = FileDetector(DetectorConfig(backend="file", file_pattern=str(tmp_path / "{camera}.xml")), cameras("cam1"))
    [dets] = det.detect([None], [meta(1)])  # CVML frame 0 is frame 1
    assert dets.xyxy.tolist() == [[40, 40, 60, 80]]


def test_file_detector_errors(tmp_path: Path) -> None:
    cfg = DetectorConfig(backend="file", file_pattern=str(tmp_path / "{camera}.txt"))
    write(tmp_path / "cam1.txt", "1,1,5,5,10,20,1,1,1\n")
    with pytest.raises(ValueError, match=r"detector.file_pattern: camera 'cam2': file not found: .*cam2.txt"):
        FileDetector(cfg, cameras("cam1", "cam2"))
    write(tmp_path / "cam2.txt", "1,1,5,five\n")
    with pytest.raises(ValueError, match=r"detector.file_pattern: camera 'cam2': .*cam2.txt:1"):
        FileDetector(cfg, cameras("cam1", "cam2"))
    det = FileDetector(cfg, cameras("cam1"))
    with pytest.raises(ValueError, match="camera 'cam3' was not given"):
        det.detect([None], [meta(1, "cam3")])
