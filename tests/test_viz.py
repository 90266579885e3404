"""Bird's-eye rendering: palette, floor maps, streaming readers, layout, frame count, memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from calib import PinholeCamera
from calib.io import save_camera
from mtmc.viz import (
    BevRenderer,
    BevStyle,
    FloorMap,
    FrameRows,
    TrailBuffer,
    VideoFrames,
    floor_bounds_m,
    id_color_bgr,
    id_colors_bgr,
    iter_rtls,
    render_bev,
    resolve_scene,
)
from mtmc.viz.draw import tile_layout
from mtmc.viz.streams import RtlsStep

SIZE_WH = (64, 36)
FPS = 10.0


def _cameras() -> dict[str, PinholeCamera]:
    return {
        "cam1": PinholeCamera.look_at((-1.0, -3.0, 3.0), (4.0, 3.0, 0.0), SIZE_WH, 80.0, "cam1"),
        "cam2": PinholeCamera.look_at((9.0, -3.0, 3.0), (4.0, 3.0, 0.0), SIZE_WH, 80.0, "cam2"),
    }


def _write_scene(root: Path, n_steps: int, *, videos: bool = True, id_every: int = 0) -> Path:
    """cams.yaml, calibration, tiny videos, gt/world.txt and a run folder with ``n_steps`` steps.

    ``id_every``: when > 0 the walker's global id changes every this many steps (ids come and go).
    Returns the run folder (its summary.json records the cams.yaml).
    """
    cams = _cameras()
    for sub in ("calibration", "videos", "gt"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for cid, cam in cams.items():
        save_camera(cam, root / "calibration" / f"{cid}.json")
        if videos:
            writer = cv2.VideoWriter(str(root / "videos" / f"{cid}.mp4"),
                                     cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE_WH)
            for f in range(n_steps):
                writer.write(np.full((SIZE_WH[1], SIZE_WH[0], 3), 10 * (f % 20), np.uint8))
            writer.release()
    (root / "cams.yaml").write_text(yaml.safe_dump({
        "name": "viz",
        "cameras": [{"id": c, "source": f"videos/{c}.mp4", "calibration": f"calibration/{c}.json"}
                    for c in cams],
        "eval": {"world": "gt/world.txt"},
    }))
    run = root / "run"
    (run / "mot").mkdir(parents=True, exist_ok=True)
    with open(run / "rtls.jsonl", "w") as rtls, open(root / "gt" / "world.txt", "w") as world, \
            open(run / "mot" / "cam1.txt", "w") as mot:
        for k in range(n_steps):
            f = k + 1
            x = 1.0 + 6.0 * (k % 100) / 100
            gid = 1 + (k // id_every if id_every else 0)
            objects = [{"id": gid, "x": round(x, 3), "y": 2.0, "cams": {"cam1": 1}}] + [
                {"id": 900 + j, "x": 0.5 * j, "y": 4.0, "cams": {}} for j in range(8)]
            rtls.write(json.dumps({"frame": f, "t": round(k / FPS, 4), "objects": objects}) + "\n")
            world.write(f"{f},1,{x:.3f},2.1,0.0\n")
            mot.write(f"{f},{gid},10,5,12,24,1,-1,-1,-1\n")
    (run / "summary.json").write_text(json.dumps({"cams_yaml": str(root / "cams.yaml")}))
    return run


def _count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    cap = cv2.VideoCapture(str(path))
    n, size = 0, (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n, size = n + 1, (image.shape[1], image.shape[0])
    cap.release()
    return n, size


# -- palette ---------------------------------------------------------------------------------


def test_palette_hand_computed_colours() -> None:
    # id 0: hue 0 (red), s = 0.85, v = 0.95 -> R = 0.95 * 255, G = B = 0.95 * (1 - 0.85) * 255
    low = round(0.95 * 0.15 * 255)
    assert id_color_bgr(0) == (low, low, round(0.95 * 255))
    # id 1: hue 0.618 -> sector 3 (r = p, g = q, b = v) with s = 0.65, v = 0.80
    frac = 0.618033988749895 * 6 - 3
    p, q, v = 0.8 * (1 - 0.65), 0.8 * (1 - 0.65 * frac), 0.8
    assert id_color_bgr(1) == (round(v * 255), round(q * 255), round(p * 255))


def test_palette_is_deterministic_and_separates_neighbours() -> None:
    ids = np.arange(-5, 200)
    colours = id_colors_bgr(ids)
    assert colours.shape == (len(ids), 3) and colours.dtype == np.uint8
    np.testing.assert_array_equal(colours, id_colors_bgr(ids))
    singles = [id_color_bgr(int(i)) for i in ids[:20]]
    assert singles == [tuple(int(c) for c in row) for row in colours[:20]]
    # consecutive ids are clearly different colours
    step = np.abs(colours[1:].astype(int) - colours[:-1].astype(int)).sum(axis=1)
    assert step.min() > 60
    # the same in a fresh interpreter (no hash seeds, no process state)
    code = "from mtmc.viz.palette import id_color_bgr; print(id_color_bgr(12345))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == str(id_color_bgr(12345))


# -- floor map, layout, trails ---------------------------------------------------------------


def test_grid_map_transform_and_size() -> None:
    fmap = FloorMap.grid((0.0, 0.0, 10.0, 6.0), px_per_m=20.0, pad_px=24)
    assert fmap.size_wh == (10 * 20 + 2 * 24, 6 * 20 + 2 * 24)
    # x right, y up: (0, 0) is bottom-left inside the padding, (10, 6) top-right
    np.testing.assert_allclose(fmap.to_px([[0, 0], [10, 6]]),
                               [[24, 24 + 6 * 20], [24 + 10 * 20, 24]])
    assert fmap.px_per_m == pytest.approx(20.0)
    half = fmap.scaled(0.5)
    np.testing.assert_allclose(half.to_px([[10, 6]]), [[(24 + 200) * 0.5, 24 * 0.5]])


def test_floor_map_from_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "floor.png"), np.zeros((100, 200, 3), np.uint8))
    (tmp_path / "floor.json").write_text(json.dumps({"px_per_m": 10.0, "origin_m": [-2.0, 8.0]}))
    fmap = FloorMap.from_files(tmp_path / "floor.png", tmp_path / "floor.json")
    # pixel (0, 0) is floor (-2, 8); one metre is 10 px, image y down = floor -y
    np.testing.assert_allclose(fmap.to_px([[-2, 8], [0, 5]]), [[0, 0], [20, 30]])
    T = [[5.0, 0, 1], [0, -5.0, 99], [0, 0, 1]]
    (tmp_path / "floor.json").write_text(json.dumps({"T_floor_m_to_px": T}))
    fmap = FloorMap.from_files(tmp_path / "floor.png", tmp_path / "floor.json")
    np.testing.assert_allclose(fmap.to_px([[2, 3]]), [[5 * 2 + 1, -5 * 3 + 99]])
    (tmp_path / "floor.json").write_text("{}")
    with pytest.raises(ValueError, match="T_floor_m_to_px"):
        FloorMap.from_files(tmp_path / "floor.png", tmp_path / "floor.json")


def test_floor_bounds_cover_fields_of_view_and_cameras() -> None:
    cams = _cameras()
    x0, y0, x1, y1 = floor_bounds_m(cams.values(), max_range_m=8.0, margin_m=1.0)
    for cam in cams.values():
        fx0, fy0, fx1, fy1 = cam.fov_polygon(8.0).bounds
        assert x0 <= fx0 - 1 and y0 <= fy0 - 1 and x1 >= fx1 + 1 and y1 >= fy1 + 1
        assert x0 <= cam.center_m[0] - 1 and y0 <= cam.center_m[1] - 1
    assert (x1 - x0) < 2 * 8.0 + 10 + 4  # not more than fields of view + margins + rounding


@pytest.mark.parametrize(
    ("n", "rows", "cols", "tile_w"),
    [
        (1, 1, 1, 560),  # the panel may be 16 / 9 * 720 - 720 = 560 px wide
        (4, 4, 1, 320),  # one column: min(560, 720 / 4 * 16 / 9) = 320; two: 280
        (16, 6, 3, 186),  # three columns: min(560 / 3, 720 / 6 * 16 / 9) = 186.7
    ],
)
def test_tile_layout_adapts_to_camera_count(n: int, rows: int, cols: int, tile_w: int) -> None:
    layout = tile_layout(n, 16 / 9, 720, beside_width_px=720)
    assert (layout.rows, layout.cols, layout.tile_w) == (rows, cols, tile_w)
    assert layout.rows * layout.cols >= n and layout.rows * layout.tile_h <= 720


def test_trail_buffer_is_bounded_and_forgets_old_ids() -> None:
    trails = TrailBuffer(3)
    for step in range(5):
        trails.update(step, np.array([7]), np.array([[float(step), 0.0]]))
    np.testing.assert_array_equal(trails.trails()[7], [[2, 0], [3, 0], [4, 0]])
    for step in range(5, 1000):  # a new id every 10 steps
        trails.update(step, np.array([step // 10]), np.array([[0.0, 0.0]]))
    assert len(trails) <= 3 and set(trails.trails()) == {99}
    trails.update(1000, np.array([99]), np.array([[0.0, 0.0]]))
    trails.update(1005, np.array([99]), np.array([[1.0, 0.0]]))  # gap: the trail restarts
    np.testing.assert_array_equal(trails.trails()[99], [[1, 0]])


# -- streaming readers -----------------------------------------------------------------------


def test_iter_rtls_and_frame_rows(tmp_path: Path) -> None:
    path = tmp_path / "rtls.jsonl"
    path.write_text('{"frame": 1, "t": 0.0, "objects": '
                    '[{"id": 3, "x": 1, "y": 2, "cams": {"b": 1, "a": 2}}]}\n'
                    "\n"
                    '{"frame": 2, "objects": []}\n')
    steps = list(iter_rtls(path))
    assert [s.frame for s in steps] == [1, 2] and np.isnan(steps[1].t_s)
    np.testing.assert_array_equal(steps[0].xy_m, [[1.0, 2.0]])
    assert steps[0].cams == (("a", "b"),) and steps[1].ids.shape == (0,)
    path.write_text('{"frame": 1, "objects": [{"id": 3, "x": "a", "y": 2}]}\n')
    with pytest.raises(ValueError, match=r"rtls.jsonl:1: objects\[0\]: 'x'"):
        list(iter_rtls(path))

    mot = tmp_path / "mot.txt"
    mot.write_text("1,5,1,2,3,4,1,-1,-1,-1\n3,5,2,2,3,4,1,-1,-1,-1\n3,6,9,9,1,1,1,-1,-1,-1\n")
    with FrameRows.mot(mot) as rows:
        ids, tlwh = rows.at(2)
        assert ids.shape == (0,) and tlwh.shape == (0, 4)
        ids, tlwh = rows.at(3)
        np.testing.assert_array_equal(ids, [5, 6])
        np.testing.assert_array_equal(tlwh[1], [9, 9, 1, 1])
        assert rows.at(4)[0].shape == (0,)
    mot.write_text("2,5,1,2,3,4\n1,5,1,2,3,4\n")
    with pytest.raises(ValueError, match="sorted by frame"), FrameRows.mot(mot) as rows:
        rows.at(5)


def test_video_frames_sequential_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE_WH)
    for f in range(6):
        writer.write(np.full((SIZE_WH[1], SIZE_WH[0], 3), 40 * f, np.uint8))
    writer.release()
    with VideoFrames(path) as video:
        assert video.fps == pytest.approx(FPS)
        assert abs(float(video.read(4).mean()) - 40 * 3) < 8  # frame 4 = index 3
        assert abs(float(video.read(2).mean()) - 40 * 1) < 8  # backwards reopens
        assert video.read(7) is None
    assert VideoFrames(None).read(1) is None
    assert VideoFrames(tmp_path / "missing.mp4").read(1) is None


# -- scene resolution ------------------------------------------------------------------------


def test_resolve_scene_from_summary_and_config_echo(tmp_path: Path) -> None:
    run = _write_scene(tmp_path, 3, videos=False)
    scene = resolve_scene(run)
    assert scene.camera_ids == ("cam1", "cam2") and scene.world_gt == tmp_path / "gt" / "world.txt"
    assert scene.videos["cam1"] is None  # no video written
    # a summary without the cams.yaml path but with the config echo (as mtmc.run writes it)
    echo = {"config": {"cameras": [
        {"id": "cam1", "source": str(tmp_path / "videos/cam1.mp4"),
         "calibration": str(tmp_path / "calibration/cam1.json")}],
        "eval": {"world": str(tmp_path / "gt/world.txt"), "mot": None}}}
    (run / "summary.json").write_text(json.dumps(echo))
    scene = resolve_scene(run)
    assert scene.camera_ids == ("cam1",) and scene.world_gt == tmp_path / "gt" / "world.txt"
    (run / "summary.json").write_text(json.dumps({"status": "complete"}))
    with pytest.raises(ValueError, match="--cams"):
        resolve_scene(run)


# -- rendering -------------------------------------------------------------------------------


def test_render_writes_one_frame_per_time_step(tmp_path: Path) -> None:
    run = _write_scene(tmp_path, 12)
    style = BevStyle(height_px=96, trail_steps=5)
    out = render_bev(run, tmp_path / "bev.mp4", with_cameras=True, gt=True, style=style,
                     progress=False)
    n, size = _count_frames(out.path)
    assert out.frames == n == 12 and size == out.size_wh
    assert size[0] % 2 == 0 and size[1] % 2 == 0 and size[1] == 96
    # the time range: t = k / 10 s, so 0.3 .. 0.7 s is steps k = 3..7
    out = render_bev(run, tmp_path / "part.mp4", start_s=0.3, end_s=0.7, style=style,
                     progress=False)
    assert out.frames == _count_frames(out.path)[0] == 5
    with pytest.raises(ValueError, match="no time step"):
        render_bev(run, tmp_path / "none.mp4", start_s=50.0, style=style, progress=False)


def test_one_colour_per_id_on_map_and_in_tiles() -> None:
    cams = _cameras()
    fmap = FloorMap.grid((-2.0, -4.0, 10.0, 8.0), px_per_m=10.0)
    renderer = BevRenderer(fmap, cams, BevStyle(height_px=fmap.size_wh[1]), tile_aspect_wh=16 / 9)
    step = RtlsStep(frame=1, t_s=0.0, ids=np.array([42]), xy_m=np.array([[4.0, 2.0]]))
    image = np.full((360, 640, 3), 128, np.uint8)
    boxes = (np.array([42]), np.array([[100.0, 100.0, 200.0, 200.0]]))
    frame = renderer.render(step, None, [(image, *boxes), (None, *boxes)])
    u, v = np.round(fmap.to_px([[4.0, 2.0]])[0] + [0, -renderer.disc_radius_px + 2]).astype(int)
    assert tuple(int(c) for c in frame[v, u]) == id_color_bgr(42)  # disc (above its number)
    layout = renderer.layout
    scale = layout.tile_w / 640
    x = fmap.size_wh[0] + int(round((100 + 200) * scale))  # the box's right edge in tile 1 ...
    y = int(round((100 + 200 / 2) * scale))  # ... half-way down
    assert tuple(int(c) for c in frame[y, x]) == id_color_bgr(42)


def test_render_memory_does_not_grow_with_run_length(tmp_path: Path) -> None:
    style = BevStyle(height_px=64, trail_steps=10)
    peaks = {}
    for n in (10, 50, 500):  # the first run warms caches
        run = _write_scene(tmp_path / f"s{n}", n, videos=False, id_every=20)
        tracemalloc.start()
        out = render_bev(run, tmp_path / f"bev{n}.mp4", gt=True, style=style, progress=False)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert out.frames == n
    # holding the log (10 objects per step) would add well over 100 bytes per object and step
    assert peaks[500] < peaks[50] * 1.1 + 32 * 1024, peaks
