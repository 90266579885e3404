"""``bgsub``: weights-free people detection by background subtraction, for static cameras.

Per camera, per frame:

1. an OpenCV background model (MOG2 by default, KNN on request; one per camera) marks moving
   pixels; pixels it labels as shadow (value 127) are dropped;
2. morphology: an opening removes speckle, a tall closing joins a person's head, torso and legs;
3. connected components become boxes; tiny ones are ignored;
4. blobs much wider than one person (``PERSON_WIDTH_TO_HEIGHT`` times the height a person would
   have there) are cut at the emptiest columns into as many people as fit, when the pieces fit
   the size prior better than the whole blob;
5. the calibration's size prior (:class:`~mtmc.detect.prior.PersonSizePrior`) scores each box
   by how well its height matches a 1.5-2.0 m person standing at its foot point; the confidence
   is that fit times how well the blob fills its box.

The background model needs a few seconds of video to settle (it starts empty, and people who stand
still for about ``history`` frames fade into the background). Use it for fixed cameras only.

Example::

    det = BgSubDetector(DetectorConfig(backend="bgsub"), cams_config.cameras, calibrations)
    for frame in video:
        [dets] = det.detect([frame.image_bgr], [{"camera_id": "cam1", "frame": frame.frame, "t_s": frame.t_s}])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import cv2
import numpy as np

from mtmc.config import CameraConfig, DetectorConfig
from mtmc.detect.base import check_batch, detections_from_arrays
from mtmc.detect.prior import PersonSizePrior
from mtmc.types import Detections

__all__ = ["BgSubDetector", "build_priors"]

HISTORY_FRAMES = 500  # frames the background model remembers; still people fade in after ~this
MOG2_VAR_THRESHOLD = 16.0  # squared Mahalanobis distance for "foreground" (OpenCV's default)
KNN_DIST2_THRESHOLD = 400.0  # squared distance for "foreground" in the KNN model (OpenCV's default)
FOREGROUND = 255  # mask value of foreground; shadows are 127
# Morphology and size limits scale with the frame height (values in units of height / 100).
CLOSE_KERNEL_WH = (1.0, 4.0)  # tall closing: joins body parts split by background-coloured clothes
OPEN_KERNEL_PX = 3  # opening: removes isolated noise pixels
MIN_BLOB_HEIGHT = 2.0  # blobs shorter than this (in height / 100) are ignored
SPLIT_WIDTH_FACTOR = 1.6  # split blobs wider than this many person widths
PERSON_FILL = 0.45  # share of its box a person's silhouette covers at least (fill score 1 above)


def build_priors(
    cameras: Sequence[CameraConfig], calibrations: Mapping[str, Any], backend: str
) -> dict[str, PersonSizePrior]:
    """One :class:`PersonSizePrior` per camera; ValueError naming the camera when one is missing."""
    priors = {}
    for cam in cameras:
        if cam.id not in calibrations:
            raise ValueError(
                f"detector.backend {backend!r} needs the calibration of camera {cam.id!r} for its "
                f"person size prior; got calibrations for {sorted(calibrations)}"
            )
        priors[cam.id] = PersonSizePrior(calibrations[cam.id])
    return priors


class BgSubDetector:
    """Background subtraction + calibration size prior; one background model per camera.

    Args:
        cfg: detector config (``confidence_min`` is used).
        cameras: the cameras it will see (each needs a calibration).
        calibrations: camera id -> ``calib`` camera.
        subtractor: ``mog2`` (default: handles gradual light changes well) or ``knn`` (often
            fewer holes in people with low contrast, more false positives on noise).
    """

    def __init__(
        self,
        cfg: DetectorConfig,
        cameras: Sequence[CameraConfig],
        calibrations: Mapping[str, Any],
        *,
        subtractor: Literal["mog2", "knn"] = "mog2",
    ) -> None:
        if subtractor not in ("mog2", "knn"):
            raise ValueError(f"bgsub: subtractor must be 'mog2' or 'knn', got {subtractor!r}")
        self.cfg = cfg
        self.subtractor = subtractor
        self.priors = build_priors(cameras, calibrations, "bgsub")
        self._models: dict[str, cv2.BackgroundSubtractor] = {}

    def reset(self) -> None:
        """Forget every camera's background."""
        self._models.clear()

    def _model(self, camera_id: str) -> cv2.BackgroundSubtractor:
        if camera_id not in self._models:
            if camera_id not in self.priors:
                raise ValueError(
                    f"bgsub: camera {camera_id!r} was not given at construction "
                    f"(known: {sorted(self.priors)})"
                )
            if self.subtractor == "mog2":
                model = cv2.createBackgroundSubtractorMOG2(
                    history=HISTORY_FRAMES, varThreshold=MOG2_VAR_THRESHOLD, detectShadows=True
                )
            else:
                model = cv2.createBackgroundSubtractorKNN(
                    history=HISTORY_FRAMES, dist2Threshold=KNN_DIST2_THRESHOLD, detectShadows=True
                )
            self._models[camera_id] = model
        return self._models[camera_id]

    def foreground(self, frame_bgr: np.ndarray, camera_id: str) -> np.ndarray:
        """Update the camera's background with ``frame_bgr``; (H, W) uint8 cleaned foreground mask
        (255 = moving, shadows removed, after opening and closing)."""
        raw = self._model(camera_id).apply(frame_bgr)
        mask = np.where(raw == FOREGROUND, np.uint8(255), np.uint8(0))
        unit = frame_bgr.shape[0] / 100.0
        open_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (OPEN_KERNEL_PX, OPEN_KERNEL_PX))
        close_wh = (max(3, round(CLOSE_KERNEL_WH[0] * unit)), max(3, round(CLOSE_KERNEL_WH[1] * unit)))
        close_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, close_wh)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, open_k)
        return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close_k)

    def detect(self, frames_bgr: Sequence[np.ndarray], metas: Sequence[dict]) -> list[Detections]:
        """One Detections per frame (see :class:`~mtmc.detect.base.Detector`)."""
        check_batch(frames_bgr, metas)
        out = []
        for frame, meta in zip(frames_bgr, metas, strict=True):
            cam = meta["camera_id"]
            mask = self.foreground(frame, cam)
            xyxy, score = boxes_from_mask(mask, self.priors[cam])
            out.append(detections_from_arrays(xyxy, score, meta, confidence_min=self.cfg.confidence_min))
        return out


