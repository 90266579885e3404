from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mtmc.reid.evaluate import (
    cosine_distance,
    evaluate_model,
    plot_distance_histograms,
    protocol_pair_distances,
)
from mtmc.reid.evaluate import main as evaluate_main
from mtmc.reid.export import export_onnx, parse_metadata, run_onnx
from mtmc.reid.export import main as export_main
from mtmc.reid.model import build_model, load_model, model_checkpoint
from mtmc.reid.spec import ModelSpec
from mtmc.reid.toy import write_toy_market

onnx = pytest.importorskip("onnx")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    previous = torch.get_num_threads()  # module fixtures run before the autouse one
    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec = ModelSpec(width=0.25, embedding_dim=32)
    model = build_model(spec, num_classes=5)
    # non-trivial BN statistics, so the exported graph's folded BN is really checked
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 64, 32) * 2 + 0.5)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    torch.save(model_checkpoint(model.eval(), spec, input_size_hw=(64, 32),
                                mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)), path)
    torch.set_num_threads(previous)
    return path


def test_export_parity_metadata_dynamic_batch(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    report = export_onnx(checkpoint, out)
    assert report["max_abs_diff"] < 1e-4 and out.is_file()
    proto = onnx.load(str(out))
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["embedding"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["mtmc.input_hw"] == "64,32" and meta["mtmc.color_order"] == "rgb"
    assert parse_metadata(meta) == {"input_size_hw": (64, 32), "color_order": "rgb",
                                    "mean": (0.5, 0.4, 0.3), "std": (0.2, 0.25, 0.3),
                                    "embedding_dim": 32, "normalized": False,
                                    "backbone": "osnet_lite"}
    # another batch size than the traced one, against torch
    model, _ = load_model(checkpoint)
    x = torch.randn(5, 3, 64, 32)
    with torch.no_grad():
        ref = model(x).numpy()
    got = run_onnx(out, x.numpy())
    assert got.shape == (5, 32)
    assert np.abs(got - ref).max() < 1e-4


def test_export_fp16_keeps_float32_io(checkpoint: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m16.onnx"
    assert export_main(["--model", str(checkpoint), "--out", str(out), "--fp16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metadata"]["mtmc.precision"] == "fp16" and report["max_abs_diff"] < 5e-2
    got = run_onnx(out, np.zeros((2, 3, 64, 32), np.float32))
    assert got.dtype == np.float32 and got.shape == (2, 32)
    assert export_main(["--model", str(tmp_path / "nope.pt"), "--out", str(out)]) == 2


def test_evaluate_pt_and_onnx_agree_and_write_outputs(checkpoint: Path, tmp_path: Path) -> None:
    data = write_toy_market(tmp_path / "toy", num_train_ids=2, num_test_ids=4, cameras=3,
                            per_camera=2, size_hw=(64, 32))
    onnx_path = tmp_path / "m.onnx"
    export_onnx(checkpoint, onnx_path)
    out = tmp_path / "eval"
    m_pt = evaluate_model(checkpoint, data, out_dir=out, device="cpu", progress=False)
    m_onnx = evaluate_model(onnx_path, data, device="cpu", progress=False, threads=1)
    for key in ("rank1", "rank5", "rank10", "mAP", "mINP"):
        assert m_pt[key] == pytest.approx(m_onnx[key], abs=1e-6)
        assert 0.0 <= m_pt[key] <= 100.0
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved) >= {"rank1", "rank5", "rank10", "mAP", "mINP"}
    assert saved["num_queries"] == 8 and saved["num_gallery"] == 16
    for name in ("distances.png", "cmc.png", "ranked.png"):
        assert (out / name).stat().st_size > 1000
    # CLI with re-ranking: main scores re-ranked, plain ones kept
    assert evaluate_main(["--model", str(onnx_path), "--data", str(data), "--rerank", "--out",
                          str(tmp_path / "rr"), "--no-plots"]) == 0
    rr = json.loads((tmp_path / "rr" / "metrics.json").read_text())
    assert rr["rerank"] is True and rr["without_rerank"]["mAP"] == pytest.approx(m_pt["mAP"])


def test_evaluate_cli_rejects_non_market(tmp_path: Path, checkpoint: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_main(["--model", str(checkpoint), "--data", str(tmp_path)]) == 2
    assert "not a Market-1501 folder" in capsys.readouterr().err


def test_cosine_and_protocol_pairs(tmp_path: Path) -> None:
    d = cosine_distance(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(d, [[0.0, 1.0, 2.0]], atol=1e-7)
    dist = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]])
    # query 1 (cam 1) vs gallery: same id cam 1 (dropped), same id cam 2, other id, junk
    q_pids, q_cams = np.array([1, 2]), np.array([1, 1])
    g_pids, g_cams = np.array([1, 1, 2, -1]), np.array([1, 2, 2, 2])
    pos, neg = protocol_pair_distances(dist, q_pids, g_pids, q_cams, g_cams)
    np.testing.assert_allclose(pos, [0.2, 0.7])
    np.testing.assert_allclose(neg, [0.3, 0.5, 0.6])
    path = plot_distance_histograms({"before": (pos, neg), "after": (pos / 2, neg)},
                                    tmp_path / "d.png")
    assert path.stat().st_size > 1000
