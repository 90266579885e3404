"""Floor mapping stage: each box's foot point -> floor position (metres), ROI filter, fusion weight.

Example::

    mapper = FloorMapper(camera, roi_floor_m=[[0, 0], [30, 0], [30, 20], [0, 20]])
    dets = mapper.update(dets)     # adds floor_xy_m (N, 2) (NaN: outside the ROI / above the
                                   # horizon) and quality (N,)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from calib import Camera
from mtmc.associate import QUALITY
from mtmc.types import FLOOR_XY, Detections

__all__ = ["FloorMapper", "box_quality"]

TRUNCATED_WEIGHT = 0.1  # boxes cut by the image bottom: their foot point is not the foot
BORDER_MARGIN_PX = 2.0  # a box edge this close to the image edge counts as cut


def box_quality(xyxy: np.ndarray, image_size_wh: tuple[int, int]) -> np.ndarray:
    """Fusion weight of each box's floor point: larger, upright, whole boxes weigh more.

    As in Metropolis RTLS: ``(box area / frame area) / (width / height)`` which is
    ``height^2 / frame area``; boxes cut by the bottom edge of the image get ``TRUNCATED_WEIGHT`` of
    that, because their bottom edge is not where the person stands.

    Example: a 40x100 box in a 1000x500 frame -> 100^2 / 500000 = 0.02.
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    w_img, h_img = image_size_wh
    height = np.maximum(xyxy[:, 3] - xyxy[:, 1], 0.0)
    quality = height**2 / float(w_img * h_img)
    cut = xyxy[:, 3] >= h_img - BORDER_MARGIN_PX
    return np.where(cut, quality * TRUNCATED_WEIGHT, quality)


class FloorMapper:
    """Maps one camera's detections to the floor with its calibration."""

    def __init__(self, camera: Camera, roi_floor_m: Sequence[Sequence[float]] | None = None) -> None:
        self.camera = camera
        self.roi = Polygon(roi_floor_m) if roi_floor_m is not None else None
        if self.roi is not None:
            shapely.prepare(self.roi)

    def update(self, dets: Detections) -> Detections:
        out = dets[np.arange(len(dets))]
        xy = self.camera.to_floor(dets.foot_px) if len(dets) else np.zeros((0, 2))
        if self.roi is not None and len(xy):
            inside = shapely.contains_xy(self.roi, xy[:, 0], xy[:, 1])
            xy[~inside] = np.nan
        out.data[FLOOR_XY] = xy
        out.data[QUALITY] = box_quality(dets.xyxy, self.camera.image_size_wh)
        return out

    def reset(self) -> None:
        """Stateless; present so every stage has the same verbs."""
