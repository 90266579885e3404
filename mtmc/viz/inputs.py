"""Find what belongs to a run: cameras, videos, ground truth, floor plan, scene description.

A run folder (``python -m mtmc.run``) holds ``rtls.jsonl``, ``mot/<cam>.txt`` and
``summary.json``; the scene it ran on is described by a ``cams.yaml``. :func:`resolve_scene`
finds that scene, in this order:

1. the ``cams.yaml`` given explicitly;
2. a ``cams.yaml`` path recorded in ``summary.json`` (top-level key ``cams_yaml``, ``cams_path``
   or ``cams``);
3. the config echo ``summary.json["config"]`` (cameras with their calibration and source paths,
   the eval section), when the run did not record its ``cams.yaml``.

The floor plan (``floor.png`` + ``floor.json``) and ``scene.json`` are looked up next to the
``cams.yaml``; without a ``cams.yaml`` path, in the folder two levels above the ground-truth world
file (``SCENE/gt/world.txt``) or above the first calibration file (``SCENE/calibration/c.json``).

Example::

    scene = resolve_scene("runs/demo")                 # or cams="data/demo/cams.yaml"
    scene.cameras["cam1"].fov_polygon(20.0)            # calib Camera
    scene.videos["cam1"], scene.world_gt, scene.floor_png
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calib import Camera
from calib.io import load_calibration
from mtmc.config import load_cams

__all__ = ["SUMMARY_CAMS_KEYS", "SceneFiles", "resolve_scene", "scene_from_cams"]

# Keys of summary.json that may record the cams.yaml a run used.
SUMMARY_CAMS_KEYS = ("cams_yaml", "cams_path", "cams")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".ts")


@dataclass(frozen=True)
class SceneFiles:
    """The scene a run looked at.

    Attributes:
        camera_ids: camera ids in ``cams.yaml`` order.
        cameras: camera id -> calibrated camera (``calib`` model).
        videos: camera id -> local video file, or None (stream, device, image folder, missing).
        world_gt: ``gt/world.txt`` from the eval section, or None.
        floor_png, floor_json: the scene's floor plan and its metres -> pixels transform, or None.
        scene_json: the simulator's ``scene.json`` (people, look-alike groups), or None.
        cams_yaml: the ``cams.yaml`` it was read from (None when rebuilt from ``summary.json``).
    """

    camera_ids: tuple[str, ...]
    cameras: dict[str, Camera]
    videos: dict[str, Path | None]
    world_gt: Path | None = None
    floor_png: Path | None = None
    floor_json: Path | None = None
    scene_json: Path | None = None
    cams_yaml: Path | None = None


def resolve_scene(run_dir: str | Path, cams: str | Path | None = None) -> SceneFiles:
    """The scene of a run: from ``cams`` if given, else from the run's ``summary.json``.

    Raises:
        ValueError: no ``cams.yaml`` given and none recorded in ``summary.json`` (the message
            says to pass ``--cams``), unreadable files, a calibration that cannot be loaded.
    """
    if cams is not None:
        return scene_from_cams(cams)
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    hint = "pass --cams path/to/cams.yaml"
    if not summary_path.is_file():
        raise ValueError(f"{summary_path}: not found, so the run's cams.yaml is unknown; {hint}")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{summary_path}: invalid JSON ({err.msg}); {hint}") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{summary_path}: expected a JSON object; {hint}")
    for key in SUMMARY_CAMS_KEYS:
        value = summary.get(key)
        if isinstance(value, str) and value:
            path = Path(value)
            if not path.is_absolute():
                path = run_dir / path
            if not path.is_file():
                raise ValueError(f"{summary_path}: {key}: {value} not found; {hint}")
            return scene_from_cams(path)
    config = summary.get("config")
    if isinstance(config, dict) and isinstance(config.get("cameras"), list) and config["cameras"]:
        return _scene_from_echo(config, str(summary_path))
    raise ValueError(f"{summary_path}: records no cams.yaml and no camera config; {hint}")


def scene_from_cams(cams: str | Path) -> SceneFiles:
    """The scene described by a ``cams.yaml`` (paths inside resolve against its folder).

    Raises:
        ValueError (``ConfigError``): invalid YAML or schema, a missing calibration file.
    """
    path = Path(cams)
    config = load_cams(path, check_files=False)
    cameras: dict[str, Camera] = {}
    videos: dict[str, Path | None] = {}
    for i, cam in enumerate(config.cameras):
        cameras[cam.id] = _load_camera(Path(cam.calibration), cam.id, f"{path}: cameras[{i}]")
        videos[cam.id] = _video_path(cam.source)
    world = config.eval.world if config.eval is not None else None
    folder = path.resolve().parent
    return SceneFiles(
        camera_ids=tuple(c.id for c in config.cameras),
        cameras=cameras,
        videos=videos,
        world_gt=Path(world) if world is not None else None,
        **_scene_extras([folder]),
        cams_yaml=path,
    )


def _scene_from_echo(config: dict[str, Any], source: str) -> SceneFiles:
    cameras: dict[str, Camera] = {}
    videos: dict[str, Path | None] = {}
    ids: list[str] = []
    calib_paths: list[Path] = []
    for i, cam in enumerate(config["cameras"]):
        where = f"{source}: config.cameras[{i}]"
        if not isinstance(cam, dict) or not isinstance(cam.get("id"), str):
            raise ValueError(f"{where}: expected an object with id, source, calibration")
        calibration = cam.get("calibration")
        if not isinstance(calibration, str):
            raise ValueError(f"{where}: no calibration path; pass --cams path/to/cams.yaml")
        cameras[cam["id"]] = _load_camera(Path(calibration), cam["id"], where)
        videos[cam["id"]] = _video_path(cam.get("source"))
        ids.append(cam["id"])
        calib_paths.append(Path(calibration))
    ev = config.get("eval")
    world = ev.get("world") if isinstance(ev, dict) else None
    world_gt = Path(world) if isinstance(world, str) else None
    folders = ([world_gt.parent.parent] if world_gt is not None else []) + [
        calib_paths[0].parent.parent, calib_paths[0].parent
    ]
    return SceneFiles(tuple(ids), cameras, videos, world_gt=world_gt, **_scene_extras(folders))


def _load_camera(path: Path, camera_id: str, where: str) -> Camera:
    if not path.is_file():
        raise ValueError(f"{where}.calibration: file not found: {path}")
    try:
        return load_calibration(path, sensor=camera_id)
    except (ValueError, KeyError, OSError) as exc:
        raise ValueError(f"{where}.calibration: {exc}") from None


def _video_path(source: object) -> Path | None:
    """The local video file of a camera source, or None (stream URL, device, image folder)."""
    if not isinstance(source, str) or "://" in source or source.isdigit():
        return None
    path = Path(source)
    return path if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file() else None


def _scene_extras(folders: list[Path]) -> dict[str, Path | None]:
    """floor.png / floor.json / scene.json from the first folder that has them."""
    out: dict[str, Path | None] = {"floor_png": None, "floor_json": None, "scene_json": None}
    for folder in folders:
        if out["floor_png"] is None and (folder / "floor.png").is_file() and (
            folder / "floor.json"
        ).is_file():
            out["floor_png"], out["floor_json"] = folder / "floor.png", folder / "floor.json"
        if out["scene_json"] is None and (folder / "scene.json").is_file():
            out["scene_json"] = folder / "scene.json"
    return out
