"""scripts/bench_embedder.py: boxes inside the frame, the figures it writes, its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script

BASE = Path(__file__).resolve().parents[1] / "models" / "reid" / "base.onnx"


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_embedder")


def test_boxes_are_person_sized_and_inside_the_frame(bench) -> None:
    boxes = bench.boxes_xyxy(500, np.random.default_rng(1))
    h, w = bench.FRAME_HW
    assert boxes.shape == (500, 4)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= h).all()
    np.testing.assert_allclose(boxes[:, 3] - boxes[:, 1], bench.BOX_HW_PX[0], atol=1e-3)


def test_writes_crops_per_second_for_each_batch(bench, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--model", str(BASE), "--batch", "2", "5", "--device", "cpu", "--runs",
                       "2", "--warmup", "0", "--out", str(out)]) == 0
    result = json.loads(out.read_text())["results"][0]
    assert result["precision"] == "fp32" and result["provider"] == "CPUExecutionProvider"
    assert set(result["batches"]) == {"2", "5"}
    for batch, t in result["batches"].items():
        assert t["crops_per_s"] == pytest.approx(int(batch) / t["ms_per_call"] * 1000, rel=0.01)
    assert "| base.onnx | fp32 | CPUExecutionProvider | 5 |" in capsys.readouterr().out


def test_missing_model_is_an_error(bench, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--model", str(tmp_path / "none.onnx")]) == 2
    assert "model not found" in capsys.readouterr().err
