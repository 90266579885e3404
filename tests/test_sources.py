from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mtmc import sources as src_mod
from mtmc.config import CameraConfig
from mtmc.sources import (
    ImageFolderSource,
    MultiCameraSource,
    SourceError,
    StreamSource,
    VideoFileSource,
    open_source,
)


def write_video(path: Path, n: int, fps: float, size: tuple[int, int] = (64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), i * 10 % 256, np.uint8))
    writer.release()
    return path


def cam(cid: str, source: str | int, fps: float | None = None) -> CameraConfig:
    return CameraConfig(id=cid, source=source, calibration=Path("unused.json"), fps=fps)


def test_video_file_frames_and_timestamps(tmp_path: Path) -> None:
    s = VideoFileSource(cam("a", str(write_video(tmp_path / "a.mp4", 5, 10))))
    frames = []
    while (f := s.read()) is not None:
        frames.append(f)
    s.close()
    assert [f.frame for f in frames] == [1, 2, 3, 4, 5]
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert s.size_wh == (64, 48) and frames[0].image_bgr.shape == (48, 64, 3)


def test_fps_override(tmp_path: Path) -> None:
    s = VideoFileSource(cam("a", str(write_video(tmp_path / "a.mp4", 3, 10)), fps=7.0))
    assert s.fps == 7.0
    s.read()
    assert s.read().t_s == pytest.approx(1 / 7)


def test_unreadable_video_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(SourceError, match=r"camera 'a' \(.*bad.mp4\): cannot open the video"):
        open_source(cam("a", str(bad)))
    with pytest.raises(SourceError, match="file not found"):
        open_source(cam("a", str(tmp_path / "missing.mp4")))


def test_image_folder(tmp_path: Path) -> None:
    for i in (2, 1, 3):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((10, 20, 3), i, np.uint8))
    s = open_source(cam("a", str(tmp_path), fps=5))
    assert isinstance(s, ImageFolderSource) and s.size_wh == (20, 10)
    values = []
    while (f := s.read()) is not None:
        values.append(int(f.image_bgr[0, 0, 0]))
    assert values == [1, 2, 3]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="the folder has no images"):
        open_source(cam("b", str(empty)))


def test_cameras_with_different_fps_are_grouped_by_time(tmp_path: Path) -> None:
    fast = VideoFileSource(cam("fast", str(write_video(tmp_path / "f.mp4", 10, 10))))
    slow = VideoFileSource(cam("slow", str(write_video(tmp_path / "s.mp4", 3, 5))))
    steps = list(MultiCameraSource([fast, slow]))
    assert len(steps) == 10  # the fast camera sets the clock; the slow one ends after 0.4 s
    assert [s.frame for s in steps] == list(range(1, 11))
    assert [sorted(s.frames) for s in steps[:6]] == [
        ["fast", "slow"], ["fast"], ["fast", "slow"], ["fast"], ["fast", "slow"], ["fast"]
    ]
    assert [s.frames["slow"].frame for s in steps if "slow" in s.frames] == [1, 2, 3]
    for s in steps:
        for f in s.frames.values():
            assert abs(f.t_s - s.t_s) < 0.5 / 10 + 1e-9


class FakeCapture:
    """A stream that delivers ``frames`` frames, then fails."""

    def __init__(self, frames: int, opened: bool = True) -> None:
        self.frames = frames
        self.opened = opened

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 10.0, cv2.CAP_PROP_FRAME_WIDTH: 8, cv2.CAP_PROP_FRAME_HEIGHT: 6}.get(prop, 0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        time.sleep(0.005)
        return True, np.zeros((6, 8, 3), np.uint8)

    def release(self) -> None:
        pass


def test_stream_reconnects_with_backoff(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(src_mod, "RECONNECT_FIRST_S", 0.01)
    attempts = []

    def opener(source: str | int) -> FakeCapture:
        attempts.append(source)
        # first connection works briefly, the next attempt fails, then it comes back for good
        return FakeCapture(3, opened=len(attempts) != 2) if len(attempts) < 3 else FakeCapture(10**6)

    url = "rtsp://user:secret@cam.local/1"
    with caplog.at_level("INFO", logger="mtmc.sources"):
        s = StreamSource(cam("door", url), open_capture=opener, timeout_s=1.0)
        deadline = time.monotonic() + 5
        while s.reconnects < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        frame = s.read()
        s.close()
    assert s.reconnects >= 1 and len(attempts) >= 3
    assert frame is not None and frame.camera_id == "door" and s.size_wh == (8, 6)
    assert "stream dropped; reconnecting" in caplog.text and "reconnected" in caplog.text
    assert "secret" not in caplog.text and "rtsp://***@cam.local/1" in caplog.text


def test_stream_that_never_connects() -> None:
    with pytest.raises(SourceError, match=r"camera 'door' \(rtsp://\*\*\*@x/1\): cannot connect"):
        StreamSource(cam("door", "rtsp://u:p@x/1"), open_capture=lambda s: FakeCapture(0, opened=False))


def test_live_mode_does_not_wait_for_a_dead_camera() -> None:
    alive = StreamSource(cam("alive", 0), open_capture=lambda s: FakeCapture(10**6), timeout_s=0.2)
    dead = StreamSource(cam("dead", 1), open_capture=lambda s: FakeCapture(0))
    multi = MultiCameraSource([alive, dead], live=True)
    start = time.monotonic()
    steps = []
    for step in multi:
        steps.append(step)
        if len(steps) == 5:
            break
    multi.close()
    assert time.monotonic() - start < 2.0
    assert all("dead" not in s.frames for s in steps)
    assert sum("alive" in s.frames for s in steps) >= 3
