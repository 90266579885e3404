"""scripts/finetune_report.py: the parts that do not need trained models (training-time summary,
the markdown and the ID-switch figure); the measured run itself is the script's job."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def report_module():
    return load_script("finetune_report")


def test_training_time_sums_epoch_seconds(report_module, tmp_path: Path) -> None:
    assert report_module.training_time(tmp_path) is None  # no log: nothing to report
    (tmp_path / "train_log.csv").write_text(
        "epoch,seconds,images_per_s\n1,60,10\n2,90,20\n3,30,40\n")
    # (60 + 90 + 30) s = 3.0 min; median of 10, 20, 40 images/s = 20
    assert report_module.training_time(tmp_path) == {"epochs": 3, "minutes": 3.0,
                                                     "images_per_s": 20.0}


def fake_report() -> dict:
    floor = {"IDSW": 2, "IDF1": 99.2, "HOTA": 90.6}
    image = {"IDSW": 50, "IDF1": 80.1}
    scores = {"rank1": 36.0, "rank5": 63.0, "mAP": 35.0, "mINP": 19.5}
    return {
        "models": {"base": "models/reid/base.onnx", "fine-tuned": "models/reid/ft.onnx"},
        "market": {"ids": 12, "query": 200, "gallery": 397},
        "scores": {"base": scores, "fine-tuned": {**scores, "mAP": 69.2}},
        "hsv": {"variant": "center 8x4x4 bhattacharyya", **scores},
        "detectors": {"pipeline": "file", "pipeline_detector": "yolo"},
        "tracker_appearance": {"pipeline": False, "pipeline_detector": True},
        "pipeline": {"none (floor only)": {"floor": floor, "image": image},
                     "fine-tuned": {"floor": floor, "image": image}},
        "pipeline_detector": {"none (floor only)": {"floor": {**floor, "IDSW": 79}, "image": image},
                              "fine-tuned": {"floor": {**floor, "IDSW": 75}, "image": image}},
        "training": {"base": {"epochs": 22, "minutes": 48.3, "images_per_s": 68.7},
                     "fine-tuned": None},
    }


def test_markdown_holds_every_table(report_module, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    report_module.write_markdown(path, fake_report())
    text = path.read_text()
    assert "| fine-tuned (`models/reid/ft.onnx`) | 36.0 | 63.0 | 69.2 | 19.5 |" in text
    assert "Fine-tuning changes mAP by +34.2 points." in text  # 69.2 - 35.0
    assert "| none (floor only) | 2 | 99.2 | 90.6 | 50 | 80.1 |" in text
    detector_table = text[text.index("With the shipped detector"):]
    assert "(detector `yolo`, `tracker.appearance: true`)" in detector_table
    assert "(detector `file`, `tracker.appearance: false`)" in text
    assert "| none (floor only) | 79 | 99.2 | 90.6 | 50 | 80.1 |" in detector_table
    assert "| fine-tuned | 75 |" in detector_table
    assert "| base | 22 | 48.3 | 68.7 |" in text and "| fine-tuned | 30" not in text
    assert "no training scene shares" not in text  # no unseen-identity score given


def test_id_switch_figure_is_written(report_module, tmp_path: Path) -> None:
    path = tmp_path / "idsw.png"
    report_module.plot_id_switches(fake_report()["pipeline"], path, "title")
    assert path.stat().st_size > 1000
