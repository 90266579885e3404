"""scripts/accuracy_runs.py: how a scene's cams.yaml is configured (no pipeline run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_loader import load_script
from tiny_scene import write_scene

REPO = Path(__file__).resolve().parents[1]
BASE_REID = REPO / "models" / "reid" / "base.onnx"


@pytest.fixture(scope="module")
def accuracy_runs():
    return load_script("accuracy_runs")


@pytest.mark.parametrize(("detector", "flag", "gated"), [
    ("scene", True, True), ("scene", False, False), ("gt", True, False),
], ids=["detector-default", "detector-motion-only", "gt-boxes"])
def test_trackers_gate_by_appearance_except_on_ground_truth_boxes(
    accuracy_runs, tmp_path: Path, detector: str, flag: bool, gated: bool
) -> None:
    scene = write_scene(tmp_path, seconds=1.0).parent
    config = accuracy_runs.configure(scene, detector, None, BASE_REID, tracker_appearance=flag)
    assert config.tracker.appearance is gated
    assert config.reid.model == BASE_REID.resolve()
    if detector == "gt":
        assert config.detector.file_pattern == str(scene.resolve() / "gt" / "{camera}.txt")


def test_a_missing_reid_model_is_an_error(accuracy_runs, tmp_path: Path) -> None:
    scene = write_scene(tmp_path, seconds=1.0).parent
    with pytest.raises(ValueError, match="--reid-model .*missing.onnx: file not found"):
        accuracy_runs.configure(scene, "gt", None, tmp_path / "missing.onnx")
