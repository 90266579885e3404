from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch

from mtmc.reid.model import build_model, read_checkpoint
from mtmc.reid.spec import AugmentSpec, DataSpec, ModelSpec, OptimSpec, TrainSpec, load_spec
from mtmc.reid.toy import write_toy_market
from mtmc.reid.train import _load_init, lr_factor, main, train

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "reid").glob("*.yaml"))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_market(tmp_path_factory.mktemp("toy"), num_train_ids=6, num_test_ids=3,
                            cameras=3, per_camera=3, size_hw=(64, 32))


def _spec(epochs: int, **kw: object) -> TrainSpec:
    return TrainSpec(
        model=ModelSpec(width=0.25, embedding_dim=32),
        data=DataSpec(input_size_hw=(64, 32), ids_per_batch=3, images_per_id=4, workers=0),
        augment=AugmentSpec(pad_px=2),
        optim=OptimSpec(epochs=epochs, lr=3e-3, warmup_epochs=0, milestones=()),
        device="cpu", threads=1, **kw)


def _log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_reid_config_loads(path: Path) -> None:
    spec = load_spec(path)
    assert spec.data.ids_per_batch * spec.data.images_per_id >= 32


def test_lr_schedule_hand_computed() -> None:
    o = OptimSpec(lr=3.5e-4, warmup_epochs=10, warmup_factor=0.01, milestones=(40, 70), gamma=0.1)
    assert lr_factor(0, o) == pytest.approx(0.01)
    assert lr_factor(5, o) == pytest.approx(0.01 * (1 - 0.5) + 0.5)
    assert lr_factor(10, o) == 1.0 and lr_factor(39, o) == 1.0
    assert lr_factor(40, o) == pytest.approx(0.1) and lr_factor(70, o) == pytest.approx(0.01)


def test_training_lowers_loss_and_writes_outputs(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = train(_spec(5), out, data_dir=toy, progress=False)
    rows = _log(out / "train_log.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < 0.8 * losses[0]
    assert float(rows[-1]["loss_triplet"]) < float(rows[0]["loss_triplet"])
    ckpt = read_checkpoint(summary["model"])
    assert ckpt["pids"] == [1, 2, 3, 4, 5, 6] and ckpt["num_classes"] == 6
    assert ckpt["input_size_hw"] == [64, 32] and ckpt["epochs"] == 5
    assert (out / "last.pt").is_file()


def test_resume_matches_uninterrupted_run(toy: Path, tmp_path: Path) -> None:
    straight = train(_spec(2), tmp_path / "a", data_dir=toy, progress=False)
    # "interrupted" after epoch 1, then resumed automatically from last.pt
    train(_spec(1), tmp_path / "b", data_dir=toy, progress=False)
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=False)["epoch"] == 1
    resumed = train(_spec(2), tmp_path / "b", data_dir=toy, progress=False)
    a = read_checkpoint(straight["model"])["state_dict"]
    b = read_checkpoint(resumed["model"])["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert [r["loss"] for r in _log(tmp_path / "a" / "train_log.csv")] == \
           [r["loss"] for r in _log(tmp_path / "b" / "train_log.csv")]
    # a different recipe cannot resume that folder
    other = dataclasses.replace(_spec(3), seed=1)
    with pytest.raises(ValueError, match="different spec .*seed"):
        train(other, tmp_path / "b", data_dir=toy, progress=False)


def test_preloaded_crops_train_the_same_model(toy: Path, tmp_path: Path) -> None:
    from_files = train(_spec(2), tmp_path / "files", data_dir=toy, progress=False)
    spec = _spec(2)
    spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, preload=True))
    from_memory = train(spec, tmp_path / "memory", data_dir=toy, progress=False)
    a = read_checkpoint(from_files["model"])["state_dict"]
    b = read_checkpoint(from_memory["model"])["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_cpu_bf16_trains_in_bfloat16_where_the_cpu_has_it(
        toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    fp32 = read_checkpoint(train(_spec(3), tmp_path / "fp32", data_dir=toy,
                                 progress=False)["model"])["state_dict"]
    # no bfloat16 instructions: a warning, and exactly the FP32 model
    monkeypatch.setattr("mtmc.cpuinfo.cpu_has_native_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="mtmc.reid.train"):
        fallback = train(_spec(3, cpu_bf16=True), tmp_path / "fallback", data_dir=toy,
                         progress=False)
    assert "cpu_bf16: this CPU has no native bfloat16" in caplog.text
    assert "set cpu_bf16: false in the spec" in caplog.text
    for key, value in read_checkpoint(fallback["model"])["state_dict"].items():
        torch.testing.assert_close(value, fp32[key], rtol=0, atol=0, msg=key)
    # with them (emulated on CPUs without): the loss still falls, and the weights differ
    monkeypatch.setattr("mtmc.cpuinfo.cpu_has_native_bf16", lambda: True)
    bf16 = train(_spec(3, cpu_bf16=True), tmp_path / "bf16", data_dir=toy, progress=False)
    losses = [float(r["loss"]) for r in _log(tmp_path / "bf16" / "train_log.csv")]
    assert losses[-1] < 0.9 * losses[0]
    weights = read_checkpoint(bf16["model"])["state_dict"]
    assert any(not torch.equal(weights[k], fp32[k]) for k in fp32 if fp32[k].is_floating_point())


def test_init_reinitialises_classifier_for_new_ids(toy: Path, tmp_path: Path) -> None:
    base = train(_spec(1), tmp_path / "base", data_dir=toy, progress=False)
    ckpt = read_checkpoint(base["model"])
    model = build_model(ModelSpec(width=0.25, embedding_dim=32), num_classes=4)
    _load_init(model, base["model"], _spec(1), torch.arange(4).numpy())
    state = model.state_dict()
    torch.testing.assert_close(state["bnneck.weight"], ckpt["state_dict"]["bnneck.weight"])
    conv = "backbone.stem.0.0.weight"
    torch.testing.assert_close(state[conv], ckpt["state_dict"][conv])
    assert state["classifier.weight"].shape == (4, 32)
    wider = dataclasses.replace(_spec(1), model=ModelSpec(width=0.5, embedding_dim=32))
    with pytest.raises(ValueError, match="model.width=0.25 but the spec has 0.5"):
        _load_init(build_model(wider.model, 4), base["model"], wider, torch.arange(4).numpy())


def test_cli_errors_for_non_market_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    (tmp_path / "images").mkdir()
    code = main(["--spec", str(CONFIGS[0]), "--data", str(tmp_path), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert "not a Market-1501 folder" in capsys.readouterr().err
