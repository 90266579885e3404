"""Small PNG snapshots of a scene for documentation: one frame per camera, coverage and floor maps.

``python -m mtmc.synth.snapshots --scene DIR --out docs/synth [--frame 300] [--width 480]``
writes ``<cam>.png`` (the frame, resized to ``--width``), ``coverage.png`` and ``floor.png``.

Example::

    python -m mtmc.synth --out /tmp/demo --seed 0
    python -m mtmc.synth.snapshots --scene /tmp/demo --out docs/synth
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

__all__ = ["main", "write_snapshots"]

PNG_COMPRESSION = 9


def write_snapshots(scene: Path, out: Path, frame: int = 300, width: int = 480) -> list[Path]:
    """Write the snapshots of ``scene`` (``frame`` is 1-based) into ``out``; returns the paths.

    Raises:
        ValueError: ``scene`` is not a scene folder or its videos are shorter than ``frame``.
    """
    scene, out = Path(scene), Path(out)
    meta_path = scene / "scene.json"
    if not meta_path.exists():
        raise ValueError(f"{scene}: not a simulated scene folder (no scene.json)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cam in meta["cameras"]:
        cap = cv2.VideoCapture(str(scene / "videos" / f"{cam['id']}.mp4"))
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame - 1)
        ok, image = cap.read()
        cap.release()
        if not ok:
            raise ValueError(f"{scene}/videos/{cam['id']}.mp4: no frame {frame}")
        h, w = image.shape[:2]
        small = cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
        path = out / f"{cam['id']}.png"
        cv2.imwrite(str(path), small, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
        written.append(path)
    for name in ("coverage.png", "floor.png"):
        image = cv2.imread(str(scene / name))
        if image is None:
            raise ValueError(f"{scene / name}: missing or unreadable")
        cv2.imwrite(str(out / name), image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m mtmc.synth.snapshots", description=__doc__.splitlines()[0]
    )
    p.add_argument("--scene", required=True, type=Path, help="scene folder written by mtmc.synth")
    p.add_argument("--out", required=True, type=Path, help="folder for the PNGs")
    p.add_argument("--frame", type=int, default=300, help="1-based frame to show (default 300)")
    p.add_argument(
        "--width", type=int, default=480, help="width of the camera snapshots (default 480)"
    )
    args = p.parse_args(argv)
    try:
        paths = write_snapshots(args.scene, args.out, args.frame, args.width)
    except ValueError as exc:
        print(f"snapshots: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path} ({path.stat().st_size // 1024} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
