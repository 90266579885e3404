"""Command line: ``python -m calib fit`` and ``python -m calib check``.

Examples::

    python -m calib fit --points pairs.csv --out cam1.json --image-size 1920x1080 --camera-id cam1
    python -m calib check cam1.json --image frame.jpg --out check.png
    python -m calib check calibration.json --sensor cam2 --points pairs.csv --out check.png
    python -m calib check intr_CVLab1.xml --extrinsics extr_CVLab1.xml --world-unit-m 0.01 \\
        --image-size 1920x1080 --out check.png

User errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calib.camera import PinholeCamera
from calib.homography import fit_homography, reprojection_errors
from calib.io import load_calibration, load_camera_with_extra, save_camera

__all__ = ["main", "read_pairs_csv"]

PAIR_COLUMNS = ("u_px", "v_px", "x_m", "y_m")
EXIT_USER_ERROR = 2


class UserError(ValueError):
    """A problem with the command's input; printed as one line, exit code 2."""


def read_pairs_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read point pairs from a CSV with header ``u_px,v_px,x_m,y_m``: (pts_px (N, 2), xy_m (N, 2)).

    Example file::

        u_px,v_px,x_m,y_m
        412.5,880.0,0.0,0.0
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: file not found")
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in PAIR_COLUMNS if c not in header]
        if missing:
            raise UserError(
                f"{p}: missing column(s) {missing}; the header must be {','.join(PAIR_COLUMNS)}"
            )
        reader.fieldnames = header
        rows = []
        for row in reader:
            if not any((v or "").strip() for v in row.values()):
                continue  # blank line
            try:
                rows.append([float(row[c]) for c in PAIR_COLUMNS])
            except (TypeError, ValueError):
                raise UserError(
                    f"{p}: line {reader.line_num}: expected numbers in {','.join(PAIR_COLUMNS)}"
                ) from None
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return arr[:, :2], arr[:, 2:]


def _image_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--image-size must look like 1920x1080, got {text!r}") from None
    return (w, h)