def boxes_from_mask(mask: np.ndarray, prior: PersonSizePrior) -> tuple[np.ndarray, np.ndarray]:
    """Foreground mask -> people boxes (M, 4) float32 xyxy and their scores (M,) in [0, 1].

    Components are split when much wider than one person (see the module doc); boxes whose size
    does not fit a person at all (score 0) are dropped.
    """
    h_img, w_img = mask.shape
    image_wh = (w_img, h_img)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:]  # label 0 is the background
    min_h = MIN_BLOB_HEIGHT * h_img / 100.0
    ids = np.flatnonzero(stats[:, cv2.CC_STAT_HEIGHT] >= min_h) + 1
    if len(ids) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    s = stats[ids - 1]
    xyxy = np.stack(
        [s[:, 0], s[:, 1], s[:, 0] + s[:, 2], s[:, 1] + s[:, 3]], axis=1
    ).astype(np.float64)
    area = s[:, cv2.CC_STAT_AREA].astype(np.float64)
    foot = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
    person_w = prior.expected_width_px(foot, image_wh)
    boxes, areas = [xyxy], [area]
    keep_whole = np.ones(len(ids), bool)
    wide = np.flatnonzero(np.isfinite(person_w) & (s[:, 2] > SPLIT_WIDTH_FACTOR * person_w))
    for i in wide:
        blob = labels[s[i, 1] : s[i, 1] + s[i, 3], s[i, 0] : s[i, 0] + s[i, 2]] == ids[i]
        pieces, piece_area = split_blob(blob, person_w[i])
        if len(pieces) < 2:
            continue
        pieces = pieces + [s[i, 0], s[i, 1], s[i, 0], s[i, 1]]
        whole_fit = prior.fit(xyxy[i : i + 1], image_wh)[0]
        if prior.fit(pieces, image_wh).mean() >= whole_fit:
            keep_whole[i] = False
            boxes.append(pieces)
            areas.append(piece_area)
    boxes[0], areas[0] = xyxy[keep_whole], area[keep_whole]
    xyxy = np.concatenate(boxes)
    area = np.concatenate(areas)
    box_area = np.maximum((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1.0)
    fill = np.clip(area / box_area / PERSON_FILL, 0.0, 1.0)
    score = prior.fit(xyxy, image_wh) * fill
    keep = score > 0
    return xyxy[keep].astype(np.float32), score[keep].astype(np.float32)


def split_blob(blob: np.ndarray, person_width_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut one blob (H, W bool, cropped to its box) into ``round(W / person_width_px)`` people.

    Each cut goes through the column with the fewest foreground pixels within half a person width
    of the evenly spaced position; each piece's box is then tightened to its pixels.

    Returns:
        (K, 4) float64 xyxy boxes relative to the crop, and (K,) foreground pixel counts. K < 2
        when the blob is not wide enough to split.

    Example: a blob of two 20-px-wide people side by side with a 2-px gap at columns 20-21 and
    ``person_width_px=20`` is cut at column 20 or 21.
    """
    h, w = blob.shape
    k = int(round(w / person_width_px))
    if k < 2:
        return np.zeros((0, 4)), np.zeros(0)
    columns = blob.sum(axis=0).astype(np.float64)
    half = max(1, int(person_width_px / 2))
    cuts = [0]
    for j in range(1, k):
        centre = int(round(j * w / k))
        lo, hi = max(cuts[-1] + 1, centre - half), min(w - 1, centre + half)
        if lo > hi:
            continue
        cuts.append(lo + int(np.argmin(columns[lo : hi + 1])))
    cuts.append(w)
    boxes, counts = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        part = blob[:, a:b]
        rows = np.flatnonzero(part.any(axis=1))
        cols = np.flatnonzero(part.any(axis=0))
        if len(rows) == 0:
            continue
        boxes.append([a + cols[0], rows[0], a + cols[-1] + 1, rows[-1] + 1])
        counts.append(part.sum())
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(counts, np.float64)
