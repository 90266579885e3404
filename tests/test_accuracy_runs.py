"""scripts/accuracy_runs.py: option checks that need no scene."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "accuracy_runs.py"


def test_tracker_appearance_needs_a_reid_model(capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("accuracy_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--detector", "yolo", "--tracker-appearance"])
    assert exit_info.value.code == 2
    assert "--tracker-appearance needs --reid-model" in capsys.readouterr().err