def _cmd_fit(args: argparse.Namespace) -> int:
    pts_px, xy_m = read_pairs_csv(args.points)
    fit = fit_homography(pts_px, xy_m, _image_size(args.image_size), args.ransac_px,
                         camera_id=args.camera_id or "")
    save_camera(fit.camera, args.out, reprojection_error_px=fit.reprojection_error_px,
                error_m=fit.error_m, n_pairs=len(pts_px), n_inliers=fit.n_inliers)
    w, h = fit.camera.image_size_wh
    print(f"fitted a floor homography from {len(pts_px)} pairs ({fit.n_inliers} RANSAC inliers), "
          f"image {w}x{h}")
    print(f"reprojection error (median over inliers): {fit.reprojection_error_px:.3f} px, "
          f"{fit.error_m:.4f} m")
    outliers = np.flatnonzero(~fit.inlier_mask)
    if len(outliers):
        print(f"outlier rows (0-based, header excluded): {outliers.tolist()}")
    print(f"wrote {args.out}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.calibration)
    extra: dict = {}
    text_start = path.read_text(encoding="utf-8", errors="replace")[:4096] if path.is_file() else ""
    if '"mtmc-calib/1"' in text_start:
        cam, extra = load_camera_with_extra(path)
    else:
        cam = load_calibration(path, sensor=args.sensor, extrinsics_path=args.extrinsics,
                               world_unit_m=args.world_unit_m,
                               image_size_wh=_image_size(args.image_size))
    w, h = cam.image_size_wh
    model = "pinhole" if isinstance(cam, PinholeCamera) else "homography"
    print(f"camera {cam.camera_id!r}: {model} model, image {w}x{h}")
    if isinstance(cam, PinholeCamera):
        c = cam.center_m
        print(f"centre ({c[0]:.3f}, {c[1]:.3f}, {c[2]:.3f}) m, "
              f"horizontal fov {cam.hfov_deg:.1f} deg, "
              f"distortion {cam.distortion_model} {np.round(cam.dist, 6).tolist()}")
    fov = cam.fov_polygon(args.max_range_m)
    print(f"floor field of view within {args.max_range_m:g} m: {fov.area:.1f} m^2")

    pts_px = xy_m = None
    if args.points:
        pts_px, xy_m = read_pairs_csv(args.points)
        err_px, err_m = reprojection_errors(cam, pts_px, xy_m)
        bad = ~(np.isfinite(err_px) & np.isfinite(err_m))
        if bad.all():
            raise UserError(f"{args.points}: no pair maps through this camera (all above the "
                            "horizon or behind it)")
        print(f"reprojection error over {int((~bad).sum())} pairs from {args.points}: "
              f"median {np.median(err_px[~bad]):.3f} px / {np.median(err_m[~bad]):.4f} m, "
              f"max {err_px[~bad].max():.3f} px / {err_m[~bad].max():.4f} m")
        if bad.any():
            print(f"pairs that do not map (rows {np.flatnonzero(bad).tolist()})")
    elif "reprojection_error_px" in extra:
        msg = f"stored reprojection error: {float(extra['reprojection_error_px']):.3f} px"
        if "error_m" in extra:
            msg += f", {float(extra['error_m']):.4f} m"
        print(msg)
    else:
        print("no reprojection error stored; pass --points pairs.csv to compute one")

    if args.image and not args.out:
        raise UserError("--image needs --out to say where to write the drawing")
    if args.out:
        from calib.draw import blank_canvas, draw_calibration

        if args.image:
            import cv2

            img = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
            if img is None:
                raise UserError(f"{args.image}: cannot read the image (missing or not an image)")
            if (img.shape[1], img.shape[0]) != (w, h):
                raise UserError(
                    f"{args.image}: image is {img.shape[1]}x{img.shape[0]} but the calibration "
                    f"is for {w}x{h}"
                )
        else:
            img = blank_canvas(cam)
        draw_calibration(img, cam, step_m=args.grid_m, max_range_m=args.max_range_m,
                         pts_px=pts_px, xy_m=xy_m)
        import cv2

        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), img):
            raise UserError(f"{out}: cannot write the image (unknown extension?)")
        print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m calib",
                                     description="Fit and check floor calibrations of cameras.")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit an image<->floor homography from point pairs")
    fit.add_argument("--points", required=True, help="CSV with header u_px,v_px,x_m,y_m")
    fit.add_argument("--out", required=True, help="project calibration JSON to write")
    fit.add_argument("--image-size", help="WxH in pixels (default: from the points)")
    fit.add_argument("--camera-id", help="camera id stored in the file")
    fit.add_argument("--ransac-px", type=float, default=3.0,
                     help="RANSAC inlier threshold in pixels (default 3)")
    fit.set_defaults(func=_cmd_fit)

    check = sub.add_parser("check", help="print the reprojection error and draw the floor grid")
    check.add_argument("calibration",
                       help="project JSON, Metropolis calibration.json, OpenCV XML or Tsai XML")
    check.add_argument("--sensor", help="sensor id in a Metropolis file with several cameras")
    check.add_argument("--extrinsics", help="OpenCV extrinsics XML (rvec, tvec)")
    check.add_argument("--world-unit-m", type=float, default=1.0,
                       help="OpenCV files: metres per world unit (0.01 for cm)")
    check.add_argument("--image-size", help="WxH, for OpenCV files without image size")
    check.add_argument("--image", help="frame to draw on (default: a grey canvas)")
    check.add_argument("--out", help="PNG/JPG to write the drawing to")
    check.add_argument("--points", help="CSV u_px,v_px,x_m,y_m to recompute the error")
    check.add_argument("--grid-m", type=float, default=1.0, help="grid spacing in metres")
    check.add_argument("--max-range-m", type=float, default=30.0,
                       help="draw the floor up to this distance (metres)")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user error)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:  # CalibrationFileError and UserError are ValueErrors
        message = str(exc).replace("\n", " ")
        print(f"calib {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
