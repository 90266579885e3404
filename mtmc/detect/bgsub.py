"""``bgsub``: weights-free people detection by background subtraction, for static cameras.

Per camera, per frame:

1. an OpenCV background model (MOG2 by default, KNN on request; one per camera) marks moving
   pixels; pixels it labels as shadow (value 127) are dropped. The model learns fast for the first
   ``WARMUP_FRAMES`` frames (OpenCV's own start-up rate, 1 / (2 n)) and then at 1 /
   ``HISTORY_FRAMES``, so that people who stop for a while are not absorbed into the background
   within seconds (OpenCV's default schedule still learns at 1 / 100 at frame 50);
2. morphology: an opening removes speckle, a tall closing joins a person's head, torso and legs;
3. connected components become boxes; tiny ones are ignored;
4. blobs much wider than one person (``PERSON_WIDTH_TO_HEIGHT`` times the height a person would
   have there) are cut at the emptiest columns into as many people as fit, and blobs much taller
   than one person (two people one behind the other, as an elevated camera sees them) are cut into
   the person standing at the blob's bottom and the person whose head is its top; a cut is kept
   when the pieces fit the size prior better than the whole blob;
5. the calibration's size prior (:class:`~mtmc.detect.prior.PersonSizePrior`) scores each box
   by how well its height matches a 1.5-2.0 m person standing at its foot point; the confidence
   is that fit times how well the blob fills its box.

The background model needs a few seconds of video to settle (it starts empty, and people who stand
still for about a tenth of ``HISTORY_FRAMES`` frames fade into the background). Use it for fixed
cameras only. The constants were tuned on PETS 2009 S2L1 (see ``docs/real_data.md``): a slower
background and a higher ``MOG2_VAR_THRESHOLD`` keep people who stop, without the compression noise
and brightness flicker of real video becoming foreground.

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
from mtmc.detect.prior import BORDER_PX, PERSON_WIDTH_TO_HEIGHT, PersonSizePrior
from mtmc.types import Detections

__all__ = ["BgSubDetector", "boxes_from_mask", "build_priors", "split_blob", "split_stacked"]

# Frames the background model remembers after the warm-up (learning rate 1 / HISTORY_FRAMES): a
# person standing still fades into the background after about a tenth of it (100 frames, 14 s
# at 7 fps). Longer keeps still people longer; shorter follows lighting changes faster.
HISTORY_FRAMES = 1000
# Frames of fast start-up learning (rate 1 / (2 n) at frame n, as OpenCV starts): long enough to
# learn the empty scene and clear the ghosts of people in the first frame.
WARMUP_FRAMES = 20
# Squared Mahalanobis distance for "foreground" (OpenCV's default is 16). 40 ignores the
# compression noise and brightness flicker of real video (PETS S2L1 recall 0.86 -> 0.88 and
# precision 0.74 -> 0.92 with the slow background above); lower it for low-contrast scenes.
MOG2_VAR_THRESHOLD = 40.0
KNN_DIST2_THRESHOLD = 400.0  # squared distance for "foreground" in the KNN model (OpenCV's default)
FOREGROUND = 255  # mask value of foreground; shadows are 127
# Morphology and size limits scale with the frame height (values in units of height / 100).
CLOSE_KERNEL_WH = (1.0, 4.0)  # tall closing: joins body parts split by background-coloured clothes
OPEN_KERNEL_PX = 3  # opening: removes isolated noise pixels
MIN_BLOB_HEIGHT = 2.0  # blobs shorter than this (in height / 100) are ignored
SPLIT_WIDTH_FACTOR = 1.6  # split blobs wider than this many person widths
PERSON_FILL = 0.45  # share of its box a person's silhouette covers at least (fill score 1 above)
# Blobs taller than this many expected person heights (at their foot point) are checked for two
# people standing one behind the other. The fit to the size prior decides whether the cut is kept.
STACK_HEIGHT_FACTOR = 1.2
STACK_END_BAND = 0.08  # share of a person's height at a blob's bottom / top that holds feet / head
# Half-width of the column window a stacked person's box is taken from, in expected person widths.
STACK_HALF_WIDTH = 0.6
# Fixed-point steps for the back person's foot row (row = expected height at that row): the height
# changes slowly with the row, so a few steps converge.
STACK_FOOT_ITERATIONS = 4
MAX_SPLIT_DEPTH = 2  # how often the pieces of a cut blob may be cut again


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
        self._frames_seen: dict[str, int] = {}

    def reset(self) -> None:
        """Forget every camera's background."""
        self._models.clear()
        self._frames_seen.clear()

    def learning_rate(self, camera_id: str) -> float:
        """Learning rate for the camera's next frame: ``1 / (2 n)`` for the n-th frame during the
        warm-up (``WARMUP_FRAMES``), then ``1 / HISTORY_FRAMES``.

        Example: frames 1, 2, 10 and 21 learn at 1/2, 1/4, 1/20 and 1/1000.
        """
        n = self._frames_seen.get(camera_id, 0) + 1
        if n <= WARMUP_FRAMES:
            return 1.0 / (2 * n)  # at most 1 / (2 WARMUP_FRAMES), faster than 1 / HISTORY_FRAMES
        return 1.0 / HISTORY_FRAMES

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
        model = self._model(camera_id)
        raw = model.apply(frame_bgr, learningRate=self.learning_rate(camera_id))
        self._frames_seen[camera_id] = self._frames_seen.get(camera_id, 0) + 1
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

    Components are split when much wider or taller than one person (see the module doc); boxes
    whose size does not fit a person at all (score 0) are dropped.
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
    person_h = prior.expected_height_px(foot, image_wh)
    person_w = prior.expected_width_px(foot, image_wh)
    boxes, areas = [xyxy], [area]
    keep_whole = np.ones(len(ids), bool)
    crowded = np.isfinite(person_h) & (
        (s[:, 2] > SPLIT_WIDTH_FACTOR * person_w) | (s[:, 3] > STACK_HEIGHT_FACTOR * person_h)
    )
    for i in np.flatnonzero(crowded):
        blob = labels[s[i, 1] : s[i, 1] + s[i, 3], s[i, 0] : s[i, 0] + s[i, 2]] == ids[i]
        pieces = _separate(blob, (int(s[i, 0]), int(s[i, 1])), prior, image_wh, depth=0)
        if pieces is not None:
            keep_whole[i] = False
            boxes.append(pieces[0])
            areas.append(pieces[1])
    boxes[0], areas[0] = xyxy[keep_whole], area[keep_whole]
    xyxy = np.concatenate(boxes)
    area = np.concatenate(areas)
    box_area = np.maximum((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1.0)
    fill = np.clip(area / box_area / PERSON_FILL, 0.0, 1.0)
    score = prior.fit(xyxy, image_wh) * fill
    keep = score > 0
    return xyxy[keep].astype(np.float32), score[keep].astype(np.float32)


def _separate(
    blob: np.ndarray,
    origin_xy: tuple[int, int],
    prior: PersonSizePrior,
    image_wh: tuple[int, int],
    depth: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut one blob (cropped to its box at ``origin_xy`` in the image) into people.

    Tries a side-by-side cut (:func:`split_blob`) when the blob is too wide, else a stacked cut
    (:func:`split_stacked`); a cut is kept when its pieces fit the size prior at least as well as
    the whole blob. Side-by-side pieces are cut again (up to ``MAX_SPLIT_DEPTH``).

    Returns:
        (K, 4) float64 image xyxy boxes and (K,) pixel counts, or None when the blob stays whole.
    """
    h, w = blob.shape
    x0, y0 = origin_xy
    whole = np.array([[x0, y0, x0 + w, y0 + h]], np.float64)
    whole_fit = prior.fit(whole, image_wh)[0]
    person_w = prior.expected_width_px(np.array([[x0 + w / 2, y0 + h]]), image_wh)[0]
    if not np.isfinite(person_w):
        return None
    if w > SPLIT_WIDTH_FACTOR * person_w:
        pieces, counts = split_blob(blob, person_w)
        pieces = pieces + [x0, y0, x0, y0]
        if len(pieces) >= 2 and prior.fit(pieces, image_wh).mean() >= whole_fit:
            if depth >= MAX_SPLIT_DEPTH:
                return pieces, counts
            boxes, areas = [], []
            for box, count in zip(pieces.astype(np.int64), counts, strict=True):
                part = blob[box[1] - y0 : box[3] - y0, box[0] - x0 : box[2] - x0]
                cut = _separate(part, (int(box[0]), int(box[1])), prior, image_wh, depth + 1)
                boxes.append(box[None].astype(np.float64) if cut is None else cut[0])
                areas.append(np.array([count], np.float64) if cut is None else cut[1])
            return np.concatenate(boxes), np.concatenate(areas)
    pieces, counts = split_stacked(blob, origin_xy, prior, image_wh)
    if len(pieces) >= 2 and prior.fit(pieces, image_wh).mean() >= whole_fit:
        return pieces, counts
    return None


def split_stacked(
    blob: np.ndarray,
    origin_xy: tuple[int, int],
    prior: PersonSizePrior,
    image_wh: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a blob much taller than one person into the front and the back person.

    A camera looking down at the floor sees a person further away higher in the image, so two
    people one behind the other make one tall blob. The front person stands at the blob's bottom:
    their box reaches one expected person height up from the lowest pixels. The back person's head
    is the blob's top: their feet are on the row where a person standing there would reach that
    head (found by fixed-point iteration on the size prior), usually hidden behind the front
    person, so that box is amodal. Each box takes the blob's pixels within ``STACK_HALF_WIDTH``
    person widths of the feet / head column, tightened to them.

    Args:
        blob: (H, W) bool, the blob cropped to its box.
        origin_xy: image pixel of the crop's top-left corner.
        prior: the camera's size prior; image_wh: the frame size.

    Returns:
        (2, 4) float64 image xyxy boxes (front, back) and (2,) foreground pixel counts inside them;
        (0, 4) and (0,) when the blob is not taller than ``STACK_HEIGHT_FACTOR`` person heights,
        touches the top or bottom image border, or the prior knows no height there.

    Example: a camera 6 m up with f = 500 px, looking down at the floor 8 m away, sees a 1.7 m
    person 6 m away as 82 px tall; someone 1 m further back is 79 px tall with their feet 39 px
    higher. The two make a blob 39 + 79 = 118 px tall (1.43 person heights), cut into an 82 px
    front box and a 79 px back box that ends at the hidden feet, 39 px above the blob's bottom.
    """
    none = np.zeros((0, 4)), np.zeros(0)
    h, w = blob.shape
    x0, y0 = origin_xy
    if y0 <= BORDER_PX or y0 + h >= image_wh[1] - BORDER_PX:
        return none
    def height_at(x: float, y: float) -> float:  # expected person height at crop pixel (x, y)
        return float(prior.expected_height_px(np.array([[x0 + x, y0 + y]]), image_wh)[0])

    person_h = height_at(w / 2, h)
    if not np.isfinite(person_h) or h <= STACK_HEIGHT_FACTOR * person_h:
        return none
    band = max(2, int(round(STACK_END_BAND * person_h)))
    # 1. front person: feet are the lowest pixels
    foot_x = float(np.flatnonzero(blob[h - band :].any(axis=0)).mean())
    front_h = height_at(foot_x, h)
    half_width = STACK_HALF_WIDTH * PERSON_WIDTH_TO_HEIGHT
    front = _window_box(blob, h - front_h, h, foot_x, half_width * front_h)
    # 2. back person: head is the highest pixels; find the foot row y with y = height(y)
    head_x = float(np.flatnonzero(blob[:band].any(axis=0)).mean())
    foot_y = h / 2.0
    for _ in range(STACK_FOOT_ITERATIONS):
        foot_y = height_at(head_x, foot_y)
        if not np.isfinite(foot_y):
            return none
    back_h = height_at(head_x, foot_y)  # the back person's height where their feet ended up
    if not np.isfinite(back_h):
        return none
    back = _window_box(blob, 0, min(foot_y, h), head_x, half_width * back_h)
    if front is None or back is None:
        return none
    back[0][3] = max(back[0][3], min(foot_y, h))  # the hidden feet: down to where they stand
    boxes = np.array([front[0], back[0]], np.float64) + [x0, y0, x0, y0]
    return boxes, np.array([front[1], back[1]], np.float64)


def _window_box(
    blob: np.ndarray, row0: float, row1: float, centre_x: float, half_width: float
) -> tuple[list[float], float] | None:
    """Tight box (crop xyxy) and pixel count of the blob's pixels in rows [row0, row1) and
    columns centre_x +- half_width; None when there are none."""
    h, w = blob.shape
    r0, r1 = max(0, int(round(row0))), min(h, int(round(row1)))
    c0 = max(0, int(round(centre_x - half_width)))
    c1 = min(w, int(round(centre_x + half_width)) + 1)
    part = blob[r0:r1, c0:c1]
    rows = np.flatnonzero(part.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(part.any(axis=0))
    box = [c0 + cols[0], r0 + rows[0], c0 + cols[-1] + 1.0, r0 + rows[-1] + 1.0]
    return [float(v) for v in box], float(part.sum())


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
