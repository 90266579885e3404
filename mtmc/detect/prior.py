"""How tall a standing person looks at each image point, from the camera calibration.

The weights-free detectors (``bgsub``, ``hog``) find many things that are not people: shadows,
cars, trees moving in the wind, groups merged into one blob. A calibrated camera knows how tall a
1.7 m person standing at a given floor point appears, which rejects most of them:

1. the box's bottom-centre pixel (the feet) is mapped to the floor (``camera.to_floor``);
2. the head point 1.7 m above that floor point is projected back (``camera.project``);
3. the expected height is the vertical pixel distance between feet and head.

A box whose height corresponds to a person of 1.5 to 2.0 m scores 1; the score falls to 0 at a
relative ``tolerance`` beyond that range (loose boxes, bent people, partial silhouettes). Boxes
touching the top or bottom image border may be cut off, so only the upper limit applies to them.

Homography-only calibrations (:class:`calib.HomographyCamera`) know the floor but not heights.
For them the expected height is estimated from the floor scale across the image row at the feet
(pixels per metre sideways times 1.7 m). That is right for cameras looking roughly horizontally and
too large for steep ones (a person seen from above is foreshortened), so the lower limit is
relaxed by ``HOMOGRAPHY_TILT_SLACK``.

Example::

    prior = PersonSizePrior(cam)
    prior.expected_height_px(np.array([[480.0, 400.0]]))   # (1,) pixels, NaN above the horizon
    keep = prior.fit(xyxy) > 0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PERSON_HEIGHT_M",
    "PERSON_HEIGHT_RANGE_M",
    "PERSON_WIDTH_TO_HEIGHT",
    "PersonSizePrior",
]

PERSON_HEIGHT_M = 1.7  # the reference height projected at every floor point
PERSON_HEIGHT_RANGE_M = (1.5, 2.0)  # heights that fit perfectly (score 1)
# Typical box width / height of a walking adult (shoulders, swinging arms and legs; the median of
# the PETS 2009 S2L1 ground truth is 0.355). Blobs much wider than this are split into people.
PERSON_WIDTH_TO_HEIGHT = 0.36
# Homography-only cameras over-estimate heights by 1 / cos(tilt): allow boxes this much shorter.
HOMOGRAPHY_TILT_SLACK = 0.5
# Sideways probe (pixels) used to measure the floor scale of homography-only cameras.
_LATERAL_PROBE_PX = 4.0
# A box edge within this many pixels of the image border counts as cut off by it.
BORDER_PX = 2.0


@dataclass(frozen=True)
class PersonSizePrior:
    """Expected pixel height of a standing person, and how well boxes fit it.

    Attributes:
        camera: a ``calib`` camera (``PinholeCamera`` or ``HomographyCamera``) with
            ``image_size_wh`` and ``to_floor``.
        tolerance: relative slack beyond the 1.5-2.0 m range before the fit reaches 0; 0.35
            accepts boxes of about 1.1 m to 2.7 m. Raise it for sloppy boxes or poor calibration,
            lower it to reject more clutter.
    """

    camera: object
    tolerance: float = 0.35

    def __post_init__(self) -> None:
        if not hasattr(self.camera, "to_floor") or not hasattr(self.camera, "image_size_wh"):
            raise ValueError(
                f"PersonSizePrior needs a calib camera with to_floor and image_size_wh, got "
                f"{type(self.camera).__name__}"
            )
        if not self.tolerance > 0:
            raise ValueError(f"PersonSizePrior.tolerance must be > 0, got {self.tolerance}")

    @property
    def knows_heights(self) -> bool:
        """True for cameras with a 3-D model (``project``); False for homography-only ones."""
        return hasattr(self.camera, "project")

    def expected_height_px(
        self, foot_px: np.ndarray, image_wh: tuple[int, int] | None = None
    ) -> np.ndarray:
        """(N, 2) foot pixels -> (N,) float64 pixel height of a 1.7 m person standing there.

        NaN where the feet cannot be on the floor (on or above the horizon). ``image_wh`` is the
        size of the frame the pixels belong to when it differs from the calibration's
        ``image_size_wh`` (e.g. calibrated at 1920x1080, run at 960x540): pixels are scaled.

        Example: a distortion-free camera with focal length 1000 px, 10 m from a person whose
        feet are at the image centre row sees them about ``1000 * 1.7 / 10 = 170`` px tall.
        """
        sx, sy = self._scale(image_wh)
        foot_px = np.asarray(foot_px, dtype=np.float64).reshape(-1, 2) * [sx, sy]
        xy_m = self.camera.to_floor(foot_px)
        if self.knows_heights:
            n = len(xy_m)
            feet = np.concatenate([xy_m, np.zeros((n, 1))], axis=1)
            head = np.concatenate([xy_m, np.full((n, 1), PERSON_HEIGHT_M)], axis=1)
            px = self.camera.project(np.concatenate([feet, head]))
            height = px[:n, 1] - px[n:, 1]
        else:
            probe = np.array([_LATERAL_PROBE_PX, 0.0])
            left = self.camera.to_floor(foot_px - probe)
            right = self.camera.to_floor(foot_px + probe)
            metres = np.linalg.norm(right - left, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                height = PERSON_HEIGHT_M * (2 * _LATERAL_PROBE_PX) / metres
        height = np.where(np.isfinite(xy_m).all(axis=1) & (height > 0), height, np.nan)
        return height / sy

    def _scale(self, image_wh: tuple[int, int] | None) -> tuple[float, float]:
        """Factors from frame pixels to calibration pixels."""
        if image_wh is None:
            return 1.0, 1.0
        cal_w, cal_h = self.camera.image_size_wh
        return cal_w / float(image_wh[0]), cal_h / float(image_wh[1])

    def fit(self, xyxy: np.ndarray, image_wh: tuple[int, int] | None = None) -> np.ndarray:
        """(N, 4) boxes -> (N,) float64 score in [0, 1]: 1 for a 1.5-2.0 m person, 0 far off.

        The score falls linearly in log-height from the range's ends to 0 at a factor
        ``1 + tolerance`` beyond them. Boxes cut by the top or bottom border only have the upper
        limit. ``image_wh`` as in :meth:`expected_height_px`. Example: with ``tolerance=0.35`` a
        box exactly ``1.5 / 1.7 / 1.35 = 0.654`` times the expected height scores 0, one
        ``1.5 / 1.7`` times it scores 1.
        """
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        foot = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
        expected = self.expected_height_px(foot, image_wh)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log((xyxy[:, 3] - xyxy[:, 1]) / expected)
        log_lo = np.log(PERSON_HEIGHT_RANGE_M[0] / PERSON_HEIGHT_M)
        log_hi = np.log(PERSON_HEIGHT_RANGE_M[1] / PERSON_HEIGHT_M)
        if not self.knows_heights:
            log_lo += np.log(HOMOGRAPHY_TILT_SLACK)
        span = np.log1p(self.tolerance)
        below = np.clip((log_lo - log_ratio) / span, 0.0, None)
        above = np.clip((log_ratio - log_hi) / span, 0.0, None)
        height_px = self.camera.image_size_wh[1] if image_wh is None else image_wh[1]
        cut = (xyxy[:, 1] <= BORDER_PX) | (xyxy[:, 3] >= height_px - BORDER_PX)
        below[cut] = 0.0
        score = np.clip(1.0 - below - above, 0.0, 1.0)
        return np.where(np.isfinite(log_ratio), score, 0.0)

    def expected_width_px(
        self, foot_px: np.ndarray, image_wh: tuple[int, int] | None = None
    ) -> np.ndarray:
        """(N, 2) foot pixels -> (N,) typical box width of one person standing there (NaN above
        the horizon): ``PERSON_WIDTH_TO_HEIGHT`` times the expected height."""
        return PERSON_WIDTH_TO_HEIGHT * self.expected_height_px(foot_px, image_wh)
