"""Frame sources: video files, image folders, network streams and devices, grouped by time.

:class:`MultiCameraSource` yields one :class:`Step` per tick of a common clock (the fastest camera's
frame rate): each camera contributes the newest frame it has for that instant, or nothing when it
has none (it lags, dropped a frame, or ended). Files are read in lock-step with no waiting; live
streams are read by one thread each, which keeps only the newest frame, so a slow or dead camera
never stalls the others, and a dropped stream reconnects with exponential backoff.

Example::

    with MultiCameraSource.from_config(cams_config) as source:
        for step in source:                        # step.frame is 1-based, step.t_s in seconds
            for cam_id, frame in step.frames.items():
                ...  # frame.image_bgr (H, W, 3) uint8
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from mtmc.config import CameraConfig, CamsConfig
from mtmc.configtools import redact

__all__ = [
    "CameraSource",
    "Frame",
    "ImageFolderSource",
    "MultiCameraSource",
    "SourceError",
    "Step",
    "StreamSource",
    "VideoFileSource",
    "open_source",
]

log = logging.getLogger("mtmc.sources")

DEFAULT_FOLDER_FPS = 10.0  # image folders carry no frame rate; override with cameras[].fps
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
RECONNECT_FIRST_S = 1.0  # first wait before reconnecting a dropped stream; doubles each failure
RECONNECT_MAX_S = 30.0


class SourceError(RuntimeError):
    """A camera's frames cannot be read; the message names the camera and what to do."""


@dataclass
class Frame:
    """One decoded frame of one camera."""

    camera_id: str
    image_bgr: np.ndarray  # (H, W, 3) uint8, OpenCV's BGR order
    frame: int  # 1-based position in this camera's stream
    t_s: float  # seconds since the start of the stream


@dataclass
class Step:
    """The frames of all cameras for one tick of the common clock."""

    frame: int  # 1-based tick number (equals each camera's frame number when fps agree)
    t_s: float
    frames: dict[str, Frame] = field(default_factory=dict)


