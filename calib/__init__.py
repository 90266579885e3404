"""calib: camera models, floor homographies, fields of view and calibration file formats.

Importable on its own (numpy, OpenCV, shapely). World frame: metres, z up, floor z = 0.

Example::

    from calib import PinholeCamera
    cam = PinholeCamera.look_at((0, -5, 3), (0, 2, 0), (960, 540), 70.0, "cam1")
    xy_m = cam.to_floor(cam.project([[1.0, 2.0, 0.0]]))   # ~ [[1, 2]]
"""

from __future__ import annotations

from calib.camera import Camera, HomographyCamera, PinholeCamera
from calib.homography import HomographyFit, fit_homography, reprojection_errors

__all__ = [
    "Camera",
    "HomographyCamera",
    "HomographyFit",
    "PinholeCamera",
    "fit_homography",
    "reprojection_errors",
]
