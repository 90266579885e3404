from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from mtmc.config import ConfigError, load_cams, to_public
from mtmc.configtools import load_yaml

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name: shop
cameras:
  - id: cam1
    source: videos/cam1.mp4
    calibration: calibration/cam1.json
    roi_floor_m: [[0, 0], [10, 0], [10, 8], [0, 8]]
  - id: cam2
    source: 0
    calibration: calibration/cam2.json
    fps: 12.5
detector:
  backend: file
  file_pattern: gt/{camera}.txt
reid:
  every_n_frames: 3
eval:
  world: gt/world.txt
  mot: gt/{camera}.txt
"""


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    for rel in ["videos/cam1.mp4", "calibration/cam1.json", "calibration/cam2.json",
                "gt/cam1.txt", "gt/cam2.txt", "gt/world.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    return tmp_path


def write(scene: Path, text: str) -> Path:
    path = scene / "cams.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_config_loads_with_resolved_paths(scene: Path) -> None:
    cfg = load_cams(write(scene, GOOD))
    assert cfg.name == "shop"
    assert [c.id for c in cfg.cameras] == ["cam1", "cam2"]
    assert cfg.cameras[0].source == str(scene / "videos/cam1.mp4")
    assert cfg.cameras[0].calibration == scene / "calibration/cam1.json"
    assert cfg.cameras[0].roi_floor_m == ((0, 0), (10, 0), (10, 8), (0, 8))
    assert cfg.cameras[1].source == 0 and cfg.cameras[1].is_stream
    assert cfg.cameras[1].fps == 12.5
    assert cfg.detector.file_pattern == str(scene / "gt/{camera}.txt")
    assert cfg.reid.every_n_frames == 3 and cfg.reid.batch_size == 64  # default kept
    assert cfg.eval is not None and cfg.eval.world == scene / "gt/world.txt"
    assert cfg.tracker.type == "bytetrack"
    with pytest.raises(KeyError, match="cams.yaml has"):
        cfg.camera("nope")


def test_config_is_frozen(scene: Path) -> None:
    cfg = load_cams(write(scene, GOOD))
    with pytest.raises(AttributeError):
        cfg.name = "other"  # type: ignore[misc]


def test_name_defaults_to_folder(scene: Path) -> None:
    cfg = load_cams(write(scene, GOOD.replace("name: shop\n", "")))
    assert cfg.name == scene.name


# Each case: (what to change in GOOD, the message expected after "cams.yaml: ").
BAD_CASES = {
    "unknown key": (
        ("    fps: 12.5", "    fsp: 12.5"),
        "cameras[1].fsp: unknown key; did you mean 'fps'?",
    ),
    "unknown section": (("reid:", "reidd:"), "reidd: unknown key; did you mean 'reid'?"),
    "wrong type": (("    fps: 12.5", "    fps: fast"), "cameras[1].fps: expected a number, got a string 'fast'"),
    "missing file": (
        ("calibration/cam2.json", "calibration/cam3.json"),
        "cameras[1].calibration: file not found: calibration/cam3.json",
    ),
    "missing video": (("videos/cam1.mp4", "videos/nope.mp4"), "cameras[0].source: file not found: 'videos/nope.mp4'"),
    "bad roi polygon": (
        ("[[0, 0], [10, 0], [10, 8], [0, 8]]", "[[0, 0], [10, 8], [10, 0], [0, 8]]"),
        "cameras[0].roi_floor_m: not a valid polygon (Self-intersection",
    ),
    "roi too short": (("[[0, 0], [10, 0], [10, 8], [0, 8]]", "[[0, 0], [10, 0]]"), "cameras[0].roi_floor_m: a polygon needs at least 3 points, got 2"),
    "roi point not a pair": (("[[0, 0], [10, 0], [10, 8], [0, 8]]", "[[0, 0, 1], [10, 0], [10, 8]]"), "cameras[0].roi_floor_m[0]: expected a list of 2 items, got 3"),
    "unset env var": (("videos/cam1.mp4", "rtsp://admin:${MTMC_TEST_UNSET_PW}@10.1.1.1/s"), "cameras[0].source: environment variable ${MTMC_TEST_UNSET_PW} is not set"),
    "duplicate camera id": (("  - id: cam2", "  - id: cam1"), "cameras[1].id: camera id 'cam1' is used twice"),
    "bad backend": (("backend: file", "backend: yolov8"), "detector.backend: expected one of 'yolo', 'bgsub', 'hog', 'file', got a string 'yolov8'"),
    "yolo without weights": (("backend: file", "backend: yolo"), "detector.weights: backend 'yolo' needs a weights file"),
    "pattern without placeholder": (("file_pattern: gt/{camera}.txt", "file_pattern: gt/all.txt"), "detector.file_pattern: with several cameras the pattern must contain {camera}"),
    "file backend without files": (("  file_pattern: gt/{camera}.txt\n", ""), "detector.file_pattern: backend 'file' needs a file per camera"),
    "negative fps": (("fps: 12.5", "fps: -3"), "cameras[1].fps: must be > 0 frames per second, got -3.0"),
    "missing required key": (("    calibration: calibration/cam2.json\n", ""), "cameras[1].calibration: required key is missing"),
    "cameras not a list": (None, "cameras: expected a list, got a mapping"),
    "bool is not an int": (("every_n_frames: 3", "every_n_frames: true"), "reid.every_n_frames: expected an integer, got a boolean True"),
    "bad device": (("every_n_frames: 3", "device: gpu0"), "reid.device: expected auto, cpu, cuda or cuda:N, got 'gpu0'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_malformed_config_messages(scene: Path, case: str) -> None:
    change, expected = BAD_CASES[case]
    if change is None:
        text = "cameras:\n  cam1: {source: a}\n"
    else:
        assert change[0] in GOOD, f"test case {case!r} does not apply"
        text = GOOD.replace(change[0], change[1])
    path = write(scene, text)
    with pytest.raises(ConfigError) as err:
        load_cams(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_yaml_syntax_error_says_where(scene: Path) -> None:
    path = write(scene, "cameras: [\n  - id: a\n")
    with pytest.raises(ConfigError, match=r"cams.yaml: not valid YAML \(line \d+, column \d+\)"):
        load_cams(path)


def test_top_level_must_be_mapping(scene: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping at the top level, got list"):
        load_cams(write(scene, "- a\n- b\n"))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'nope.yaml'}: file not found")):
        load_cams(tmp_path / "nope.yaml")


def test_secret_never_printed(scene: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTMC_TEST_PW", "hunter2-very-secret")
    text = GOOD.replace("videos/cam1.mp4", "rtsp://admin:${MTMC_TEST_PW}@10.1.1.1/stream")
    cfg = load_cams(write(scene, text))
    # The running program gets the real URL ...
    assert cfg.cameras[0].source == "rtsp://admin:hunter2-very-secret@10.1.1.1/stream"
    assert cfg.cameras[0].is_stream
    # ... the config echo (logs, summary.json) and repr never do.
    public = json.dumps(to_public(cfg))
    assert "hunter2" not in public and "${MTMC_TEST_PW}" in public
    assert "hunter2" not in repr(cfg)
    # An error about a secret value shows the template, not the value.
    bad = text.replace("    calibration: calibration/cam1.json\n", "    calibration: calibration/cam1.json\n    fps: ${MTMC_TEST_PW}\n", 1)
    with pytest.raises(ConfigError) as err:
        load_cams(write(scene, bad))
    assert "hunter2" not in str(err.value) and "${MTMC_TEST_PW}" in str(err.value)


def test_literal_credentials_are_redacted_in_echo(scene: Path) -> None:
    cfg = load_cams(write(scene, GOOD.replace("videos/cam1.mp4", "rtsp://admin:pw123@10.1.1.1/s")))
    public = json.dumps(to_public(cfg))
    assert "pw123" not in public and "rtsp://***@10.1.1.1/s" in public


def test_load_yaml_substitutes_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTMC_TEST_HOST", "cam.local")
    path = tmp_path / "x.yaml"
    path.write_text("a: {b: ['rtsp://${MTMC_TEST_HOST}/1', plain]}\n")
    data = load_yaml(path)
    assert data == {"a": {"b": ["rtsp://cam.local/1", "plain"]}}


def test_every_shipped_cams_yaml_parses() -> None:
    """Every cams.yaml under configs/ has valid keys and types (files may be generated later)."""
    for path in sorted((REPO / "configs").rglob("cams*.yaml")):
        load_cams(path, check_files=False)