class CameraSource(Protocol):
    camera_id: str
    fps: float
    size_wh: tuple[int, int]

    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended."""

    def close(self) -> None: ...


def _describe(cam: CameraConfig) -> str:
    return f"camera {cam.id!r} ({redact(str(cam.source))})"


class VideoFileSource:
    """Frames of a video file; timestamps are ``(frame - 1) / fps``."""

    def __init__(self, cam: CameraConfig) -> None:
        self.camera_id = cam.id
        self._cap = cv2.VideoCapture(str(cam.source))
        if not self._cap.isOpened():
            raise SourceError(
                f"{_describe(cam)}: cannot open the video; check that the file exists and is a video "
                "OpenCV can decode (mp4/H.264, avi, ...)"
            )
        ok, first = self._cap.read()
        if not ok:
            raise SourceError(f"{_describe(cam)}: the video has no readable frame")
        self._pending: np.ndarray | None = first
        reported = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(cam.fps or (reported if reported and reported > 0 else 0))
        if self.fps <= 0:
            raise SourceError(f"{_describe(cam)}: the video reports no frame rate; set cameras[].fps")
        self.size_wh = (first.shape[1], first.shape[0])
        self._count = 0

    def read(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._cap.read()
            if not ok:
                return None
        self._count += 1
        return Frame(self.camera_id, image, self._count, (self._count - 1) / self.fps)

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource:
    """Frames from the images of a folder, in file-name order."""

    def __init__(self, cam: CameraConfig) -> None:
        self.camera_id = cam.id
        folder = Path(str(cam.source))
        self._paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._paths:
            raise SourceError(
                f"{_describe(cam)}: the folder has no images ({', '.join(IMAGE_SUFFIXES)})"
            )
        self.fps = float(cam.fps or DEFAULT_FOLDER_FPS)
        first = self._load(self._paths[0])
        self.size_wh = (first.shape[1], first.shape[0])
        self._count = 0

    def _load(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"camera {self.camera_id!r}: cannot decode image {path}")
        return image

    def read(self) -> Frame | None:
        if self._count >= len(self._paths):
            return None
        image = self._load(self._paths[self._count])
        self._count += 1
        return Frame(self.camera_id, image, self._count, (self._count - 1) / self.fps)

    def close(self) -> None:
        self._paths = []


class StreamSource:
    """A live stream (rtsp://, http://, device index) read by a background thread.

    Only the newest frame is kept, so a slow consumer drops frames instead of falling behind. When
    the stream fails, the thread reconnects with exponential backoff and logs each attempt (with
    credentials removed from the URL). ``read`` returns the newest unseen frame if it is at most
    ``max_latency_s`` old, after waiting at most ``timeout_s`` for one; otherwise None.
    """

    def __init__(
        self,
        cam: CameraConfig,
        open_capture: Callable[[str | int], cv2.VideoCapture] = cv2.VideoCapture,
        timeout_s: float = 0.0,
        max_latency_s: float = 0.5,
    ) -> None:
        self.camera_id = cam.id
        self._name = _describe(cam)
        self._source = cam.source
        self._open = open_capture
        self._timeout_s = timeout_s
        self._max_latency_s = max_latency_s
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None
        self._latest_t = 0.0
        self._stop = threading.Event()
        self._count = 0
        self._t0 = time.monotonic()
        self.reconnects = 0
        cap = self._open(self._source)
        if not cap.isOpened():
            raise SourceError(f"{self._name}: cannot connect; check the URL, credentials and network")
        reported = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(cam.fps or (reported if reported and reported > 0 else 0) or 25.0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size_wh = (width, height)
        self._thread = threading.Thread(target=self._run, args=(cap,), daemon=True,
                                        name=f"stream-{cam.id}")
        self._thread.start()

    def _run(self, cap: cv2.VideoCapture) -> None:
        wait_s = RECONNECT_FIRST_S
        while not self._stop.is_set():
            ok, image = cap.read() if cap is not None else (False, None)
            if ok:
                wait_s = RECONNECT_FIRST_S
                with self._cond:
                    self._latest = image
                    self._latest_t = time.monotonic() - self._t0
                    self._cond.notify_all()
                continue
            if cap is not None:
                cap.release()
            log.warning("%s: stream dropped; reconnecting in %.0f s", self._name, wait_s)
            if self._stop.wait(wait_s):
                break
            wait_s = min(wait_s * 2, RECONNECT_MAX_S)
            cap = self._open(self._source)
            if cap.isOpened():
                self.reconnects += 1
                log.info("%s: reconnected", self._name)
            else:
                cap.release()
                cap = None
        if cap is not None:
            cap.release()

    def read(self) -> Frame | None:
        with self._cond:
            if self._latest is None:
                self._cond.wait(self._timeout_s)
            if self._latest is None:
                return None
            image, self._latest = self._latest, None
            if time.monotonic() - self._t0 - self._latest_t > self._max_latency_s:
                return None  # too old to be worth processing
            self._count += 1
            return Frame(self.camera_id, image, self._count, self._latest_t)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


def open_source(cam: CameraConfig) -> CameraSource:
    """Open the right source for a camera's ``source`` value."""
    if cam.is_stream:
        return StreamSource(cam)
    path = Path(str(cam.source))
    if path.is_dir():
        return ImageFolderSource(cam)
    if not path.exists():
        raise SourceError(f"{_describe(cam)}: file not found")
    return VideoFileSource(cam)


class MultiCameraSource:
    """Groups the frames of several cameras by time (see the module docstring).

    Args:
        sources: one per camera.
        live: pace the clock by wall time (streams) instead of reading files as fast as possible.
    """

    def __init__(self, sources: Sequence[CameraSource], live: bool = False) -> None:
        if not sources:
            raise ValueError("MultiCameraSource needs at least one camera")
        self.sources = list(sources)
        self.fps = max(s.fps for s in self.sources)
        self.live = live

    @classmethod
    def from_config(cls, config: CamsConfig) -> MultiCameraSource:
        opened: list[CameraSource] = []
        try:
            for cam in config.cameras:
                opened.append(open_source(cam))
        except BaseException:
            for s in opened:
                s.close()
            raise
        return cls(opened, live=any(c.is_stream for c in config.cameras))

    def __enter__(self) -> MultiCameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for s in self.sources:
            s.close()

    def __iter__(self) -> Iterator[Step]:
        return self._live() if self.live else self._files()

    def _files(self) -> Iterator[Step]:
        # A frame belongs to tick k when its timestamp is the latest one <= k / fps (half a tick of
        # tolerance absorbs rounding in reported frame rates).
        pending: dict[str, Frame | None] = {s.camera_id: s.read() for s in self.sources}
        half_tick = 0.5 / self.fps
        tick = 0
        while any(f is not None for f in pending.values()):
            t_s = tick / self.fps
            step = Step(frame=tick + 1, t_s=t_s)
            for src in self.sources:
                frame = pending[src.camera_id]
                while frame is not None and frame.t_s <= t_s + half_tick:
                    step.frames[src.camera_id] = frame
                    frame = src.read()
                pending[src.camera_id] = frame
            yield step
            tick += 1

    def _live(self) -> Iterator[Step]:
        start = time.monotonic()
        tick = 0
        while True:
            t_s = tick / self.fps
            delay = start + t_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            step = Step(frame=tick + 1, t_s=t_s)
            for src in self.sources:
                frame = src.read()
                if frame is not None:
                    step.frames[src.camera_id] = frame
            yield step
            tick += 1
