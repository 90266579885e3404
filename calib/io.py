"""Calibration files: the project's JSON, Metropolis calibration.json, OpenCV XML, PETS Tsai XML.

Every reader returns the camera models of :mod:`calib.camera` in world metres (z up, floor z = 0)
and raises :class:`CalibrationFileError` (a ValueError) naming the file and the key on bad input.

Example::

    save_camera(cam, "cam1.json", reprojection_error_px=0.8)
    cam = load_camera("cam1.json")
    cams = read_metropolis("calibration.json")            # {"cam1": HomographyCamera, ...}
    cam = read_opencv_xml("intr_CVLab1.xml", "extr_CVLab1.xml", world_unit_m=0.01)
    cam = read_tsai_xml("View_001.xml")
    cam = load_calibration("anything.json_or_xml", sensor="cam2")   # dispatch by content
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from calib.camera import Camera, HomographyCamera, PinholeCamera
from calib.homography import fit_homography

__all__ = [
    "FORMAT",
    "CalibrationFileError",
    "load_calibration",
    "load_camera",
    "load_camera_with_extra",
    "read_metropolis",
    "read_opencv_xml",
    "read_tsai_xml",
    "save_camera",
    "tsai_rotation",
    "write_metropolis",
]

FORMAT = "mtmc-calib/1"
_PINHOLE_KEYS = ("K", "R_world_to_cam", "t_world_to_cam_m", "dist", "distortion_model")
_RESERVED = frozenset(
    ("format", "camera_id", "model", "image_size_wh", "H_img_to_floor", "H_floor_to_img",
     *_PINHOLE_KEYS)
)
# Rotations read from files written with rounded numbers are snapped to the nearest rotation when
# they are this close to one; anything further is reported as an error.
_ROTATION_SNAP_TOL = 1e-3


class CalibrationFileError(ValueError):
    """A calibration file that cannot be read: the message names the file and the key."""


PathLike = str | os.PathLike


# ---------------------------------------------------------------------------------------------
# helpers


def _read_text(path: PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise CalibrationFileError(f"{p}: file not found")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationFileError(f"{p}: cannot read: {exc}") from None


def _read_json(path: PathLike) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalibrationFileError(f"{path}: not valid JSON: {exc}") from None


def _matrix(value: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationFileError(f"{where}: expected numbers with shape {shape}") from None
    if arr.shape != shape:
        raise CalibrationFileError(f"{where}: expected shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise CalibrationFileError(f"{where}: contains NaN or infinite values")
    return arr


def _snap_rotation(R: np.ndarray, where: str) -> np.ndarray:
    """Nearest rotation to R (SVD), if R is within rounding of one."""
    U, _, Vt = np.linalg.svd(R)
    R_snapped = U @ Vt
    if np.linalg.det(R_snapped) < 0 or np.abs(R_snapped - R).max() > _ROTATION_SNAP_TOL:
        raise CalibrationFileError(
            f"{where}: not a rotation matrix (orthonormal, det +1): {np.round(R, 6).tolist()}"
        )
    return R_snapped


def _normalise_K(K: np.ndarray, where: str) -> np.ndarray:
    if K[2, 2] == 0:
        raise CalibrationFileError(f"{where}: K[2][2] is 0; expected [[fx, s, cx], [0, fy, cy], "
                                   "[0, 0, 1]]")
    return K / K[2, 2]


def _build(where: str, make: Any) -> Any:
    """Run a camera constructor and prefix its validation error with the file/key context."""
    try:
        return make()
    except CalibrationFileError:
        raise
    except ValueError as exc:
        raise CalibrationFileError(f"{where}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# project JSON


def camera_to_dict(cam: Camera, **extra: Any) -> dict[str, Any]:
    """The project JSON object (``"format": "mtmc-calib/1"``) for a camera, plus ``extra`` keys.

    A PinholeCamera also carries its (distortion-free) homographies for readers that only want
    those; :func:`load_camera` rebuilds it from K, R, t and dist.
    """
    clash = sorted(_RESERVED.intersection(extra))
    if clash:
        raise ValueError(f"save_camera: extra keys {clash} are reserved by the {FORMAT} format")
    out: dict[str, Any] = {"format": FORMAT, "camera_id": cam.camera_id}
    out["image_size_wh"] = list(cam.image_size_wh)
    if isinstance(cam, PinholeCamera):
        out["model"] = "pinhole"
        out["K"] = cam.K.tolist()
        out["dist"] = cam.dist.tolist()
        out["distortion_model"] = cam.distortion_model
        out["R_world_to_cam"] = cam.R_world_to_cam.tolist()
        out["t_world_to_cam_m"] = cam.t_world_to_cam_m.tolist()
    elif isinstance(cam, HomographyCamera):
        out["model"] = "homography"
    else:
        raise TypeError(f"save_camera: expected PinholeCamera or HomographyCamera, got {type(cam)}")
    out["H_img_to_floor"] = cam.H_img_to_floor.tolist()
    out["H_floor_to_img"] = cam.H_floor_to_img.tolist()
    out.update(extra)
    return out


def save_camera(cam: Camera, path: PathLike, **extra: Any) -> None:
    """Write ``cam`` as project JSON; ``extra`` adds JSON-serialisable top-level keys such as
    ``reprojection_error_px=0.7, error_m=0.03, fps=30``. Parent folders are created.

    Example::

        save_camera(cam, "calibration/cam1.json", reprojection_error_px=fit.reprojection_error_px)
    """
    data = camera_to_dict(cam, **extra)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def camera_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> tuple[Camera, dict]:
    """Inverse of :func:`camera_to_dict`: (camera, the extra keys)."""
    if not isinstance(data, Mapping):
        raise CalibrationFileError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise CalibrationFileError(
            f"{source}: format: expected {FORMAT!r}, got {data.get('format')!r} (is this a "
            "Metropolis calibration.json? use read_metropolis or load_calibration)"
        )
    for key in ("model", "image_size_wh"):
        if key not in data:
            raise CalibrationFileError(f"{source}: missing key {key!r}")
    camera_id = str(data.get("camera_id", ""))
    size = data["image_size_wh"]
    model = data["model"]
    if model == "pinhole":
        for key in ("K", "R_world_to_cam", "t_world_to_cam_m"):
            if key not in data:
                raise CalibrationFileError(f"{source}: missing key {key!r} for model 'pinhole'")
        cam: Camera = _build(source, lambda: PinholeCamera(
            K=_matrix(data["K"], (3, 3), f"{source}: K"),
            R_world_to_cam=_matrix(data["R_world_to_cam"], (3, 3), f"{source}: R_world_to_cam"),
            t_world_to_cam_m=_matrix(data["t_world_to_cam_m"], (3,), f"{source}: t_world_to_cam_m"),
            image_size_wh=tuple(size),
            dist=data.get("dist"),
            distortion_model=data.get("distortion_model", "opencv"),
            camera_id=camera_id,
        ))
    elif model == "homography":
        if "H_img_to_floor" not in data:
            raise CalibrationFileError(f"{source}: missing key 'H_img_to_floor'")
        H = _matrix(data["H_img_to_floor"], (3, 3), f"{source}: H_img_to_floor")
        cam = _build(source, lambda: HomographyCamera(H, tuple(size), camera_id))
    else:
        raise CalibrationFileError(
            f"{source}: model: expected 'pinhole' or 'homography', got {model!r}"
        )
    extra = {k: v for k, v in data.items() if k not in _RESERVED}
    return cam, extra


def load_camera_with_extra(path: PathLike) -> tuple[Camera, dict[str, Any]]:
    """Read project JSON: (camera, extra keys such as ``reprojection_error_px``)."""
    return camera_from_dict(_read_json(path), str(path))


def load_camera(path: PathLike) -> Camera:
    """Read a camera written by :func:`save_camera`.

    Example::

        cam = load_camera("calibration/cam1.json")
    """
    return load_camera_with_extra(path)[0]


# ---------------------------------------------------------------------------------------------
# Metropolis calibration.json


def _attributes(sensor: Mapping[str, Any], where: str) -> dict[str, Any]:
    attrs = sensor.get("attributes", [])
    if not isinstance(attrs, list):
        raise CalibrationFileError(f"{where}: attributes: expected a list of {{name, value}}")
    out = {}
    for i, a in enumerate(attrs):
        if not isinstance(a, Mapping) or "name" not in a or "value" not in a:
            raise CalibrationFileError(f"{where}: attributes[{i}]: expected {{name, value}}")
        out[str(a["name"])] = a["value"]
    return out


def _points_xy(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list):
        raise CalibrationFileError(f"{where}: expected a list of {{x, y}}")
    try:
        return np.array([[float(p["x"]), float(p["y"])] for p in value], dtype=np.float64).reshape(
            -1, 2
        )
    except (TypeError, KeyError, ValueError):
        raise CalibrationFileError(f"{where}: expected a list of {{x, y}} numbers") from None


def _metropolis_sensor(sensor: Mapping[str, Any], where: str, sid: str) -> Camera:
    attrs = _attributes(sensor, where)
    size = []
    for name in ("frameWidth", "frameHeight"):
        if name not in attrs:
            raise CalibrationFileError(
                f"{where}: attributes: missing {name!r} (needed for the image size)"
            )
        try:
            size.append(int(float(attrs[name])))
        except (TypeError, ValueError):
            raise CalibrationFileError(
                f"{where}: attributes: {name} must be a number, got {attrs[name]!r}"
            ) from None
    if "intrinsicMatrix" in sensor and "extrinsicMatrix" in sensor:
        K = _normalise_K(_matrix(sensor["intrinsicMatrix"], (3, 3), f"{where}: intrinsicMatrix"),
                         f"{where}: intrinsicMatrix")
        Rt = _matrix(sensor["extrinsicMatrix"], (3, 4), f"{where}: extrinsicMatrix")
        R = _snap_rotation(Rt[:, :3], f"{where}: extrinsicMatrix")
        return _build(where, lambda: PinholeCamera(
            K=K, R_world_to_cam=R, t_world_to_cam_m=Rt[:, 3], image_size_wh=tuple(size),
            dist=sensor.get("distortionCoefficients"),
            distortion_model=sensor.get("distortionModel", "opencv"), camera_id=sid,
        ))
    if sensor.get("homography") is not None:
        H_floor_to_img = _matrix(sensor["homography"], (3, 3), f"{where}: homography")
        try:
            H_img_to_floor = np.linalg.inv(H_floor_to_img)
        except np.linalg.LinAlgError:
            raise CalibrationFileError(f"{where}: homography: singular matrix") from None
        return _build(where, lambda: HomographyCamera(H_img_to_floor, tuple(size), sid))
    if "imageCoordinates" in sensor and "globalCoordinates" in sensor:
        uv = _points_xy(sensor["imageCoordinates"], f"{where}: imageCoordinates")
        xy = _points_xy(sensor["globalCoordinates"], f"{where}: globalCoordinates")
        fit = _build(f"{where}: imageCoordinates/globalCoordinates",
                     lambda: fit_homography(uv, xy, tuple(size), camera_id=sid))
        return fit.camera
    raise CalibrationFileError(
        f"{where}: no calibration: give intrinsicMatrix + extrinsicMatrix, homography, or "
        "imageCoordinates + globalCoordinates"
    )


def read_metropolis(path: PathLike) -> dict[str, Camera]:
    """Read a Metropolis-style ``calibration.json``: {sensor id: camera} for sensors of type
    ``camera`` (other sensor types are skipped).

    Per sensor, in this order: ``intrinsicMatrix`` (3x3) + ``extrinsicMatrix`` (3x4 [R|t], world
    -> camera) give a PinholeCamera (distortion from the project's optional
    ``distortionCoefficients`` / ``distortionModel`` keys, else none); else ``homography``,
    read as floor (global) -> image like NVIDIA's MTMC reference code reads it, gives a
    HomographyCamera; else the ``imageCoordinates`` / ``globalCoordinates`` pairs are fitted
    with RANSAC. The image size comes from the ``frameWidth`` / ``frameHeight`` attributes.
    ``translationToGlobalCoordinates`` and ``scaleFactor`` are not applied: global coordinates
    must already be metres.

    Example::

        cams = read_metropolis("calibration.json"); cams["cam1"].to_floor(pts_px)
    """
    data = _read_json(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("sensors"), list):
        raise CalibrationFileError(f"{path}: expected a JSON object with a 'sensors' list")
    cams: dict[str, Camera] = {}
    for i, sensor in enumerate(data["sensors"]):
        where = f"{path}: sensors[{i}]"
        if not isinstance(sensor, Mapping):
            raise CalibrationFileError(f"{where}: expected an object")
        if sensor.get("type", "camera") != "camera":
            continue
        if "id" not in sensor:
            raise CalibrationFileError(f"{where}: missing 'id'")
        sid = str(sensor["id"])
        where = f"{path}: sensor {sid!r}"
        if sid in cams:
            raise CalibrationFileError(f"{where}: duplicate sensor id")
        cams[sid] = _metropolis_sensor(sensor, where, sid)
    if not cams:
        raise CalibrationFileError(f"{path}: no sensors of type 'camera'")
    return cams


def _sample_pairs(cam: Camera, n_points: int, max_range_m: float) -> tuple[np.ndarray, np.ndarray]:
    """n_points pixel <-> floor pairs spread over the visible floor within max_range_m."""
    w, h = cam.image_size_wh
    nu, nv = 16, 12
    u = (np.arange(nu) + 0.5) * w / nu
    v = (np.arange(nv) + 0.5) * h / nv
    uv = np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)
    xy = cam.to_floor(uv)
    origin = cam.center_m[:2] if isinstance(cam, PinholeCamera) else cam.range_origin_m
    ok = np.isfinite(xy).all(axis=1)
    ok[ok] = np.linalg.norm(xy[ok] - origin, axis=1) <= max_range_m
    idx = np.flatnonzero(ok)
    if len(idx) < 4:
        raise ValueError(
            f"write_metropolis: camera {cam.camera_id!r} sees fewer than 4 floor points within "
            f"{max_range_m} m; raise max_range_m"
        )
    pick = idx[np.unique(np.linspace(0, len(idx) - 1, min(n_points, len(idx))).round().astype(int))]
    return uv[pick], xy[pick]


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_metropolis(
    cams: Mapping[str, Camera],
    path: PathLike,
    fps: float = 30.0,
    n_points: int = 12,
    max_range_m: float = 30.0,
) -> None:
    """Write cameras as a Metropolis-style ``calibration.json`` (one sensor per dict key).

    Each sensor gets the attributes ``fps``, ``frameWidth``, ``frameHeight`` and
    ``fieldOfViewPolygon`` (WKT of ``fov_polygon(max_range_m)``; values as strings like NVIDIA's
    samples), ``n_points`` image <-> floor pairs spread over the visible floor, and
    ``homography`` = floor (global) -> image (the direction NVIDIA's MTMC code inverts to get
    image -> global), normalised so its [2][2] is 1. A PinholeCamera adds ``intrinsicMatrix``,
    ``extrinsicMatrix`` (3x4 [R|t]), ``cameraMatrix`` (K [R|t]) and, when it has distortion, the
    project's extra keys ``distortionCoefficients`` and ``distortionModel``. The keys NVIDIA's
    reader requires (``origin``, ``geoLocation``, ``coordinates``, ``scaleFactor``, ``place``)
    are written with neutral values.

    Example::

        write_metropolis({"cam1": cam1, "cam2": cam2}, "calibration.json", fps=30)
    """
    if n_points < 4:
        raise ValueError(f"write_metropolis: n_points must be >= 4, got {n_points}")
    sensors = []
    for sid, cam in cams.items():
        uv, xy = _sample_pairs(cam, n_points, max_range_m)
        H = np.array(cam.H_floor_to_img)
        if abs(H[2, 2]) > 1e-12 * np.abs(H).max():
            H = H / H[2, 2]
        origin = cam.center_m[:2] if isinstance(cam, PinholeCamera) else cam.range_origin_m
        sensor: dict[str, Any] = {
            "type": "camera",
            "id": str(sid),
            "origin": {"lng": 0.0, "lat": 0.0},
            "geoLocation": {"lng": 0.0, "lat": 0.0},
            "coordinates": {"x": float(origin[0]), "y": float(origin[1])},
            "scaleFactor": 1.0,
            "translationToGlobalCoordinates": {"x": 0.0, "y": 0.0},
            "place": [],
            "attributes": [
                {"name": "fps", "value": _number_text(fps)},
                {"name": "frameWidth", "value": str(cam.image_size_wh[0])},
                {"name": "frameHeight", "value": str(cam.image_size_wh[1])},
                {"name": "fieldOfViewPolygon", "value": cam.fov_polygon(max_range_m).wkt},
            ],
            "imageCoordinates": [{"x": float(a), "y": float(b)} for a, b in uv],
            "globalCoordinates": [{"x": float(a), "y": float(b)} for a, b in xy],
            "homography": H.tolist(),
        }
        if isinstance(cam, PinholeCamera):
            Rt = np.column_stack([cam.R_world_to_cam, cam.t_world_to_cam_m])
            sensor["intrinsicMatrix"] = cam.K.tolist()
            sensor["extrinsicMatrix"] = Rt.tolist()
            sensor["cameraMatrix"] = (cam.K @ Rt).tolist()
            if cam.dist.any():
                sensor["distortionCoefficients"] = cam.dist.tolist()
                sensor["distortionModel"] = cam.distortion_model
        sensors.append(sensor)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"sensors": sensors}, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# OpenCV XML (cv2.FileStorage)


def _fs_open(path: PathLike) -> Any:
    import cv2

    p = Path(path)
    if not p.is_file():
        raise CalibrationFileError(f"{p}: file not found")
    try:
        fs = cv2.FileStorage(str(p), cv2.FILE_STORAGE_READ)
    except cv2.error as exc:
        raise CalibrationFileError(f"{p}: not an OpenCV FileStorage file: {exc.err}") from None
    if not fs.isOpened():
        raise CalibrationFileError(f"{p}: not an OpenCV FileStorage file")
    return fs


def _fs_numbers(fs: Any, key: str, path: PathLike) -> np.ndarray | None:
    """A node as a flat float array: an opencv-matrix, a sequence or plain text of numbers."""
    node = fs.getNode(key)
    if node.empty() or node.isNone():
        return None
    if node.isMap():
        mat = node.mat()
        if mat is None:
            raise CalibrationFileError(f"{path}: {key}: not an opencv-matrix")
        return np.asarray(mat, dtype=np.float64).ravel()
    if node.isSeq():
        return np.array([node.at(i).real() for i in range(node.size())], dtype=np.float64)
    if node.isReal() or node.isInt():
        return np.array([node.real()])
    if node.isString():
        try:
            return np.array([float(x) for x in node.string().split()], dtype=np.float64)
        except ValueError:
            pass
    raise CalibrationFileError(f"{path}: {key}: expected numbers")


def read_opencv_xml(
    intrinsics_path: PathLike,
    extrinsics_path: PathLike | None = None,
    world_unit_m: float = 1.0,
    *,
    image_size_wh: tuple[int, int] | None = None,
    camera_id: str | None = None,
) -> PinholeCamera:
    """Read OpenCV FileStorage calibration as multi-view datasets (WILDTRACK-like) ship it.

    The intrinsics file holds ``camera_matrix`` (3x3) and ``distortion_coefficients`` (OpenCV
    order, 4/5/8 values; optional), and optionally ``image_width`` / ``image_height``; the
    extrinsics file (default: the intrinsics file itself) holds ``rvec`` (Rodrigues) and ``tvec``
    in world units, world -> camera. ``world_unit_m`` is the size of one world unit in metres
    (0.01 for centimetres); the result is in metres. ``image_size_wh`` is used when the file has
    no image size. ``camera_id`` defaults to the intrinsics file's stem.

    Example::

        cam = read_opencv_xml("intr_CVLab1.xml", "extr_CVLab1.xml", world_unit_m=0.01,
                              image_size_wh=(1920, 1080), camera_id="cam1")
    """
    if not (world_unit_m > 0 and math.isfinite(world_unit_m)):
        raise ValueError(f"read_opencv_xml: world_unit_m must be positive, got {world_unit_m}")
    extrinsics_path = intrinsics_path if extrinsics_path is None else extrinsics_path
    fs = _fs_open(intrinsics_path)
    try:
        K = _fs_numbers(fs, "camera_matrix", intrinsics_path)
        dist = _fs_numbers(fs, "distortion_coefficients", intrinsics_path)
        width = _fs_numbers(fs, "image_width", intrinsics_path)
        height = _fs_numbers(fs, "image_height", intrinsics_path)
    finally:
        fs.release()
    if K is None:
        raise CalibrationFileError(f"{intrinsics_path}: missing camera_matrix")
    K = _normalise_K(_matrix(K.reshape(-1, 3) if K.size == 9 else K, (3, 3),
                             f"{intrinsics_path}: camera_matrix"),
                     f"{intrinsics_path}: camera_matrix")
    fs = _fs_open(extrinsics_path)
    try:
        rvec = _fs_numbers(fs, "rvec", extrinsics_path)
        tvec = _fs_numbers(fs, "tvec", extrinsics_path)
    finally:
        fs.release()
    for name, value in (("rvec", rvec), ("tvec", tvec)):
        if value is None:
            raise CalibrationFileError(
                f"{extrinsics_path}: missing {name} (give the extrinsics file as well)"
            )
        _matrix(value, (3,), f"{extrinsics_path}: {name}")
    if width is not None and height is not None:
        size: tuple[int, int] = (int(width[0]), int(height[0]))
    elif image_size_wh is not None:
        size = tuple(image_size_wh)  # type: ignore[assignment]
    else:
        raise CalibrationFileError(
            f"{intrinsics_path}: no image_width/image_height; pass image_size_wh=(w, h)"
        )
    cid = Path(intrinsics_path).stem if camera_id is None else camera_id
    return _build(str(extrinsics_path), lambda: PinholeCamera.from_rvec_tvec(
        K, rvec, np.asarray(tvec) * world_unit_m, size,
        dist=None if dist is None or not dist.size else dist, camera_id=cid,
    ))


# ---------------------------------------------------------------------------------------------
# Tsai XML (PETS 2009)


def tsai_rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    """Tsai/Willson world -> camera rotation ``Rz(rz) @ Ry(ry) @ Rx(rx)`` (radians), (3, 3)."""
    sa, ca = math.sin(rx), math.cos(rx)
    sb, cb = math.sin(ry), math.cos(ry)
    sg, cg = math.sin(rz), math.cos(rz)
    return np.array([
        [cb * cg, cg * sa * sb - ca * sg, sa * sg + ca * cg * sb],
        [cb * sg, sa * sb * sg + ca * cg, ca * sb * sg - cg * sa],
        [-sb, cb * sa, ca * cb],
    ])


def _xml_root(path: PathLike) -> ET.Element:
    text = _read_text(path)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise CalibrationFileError(f"{path}: not valid XML: {exc}") from None


def read_tsai_xml(path: PathLike) -> PinholeCamera:
    """Read a Tsai-model camera (PETS 2009 ``View_00N.xml``; world in millimetres) as a
    PinholeCamera in metres with ``distortion_model="tsai"``.

    ``K = [[sx f / dpx, 0, cx], [0, f / dpy, cy], [0, 0, 1]]``, ``dist = [kappa1 f^2]``
    (Tsai's radial model in normalised coordinates), ``R = Rz Ry Rx``, ``t = T / 1000``.

    Example::

        cam = read_tsai_xml("calibration/View_001.xml")   # camera_id "View_001", 768x576
    """
    root = _xml_root(path)
    if root.tag != "Camera":
        raise CalibrationFileError(f"{path}: expected a <Camera> root element, got <{root.tag}>")
    values: dict[str, float] = {}
    wanted = {
        "Geometry": ("width", "height", "dpx", "dpy"),
        "Intrinsic": ("focal", "kappa1", "cx", "cy", "sx"),
        "Extrinsic": ("tx", "ty", "tz", "rx", "ry", "rz"),
    }
    for tag, names in wanted.items():
        el = root.find(tag)
        if el is None:
            raise CalibrationFileError(f"{path}: missing <{tag}>")
        for name in names:
            try:
                values[name] = float(el.attrib[name])
            except KeyError:
                raise CalibrationFileError(f"{path}: <{tag}>: missing attribute {name}") from None
            except ValueError:
                raise CalibrationFileError(
                    f"{path}: <{tag}> {name}: not a number: {el.attrib[name]!r}"
                ) from None
    f = values["focal"]
    K = np.array([[values["sx"] * f / values["dpx"], 0.0, values["cx"]],
                  [0.0, f / values["dpy"], values["cy"]],
                  [0.0, 0.0, 1.0]])
    R = tsai_rotation(values["rx"], values["ry"], values["rz"])
    t_m = np.array([values["tx"], values["ty"], values["tz"]]) / 1000.0
    size = (int(values["width"]), int(values["height"]))
    cid = root.get("name", Path(path).stem)
    return _build(str(path), lambda: PinholeCamera(
        K=K, R_world_to_cam=R, t_world_to_cam_m=t_m, image_size_wh=size,
        dist=[values["kappa1"] * f * f], distortion_model="tsai", camera_id=cid,
    ))


# ---------------------------------------------------------------------------------------------
# dispatch by content


def load_calibration(
    path: PathLike,
    *,
    sensor: str | None = None,
    extrinsics_path: PathLike | None = None,
    world_unit_m: float = 1.0,
    image_size_wh: tuple[int, int] | None = None,
) -> Camera:
    """Read any supported calibration file, recognised by its content.

    - JSON with ``"format": "mtmc-calib/1"``: :func:`load_camera`;
    - JSON with ``"sensors"``: :func:`read_metropolis`, the sensor ``sensor`` (may be left out
      when the file has one camera);
    - XML with a ``<Camera>`` root: :func:`read_tsai_xml`;
    - OpenCV FileStorage XML/YAML: :func:`read_opencv_xml` (``extrinsics_path``, ``world_unit_m``
      and ``image_size_wh`` are passed on).

    Example::

        cam = load_calibration("calibration.json", sensor="cam2")
    """
    text = _read_text(path).lstrip()
    if text.startswith("{"):
        data = _read_json(path)
        if isinstance(data, Mapping) and "sensors" in data:
            cams = read_metropolis(path)
            if sensor is None:
                if len(cams) == 1:
                    return next(iter(cams.values()))
                raise CalibrationFileError(
                    f"{path}: {len(cams)} cameras ({sorted(cams)}); choose one with sensor=ID"
                )
            if sensor not in cams:
                raise CalibrationFileError(
                    f"{path}: no sensor {sensor!r}; choose from {sorted(cams)}"
                )
            return cams[sensor]
        return camera_from_dict(data, str(path))[0]
    if text.startswith("<"):
        root = _xml_root(path)
        if root.tag == "Camera":
            return read_tsai_xml(path)
        if root.tag == "opencv_storage":
            return read_opencv_xml(path, extrinsics_path, world_unit_m,
                                   image_size_wh=image_size_wh)
        raise CalibrationFileError(
            f"{path}: unknown XML calibration <{root.tag}>; expected <Camera> (Tsai) or "
            "<opencv_storage> (OpenCV)"
        )
    if text.startswith("%YAML"):
        return read_opencv_xml(path, extrinsics_path, world_unit_m, image_size_wh=image_size_wh)
    raise CalibrationFileError(
        f"{path}: not a calibration file this reader knows (project JSON, Metropolis JSON, "
        "OpenCV XML/YAML, Tsai XML)"
    )
