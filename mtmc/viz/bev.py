"""Bird's-eye video of a run: global ids on the floor plan, optionally beside the camera frames.

One output frame per ``rtls.jsonl`` time step (within ``start_s`` .. ``end_s``). Every input is
streamed (:mod:`mtmc.viz.streams`): the RTLS log line by line, ``mot/<cam>.txt`` and
``gt/world.txt`` one frame's rows at a time, videos sequentially; trails are capped
(:class:`TrailBuffer`). Memory does not grow with the run's length.

What is drawn:

- the floor plan: the scene's ``floor.png`` when it sits next to the ``cams.yaml``, else a grid with
  metre labels over the cameras' fields of view;
- each camera's field of view and position (its own colour);
- each global id as a disc in its colour with its number, and a fading trail;
- optionally ground truth (``gt/world.txt`` from the cams.yaml eval section) as hollow rings;
- optionally (``with_cameras``) every camera's frame with the run's boxes and global ids
  (``mot/<cam>.txt``), tiled beside the map.

Example::

    result = render_bev("runs/demo", "runs/demo/bev.mp4", with_cameras=True, gt=True)
    result.frames, result.size_wh, result.fps
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from calib import Camera
from mtmc.viz.draw import (
    TileLayout,
    camera_color_bgr,
    draw_boxes,
    draw_cameras,
    draw_discs,
    draw_gt_markers,
    draw_trails,
    put_text,
    tile_frames,
    tile_layout,
)
from mtmc.viz.floormap import FloorMap, floor_bounds_m
from mtmc.viz.inputs import SceneFiles, resolve_scene
from mtmc.viz.streams import FrameRows, RtlsStep, VideoFrames, count_rtls_steps, iter_rtls

__all__ = ["BevRenderer", "BevResult", "BevStyle", "TrailBuffer", "render_bev"]

DEFAULT_FPS = 10.0  # output frame rate when neither the log's times nor a video tell it


@dataclass(frozen=True)
class BevStyle:
    """How the video looks.

    Attributes:
        height_px: output height; the map is scaled to it and camera tiles share it.
        trail_steps: time steps of history drawn behind each id (longer trails show more of the
            path and cost more drawing).
        disc_radius_m: radius of an id's disc on the floor (at least ``min_disc_radius_px``).
        min_disc_radius_px: smallest disc radius, so ids stay readable on large floors.
        fov_range_m: fields of view are drawn (and the grid's extent taken) within this
            distance of each camera.
        target_aspect_wh: with camera tiles, the tile grid is chosen so the whole frame comes
            closest to this aspect ratio.
    """

    height_px: int = 720
    trail_steps: int = 30
    disc_radius_m: float = 0.3
    min_disc_radius_px: int = 7
    fov_range_m: float = 20.0
    target_aspect_wh: float = 16 / 9

    def __post_init__(self) -> None:
        if self.height_px < 32:
            raise ValueError(f"BevStyle.height_px must be >= 32, got {self.height_px}")
        if self.trail_steps < 0:
            raise ValueError(f"BevStyle.trail_steps must be >= 0, got {self.trail_steps}")
        for name in ("disc_radius_m", "fov_range_m", "target_aspect_wh"):
            if not getattr(self, name) > 0:
                raise ValueError(f"BevStyle.{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class BevResult:
    """What :func:`render_bev` wrote: the file, its frame count, size and frame rate."""

    path: Path
    frames: int
    size_wh: tuple[int, int]
    fps: float


class TrailBuffer:
    """The last ``max_steps`` positions of each id, forgetting ids unseen for ``max_steps`` steps.

    Memory is bounded by (ids present within the last ``max_steps`` steps) x ``max_steps``.

    Example::

        trails = TrailBuffer(3)
        for step in range(5):
            trails.update(step, np.array([7]), np.array([[step, 0.0]]))
        trails.trails()[7]        # [[2, 0], [3, 0], [4, 0]]
    """

    def __init__(self, max_steps: int) -> None:
        self.max_steps = int(max_steps)
        self._points: dict[int, deque[tuple[float, float]]] = {}
        self._last_step: dict[int, int] = {}

    def update(self, step: int, ids: np.ndarray, xy_m: np.ndarray) -> None:
        """Add the positions (K, 2) metres of ``ids`` (K,) at time step index ``step``."""
        if self.max_steps == 0:
            return
        for tid, (x, y) in zip(ids.tolist(), xy_m.tolist(), strict=True):
            points = self._points.get(tid)
            if points is None or self._last_step[tid] < step - 1:
                points = self._points[tid] = deque(maxlen=self.max_steps)  # gap: start afresh
            points.append((x, y))
            self._last_step[tid] = step
        stale = [tid for tid, last in self._last_step.items() if last <= step - self.max_steps]
        for tid in stale:
            del self._points[tid], self._last_step[tid]

    def trails(self) -> dict[int, np.ndarray]:
        """id -> (L, 2) float64 positions, oldest first."""
        return {tid: np.asarray(p, dtype=np.float64) for tid, p in self._points.items()}

    def __len__(self) -> int:
        """Number of positions held (all ids)."""
        return sum(len(p) for p in self._points.values())


class BevRenderer:
    """Draws one output frame per time step; holds the static background and the trails.

    Args:
        fmap: the floor plan, already at its output size.
        cameras: camera id -> calibrated camera, in ``cams.yaml`` order.
        style: see :class:`BevStyle` (default ``BevStyle()``).
        tile_aspect_wh: camera image aspect for the tiles; ``None``: no camera tiles.
    """

    def __init__(
        self,
        fmap: FloorMap,
        cameras: Mapping[str, Camera],
        style: BevStyle | None = None,
        tile_aspect_wh: float | None = None,
    ) -> None:
        self.fmap = fmap
        self.camera_ids = list(cameras)
        style = style if style is not None else BevStyle()
        self.style = style
        self.background = fmap.image.copy()
        draw_cameras(self.background, fmap, cameras, style.fov_range_m)
        self.trails = TrailBuffer(style.trail_steps)
        self.disc_radius_px = max(style.min_disc_radius_px,
                                  int(round(style.disc_radius_m * fmap.px_per_m)))
        map_w, map_h = fmap.size_wh
        self.layout: TileLayout | None = None
        width = map_w
        if tile_aspect_wh is not None and self.camera_ids:
            self.layout = tile_layout(len(self.camera_ids), tile_aspect_wh, map_h, map_w,
                                      style.target_aspect_wh)
            width += self.layout.size_wh[0]
        # even sizes: many H.264/MPEG-4 encoders and players require them
        self.size_wh = (width + width % 2, map_h + map_h % 2)
        self._step = 0

    def render(
        self,
        step: RtlsStep,
        gt: tuple[np.ndarray, np.ndarray] | None = None,
        camera_frames: list[tuple[np.ndarray | None, np.ndarray, np.ndarray]] | None = None,
    ) -> np.ndarray:
        """The output frame (H, W, 3) uint8 BGR of one time step.

        Args:
            step: the time step (ids and floor positions).
            gt: ground-truth ``(ids (G,), xy_m (G, 2))`` of the step's frame, or None.
            camera_frames: per camera (``cams.yaml`` order) ``(image or None, ids (K,),
                tlwh (K, 4))`` of the step's frame; needed when the renderer has tiles.
        """
        self.trails.update(self._step, step.ids, step.xy_m)
        self._step += 1
        img = self.background.copy()
        draw_trails(img, self.fmap, self.trails.trails())
        if gt is not None:
            draw_gt_markers(img, self.fmap, gt[0], gt[1], self.disc_radius_px + 3)
        draw_discs(img, self.fmap, step.ids, step.xy_m, self.disc_radius_px)
        t_text = f"  t {step.t_s:.2f} s" if math.isfinite(step.t_s) else ""
        header = f"frame {step.frame}{t_text}  ids {len(step.ids)}"
        (tw, th), _ = cv2.getTextSize(header, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        cv2.rectangle(img, (0, 0), (tw + 12, th + 12), (0, 0, 0), -1)
        put_text(img, header, (6, th + 5), scale=0.45)
        out = np.zeros((self.size_wh[1], self.size_wh[0], 3), dtype=np.uint8)
        out[: img.shape[0], : img.shape[1]] = img
        if self.layout is not None:
            if camera_frames is None or len(camera_frames) != len(self.camera_ids):
                raise ValueError(
                    f"BevRenderer.render: expected {len(self.camera_ids)} camera frames, "
                    f"got {0 if camera_frames is None else len(camera_frames)}"
                )
            tiles = [self._tile(cid, *cf) for cid, cf in zip(self.camera_ids, camera_frames,
                                                              strict=True)]
            colours = [camera_color_bgr(k) for k in range(len(tiles))]
            panel = tile_frames(tiles, self.layout, img.shape[0], colours)
            out[: panel.shape[0], img.shape[1] : img.shape[1] + panel.shape[1]] = panel
        return out

    def _tile(
        self, cid: str, image: np.ndarray | None, ids: np.ndarray, tlwh: np.ndarray
    ) -> np.ndarray:
        assert self.layout is not None
        tw, th = self.layout.tile_w, self.layout.tile_h
        if image is None:
            tile = np.full((th, tw, 3), 24, dtype=np.uint8)
            put_text(tile, "no video", (tw // 2, th // 2), (160, 160, 160), 0.45, center=True)
        else:
            tile = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)
            draw_boxes(tile, ids, tlwh, scale=tw / image.shape[1],
                       thickness=1 if th < 200 else 2)
        put_text(tile, cid, (6, 16), scale=0.45)
        return tile


def render_bev(
    run_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    cams: str | Path | None = None,
    with_cameras: bool = False,
    gt: bool = False,
    start_s: float | None = None,
    end_s: float | None = None,
    fps: float | None = None,
    style: BevStyle | None = None,
    progress: bool = True,
) -> BevResult:
    """Render a run's bird's-eye MP4 (see the module docstring).

    Args:
        run_dir: run folder with ``rtls.jsonl`` (and ``mot/<cam>.txt`` for camera tiles).
        out_path: the MP4 to write; default ``run_dir/bev.mp4``.
        cams: the run's ``cams.yaml``; default the one recorded in ``summary.json``.
        with_cameras: tile the camera frames with boxes and global ids beside the map.
        gt: draw ground truth (the cams.yaml's ``eval.world``) as hollow rings.
        start_s, end_s: only time steps with ``start_s <= t <= end_s`` (seconds of the log's
            ``t``, or ``(frame - 1) / fps`` where the log has no times).
        fps: output frame rate; default ``1 / (t1 - t0)`` of the log's first two steps, else the
            first camera video's rate, else 10.
        style: sizes and lengths, see :class:`BevStyle` (default ``BevStyle()``).
        progress: show a tqdm progress bar.

    Raises:
        ValueError: no rtls.jsonl, no cams.yaml found, ``gt`` without ground truth, no time step
            within the range, or the video cannot be written.
    """
    run_dir = Path(run_dir)
    rtls_path = run_dir / "rtls.jsonl"
    if not rtls_path.is_file():
        raise ValueError(f"{rtls_path}: not found; is {run_dir} a run folder (python -m mtmc.run)?")
    out_path = Path(out_path) if out_path is not None else run_dir / "bev.mp4"
    style = style if style is not None else BevStyle()
    scene = resolve_scene(run_dir, cams)
    if gt and scene.world_gt is None:
        raise ValueError(
            "--gt: the cams.yaml has no eval.world (gt/world.txt); add it or drop --gt"
        )
    if start_s is not None and end_s is not None and end_s < start_s:
        raise ValueError(f"--end {end_s} s is before --start {start_s} s")

    fmap = _floor_map(scene, style)
    videos: list[VideoFrames] = []
    boxes: list[FrameRows | None] = []
    world: FrameRows | None = None
    writer: cv2.VideoWriter | None = None
    frames_written = 0
    try:
        if with_cameras:
            for cid in scene.camera_ids:
                videos.append(VideoFrames(scene.videos.get(cid)))
                mot = run_dir / "mot" / f"{cid}.txt"
                boxes.append(FrameRows.mot(mot) if mot.is_file() else None)
        fps = fps or _guess_fps(rtls_path, videos) or DEFAULT_FPS
        if not fps > 0:
            raise ValueError(f"--fps must be > 0, got {fps}")
        aspect = _tile_aspect(scene) if with_cameras else None
        renderer = BevRenderer(fmap, scene.cameras, style, aspect)
        if gt:
            assert scene.world_gt is not None
            world = FrameRows.world(scene.world_gt)
        steps = _steps_in_range(rtls_path, start_s, end_s, fps)
        total = (count_rtls_steps(rtls_path) if start_s is None and end_s is None
                 else sum(1 for _ in _steps_in_range(rtls_path, start_s, end_s, fps)))
        if total == 0:
            raise ValueError(f"{rtls_path}: no time step between {start_s} s and {end_s} s")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                                 renderer.size_wh)
        if not writer.isOpened():
            raise ValueError(f"{out_path}: cannot open an MP4 writer (mp4v) there")
        for step in tqdm(steps, total=total, desc="bev", unit="step", disable=not progress,
                         dynamic_ncols=True):
            gt_rows = world.at(step.frame) if world is not None else None
            camera_frames = None
            if with_cameras:
                camera_frames = []
                for video, mot in zip(videos, boxes, strict=True):
                    ids, tlwh = mot.at(step.frame) if mot is not None else _no_boxes()
                    camera_frames.append((video.read(step.frame), ids, tlwh))
            writer.write(renderer.render(step, gt_rows, camera_frames))
            frames_written += 1
    finally:
        if writer is not None:
            writer.release()
        for video in videos:
            video.release()
        for mot in boxes:
            if mot is not None:
                mot.close()
        if world is not None:
            world.close()
    return BevResult(out_path, frames_written, renderer.size_wh, float(fps))


def _no_boxes() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros((0, 4))


def _floor_map(scene: SceneFiles, style: BevStyle) -> FloorMap:
    if scene.floor_png is not None and scene.floor_json is not None:
        return FloorMap.from_files(scene.floor_png, scene.floor_json).fit_height(style.height_px)
    bounds = floor_bounds_m(scene.cameras.values(), style.fov_range_m)
    pad_px = 24
    px_per_m = (style.height_px - 2 * pad_px) / (bounds[3] - bounds[1])
    return FloorMap.grid(bounds, max(px_per_m, 1.0), pad_px=pad_px).fit_height(style.height_px)


def _tile_aspect(scene: SceneFiles) -> float:
    w, h = scene.cameras[scene.camera_ids[0]].image_size_wh
    return w / h


def _guess_fps(rtls_path: Path, videos: list[VideoFrames]) -> float | None:
    steps = iter_rtls(rtls_path)
    first, second = next(steps, None), next(steps, None)
    steps.close()
    if first is not None and second is not None:
        dt = second.t_s - first.t_s
        if math.isfinite(dt) and dt > 0:
            return 1.0 / dt
    return next((v.fps for v in videos if v.fps), None)


def _steps_in_range(
    rtls_path: Path, start_s: float | None, end_s: float | None, fps: float
) -> Iterator[RtlsStep]:
    for step in iter_rtls(rtls_path):
        t = step.t_s if math.isfinite(step.t_s) else (step.frame - 1) / fps
        if start_s is not None and t < start_s:
            continue
        if end_s is not None and t > end_s:
            break
        yield step
