"""Image strips of the worst ID switches: the cameras' frames around each switch, side by side.

"Worst" = the new id stuck longest (``severity_steps``: matches in a row the person kept the wrong
id), ties by frame. For each chosen switch: up to ``max_cameras`` cameras (those behind the old
and new id, else those whose ground truth shows the person), one row per camera, one tile per
time step offset. A tile is a 4:3 crop around the person (and the other person involved) when
the camera's ground truth has their boxes, else the whole frame; the person's ground-truth box is
white, the other's grey, the run's boxes (``mot/<cam>.txt``) in their global id's colour.

Videos are read sequentially, one camera at a time, and only the crops are kept.

Example::

    paths = write_switch_strips(analysis, "report/strips", videos={"cam1": Path("v/cam1.mp4")},
                                gt_dir=Path("scene/gt"), run_dir=Path("runs/demo"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from mtmc.analysis.switches import IdEvent, SwitchAnalysis
from mtmc.formats.mot import MotTable, read_mot
from mtmc.viz.draw import draw_boxes, put_text
from mtmc.viz.streams import VideoFrames

__all__ = ["worst_switches", "write_switch_strips"]

TILE_HEIGHT_PX = 160
TILE_ASPECT_WH = 4 / 3
CROP_CONTEXT = 1.6  # crop size relative to the people's union box
MIN_CROP_PX = 64
GT_BGR = (255, 255, 255)
OTHER_GT_BGR = (150, 150, 150)


def worst_switches(analysis: SwitchAnalysis, top_k: int = 4) -> list[IdEvent]:
    """The ``top_k`` switches with the largest ``severity_steps`` (earlier frame first on ties)."""
    switches = [e for e in analysis.events if e.is_switch]
    return sorted(switches, key=lambda e: (-e.severity_steps, e.frame, e.gt_id))[:top_k]


def write_switch_strips(
    analysis: SwitchAnalysis,
    out_dir: str | Path,
    *,
    videos: Mapping[str, Path | None],
    gt_dir: Path | None = None,
    run_dir: Path | None = None,
    top_k: int = 4,
    offsets_steps: Sequence[int] = (-10, -3, 0, 3, 10),
    max_cameras: int = 2,
) -> list[tuple[IdEvent, Path]]:
    """Write one PNG strip per worst switch (see the module docstring).

    Args:
        analysis: the run's analysis.
        out_dir: folder for ``switch_<rank>_f<frame>_gt<id>.png``.
        videos: camera id -> video file (None or missing: the camera is skipped).
        gt_dir: the scene's ``gt`` folder (``<cam>.txt`` boxes for crops); None: whole frames.
        run_dir: the run (``mot/<cam>.txt`` boxes drawn); None: no run boxes.
        top_k: number of switches.
        offsets_steps: time steps relative to the switch, one tile each.
        max_cameras: cameras (rows) per switch.

    Returns:
        (event, png path) per strip written; empty when no camera has a readable video.
    """
    out_dir = Path(out_dir)
    usable = {c: v for c, v in videos.items() if v is not None and Path(v).is_file()}
    if not usable:
        return []
    gt_tables: dict[str, MotTable | None] = {}
    pred_tables: dict[str, MotTable | None] = {}

    def tables(cam: str) -> tuple[MotTable | None, MotTable | None]:
        if cam not in gt_tables:
            g = gt_dir / f"{cam}.txt" if gt_dir is not None else None
            p = run_dir / "mot" / f"{cam}.txt" if run_dir is not None else None
            gt_tables[cam] = read_mot(g) if g is not None and g.is_file() else None
            pred_tables[cam] = read_mot(p) if p is not None and p.is_file() else None
        return gt_tables[cam], pred_tables[cam]

    # 1. what to show: per event the cameras and frames
    frames = analysis.frames
    plans: list[tuple[IdEvent, list[str], np.ndarray]] = []
    for event in worst_switches(analysis, top_k):
        cams = [c for c in event.cameras if c in usable]
        if not cams:  # no camera in the log: those whose ground truth shows the person
            for cam in usable:
                gt_tab = tables(cam)[0]
                if gt_tab is not None and ((gt_tab.frame == event.frame)
                                           & (gt_tab.track_id == event.gt_id)).any():
                    cams.append(cam)
        cams = cams[:max_cameras] or list(usable)[:1]
        step = int(np.searchsorted(frames, event.frame))
        idx = np.clip(step + np.asarray(offsets_steps, dtype=np.int64), 0, len(frames) - 1)
        plans.append((event, cams, np.unique(frames[idx])))

    # 2. read each camera's video once, in frame order, keeping only the tiles
    tiles: dict[tuple[int, str, int], np.ndarray] = {}
    for cam in sorted({c for _, cams, _ in plans for c in cams}):
        wanted = sorted({(int(f), k) for k, (_, cams, fs) in enumerate(plans) if cam in cams
                         for f in fs})
        gt_tab, pred_tab = tables(cam)
        with VideoFrames(usable[cam]) as video:
            for f, k in wanted:
                event = plans[k][0]
                tiles[(k, cam, f)] = _tile(video.read(f), cam, f, event, gt_tab, pred_tab)

    # 3. compose and write
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, (event, cams, fs) in enumerate(plans):
        rows = [np.concatenate([tiles[(k, cam, int(f))] for f in fs], axis=1) for cam in cams]
        strip = np.concatenate(rows, axis=0)
        header = np.zeros((24, strip.shape[1], 3), np.uint8)
        put_text(header, f"frame {event.frame}  gt {event.gt_id}: id {event.prev_pred_id} -> "
                 f"{event.new_pred_id}  ({', '.join(event.causes)})", (4, 16), scale=0.45)
        path = out_dir / f"switch_{k + 1:02d}_f{event.frame}_gt{event.gt_id}.png"
        cv2.imwrite(str(path), np.concatenate([header, strip], axis=0))
        written.append((event, path))
    return written


def _boxes_at(table: MotTable | None, frame: int) -> MotTable | None:
    if table is None:
        return None
    return table[table.frame == frame]


def _tile(
    image: np.ndarray | None,
    cam: str,
    frame: int,
    event: IdEvent,
    gt_tab: MotTable | None,
    pred_tab: MotTable | None,
) -> np.ndarray:
    th = TILE_HEIGHT_PX
    tw = int(round(th * TILE_ASPECT_WH))
    if image is None:
        tile = np.full((th, tw, 3), 30, np.uint8)
        put_text(tile, "no frame", (tw // 2, th // 2), (160, 160, 160), 0.4, center=True)
        put_text(tile, f"{cam} f{frame}", (4, 14), scale=0.4)
        return tile
    image = image.copy()
    preds = _boxes_at(pred_tab, frame)
    if preds is not None and len(preds):
        draw_boxes(image, preds.track_id, preds.tlwh, thickness=2)
    gts = _boxes_at(gt_tab, frame)
    focus = []
    if gts is not None:
        for gid, colour in ((event.gt_id, GT_BGR), (event.other_gt_id, OTHER_GT_BGR)):
            rows = gts[gts.track_id == gid] if gid is not None else None
            if rows is not None and len(rows):
                x1, y1, x2, y2 = rows.xyxy[0]
                cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), colour, 1)
                focus.append(rows.xyxy[0])
    if focus:
        boxes = np.asarray(focus)
        x1, y1 = boxes[:, :2].min(axis=0)
        x2, y2 = boxes[:, 2:].max(axis=0)
        crop_h = max((y2 - y1) * CROP_CONTEXT, (x2 - x1) * CROP_CONTEXT / TILE_ASPECT_WH,
                     MIN_CROP_PX)
        crop = _crop_padded(image, (x1 + x2) / 2, (y1 + y2) / 2, crop_h * TILE_ASPECT_WH, crop_h)
    else:
        crop = _letterbox(image, TILE_ASPECT_WH)
    tile = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_AREA)
    put_text(tile, f"{cam} f{frame}", (4, 14), scale=0.4)
    return tile


def _crop_padded(image: np.ndarray, cx: float, cy: float, w: float, h: float) -> np.ndarray:
    """The (h, w) window centred on (cx, cy), black where it leaves the image."""
    w, h = max(2, int(round(w))), max(2, int(round(h)))
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    out = np.zeros((h, w, 3), np.uint8)
    ih, iw = image.shape[:2]
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + w, iw), min(y0 + h, ih)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _letterbox(image: np.ndarray, aspect_wh: float) -> np.ndarray:
    """The image padded with black to the aspect ratio ``aspect_wh``."""
    h, w = image.shape[:2]
    if w / h > aspect_wh:
        return _crop_padded(image, w / 2, h / 2, w, w / aspect_wh)
    return _crop_padded(image, w / 2, h / 2, h * aspect_wh, h)
