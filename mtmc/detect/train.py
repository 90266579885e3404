"""Train a YOLO person detector from scratch on the simulator's YOLO export, fully offline.

``python -m mtmc.detect.train --data DIR [--model yolov8n.yaml] [--imgsz 640] [--epochs N]
[--hours H] [--batch 16] [--device auto] [--seed 0] [--threads N] [--init WEIGHTS]
[--resume LAST] [--lr0 LR] [--close-mosaic N] [--out DIR] [--ship FILE]``

``DIR`` is a dataset written by ``python -m mtmc.synth.export_yolo`` (or any YOLO dataset whose
``data.yaml`` has class 0 = person). The model is built from an ultralytics architecture file
(``yolov8n.yaml``, ``yolo11n.yaml``, ...: the architecture only, never downloaded weights) and
trained with ultralytics' own trainer, with everything that would reach the network switched off:
no pretrained weights, no automatic mixed-precision check (it downloads a model; AMP is used on
CUDA without it), no plots and no font check (it downloads a font). A test trains with every
connection refused. ``--hours`` bounds the wall-clock time instead of the epoch count:
ultralytics measures the first epoch and fits the schedule to the budget.
``--init WEIGHTS`` starts from an earlier run's weights instead of from scratch (progressive
resizing: a few epochs at a small size are cheap, the last ones at the size used for inference).

Writes ``OUT/weights/{best,last}.pt`` (ultralytics' checkpoints), ``OUT/results.csv`` (per-epoch
losses, precision, recall, mAP50, mAP50-95 on the validation split), and ``OUT/train.json``
(arguments, dataset counts, wall time). ``--ship FILE`` copies the best checkpoint there (the
repository ships ``models/detector/person.pt``). Interrupted runs resume with
``--resume OUT/weights/last.pt``.

Example (how the shipped model was made; README "Person detector")::

    python -m mtmc.synth.export_yolo --scenes data/reid_base/scenes/s0{0..8} --out data/yolo \\
        --every 5 --val-share 0.12
    python -m mtmc.detect.train --data data/yolo --imgsz 416 --hours 1.45 --out runs/detector/v8n416
    python -m mtmc.detect.train --data data/yolo --imgsz 512 --hours 1.0 --out runs/detector/v8n512 \\
        --init runs/detector/v8n416/weights/last.pt
    python -m mtmc.detect.train --data data/yolo --imgsz 512 --hours 1.4 --out runs/detector/v8n512c \\
        --init runs/detector/v8n512/weights/best.pt
    python -m mtmc.detect.train --data data/yolo --imgsz 640 --hours 1.75 --out runs/detector/v8n640 \\
        --init runs/detector/v8n512c/weights/best.pt
    # then six times the people (the ReID populations' scenes, every 10th frame: data/yolo3)
    python -m mtmc.detect.train --data data/yolo3 --imgsz 640 --hours 1.5 --out runs/detector/v8n640_y3 \\
        --init runs/detector/v8n640/weights/best.pt
    # then a fifth population besides (data/yolo4), at a lower rate
    python -m mtmc.detect.train --data data/yolo4 --imgsz 640 --hours 1.45 --lr0 0.001 \\
        --out runs/detector/v8n640_y4 --init runs/detector/v8n640_y3/weights/best.pt \\
        --ship models/detector/person.pt

A fine-tuning stage from earlier weights: ``--init WEIGHTS --lr0 0.0005 --close-mosaic 99`` (AdamW
at a low rate, whole frames throughout; the README's "Person detector" tells what it did).

The shipped model runs at 640 px (``mtmc.synth.output.SHIPPED_DETECTOR_IMAGE_SIZE_PX``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from mtmc.detect._ultralytics import import_ultralytics, resolve_torch_device
from mtmc.synth.export_yolo import yolo_images
from mtmc.synth.output import SHIPPED_DETECTOR_IMAGE_SIZE_PX

__all__ = ["main", "train_detector"]


def _switch_off_downloads() -> None:
    """Ultralytics' trainer reaches for the network in two places that its offline switches do not
    cover: the dataset check fetches a font for plots (we draw none), and the AMP self-test on CUDA
    fetches a model (we trust AMP instead). Both are replaced by no-ops here."""
    import ultralytics.data.utils as ultralytics_data
    import ultralytics.engine.trainer as ultralytics_trainer

    ultralytics_data.check_font = lambda *_args, **_kwargs: None
    ultralytics_trainer.check_amp = lambda _model: True


def train_detector(
    data: Path,
    out: Path,
    *,
    model: str = "yolov8n.yaml",
    imgsz: int = SHIPPED_DETECTOR_IMAGE_SIZE_PX,
    epochs: int = 30,
    hours: float | None = None,
    batch: int = 16,
    device: str = "auto",
    seed: int = 0,
    workers: int = 2,
    threads: int | None = None,
    init: Path | None = None,
    resume: Path | None = None,
    lr0: float | None = None,
    close_mosaic: int | None = None,
) -> Path:
    """Train and return the path of the best checkpoint (``out/weights/best.pt``).

    ``lr0`` (a fine-tuning stage from ``init``) trains with AdamW at that peak learning rate
    instead of ultralytics' automatic choice (AdamW at 0.002 for short runs); ``close_mosaic`` is
    the number of final epochs without mosaic augmentation (default: a tenth of ``epochs``, or the
    last one with ``hours``; a number above the epoch count trains on whole frames throughout).

    Raises:
        ValueError: ``data`` has no data.yaml, ``model`` is not an architecture (.yaml) file, or
            ``lr0`` / ``close_mosaic`` is out of range.
    """
    data_yaml = data / "data.yaml" if data.is_dir() else data
    if not data_yaml.is_file():
        raise ValueError(
            f"--data {data}: no data.yaml; make a dataset with python -m mtmc.synth.export_yolo"
        )
    if lr0 is not None and not 0.0 < lr0 < 1.0:
        raise ValueError(f"--lr0 {lr0}: give a learning rate in (0, 1), e.g. 0.0005 to fine-tune")
    if close_mosaic is not None and close_mosaic < 0:
        raise ValueError(f"--close-mosaic {close_mosaic}: give a number of epochs >= 0")
    if init is not None and not init.is_file():
        raise ValueError(f"--init {init}: file not found")
    if resume is None and init is None and not model.endswith((".yaml", ".yml")):
        raise ValueError(
            f"--model {model}: give an architecture file such as yolov8n.yaml (training starts "
            "from scratch; no pretrained weights can be downloaded here)"
        )
    os.environ.setdefault("YOLO_VERBOSE", "True")  # training is long: show ultralytics' progress
    ultralytics = import_ultralytics()
    torch_device = resolve_torch_device(device, key="--device")
    out = out.resolve()
    _switch_off_downloads()
    started = time.time()
    yolo = ultralytics.YOLO(str(resume or init or model))
    if torch_device == "cpu":
        # ultralytics trains on CPU with cpu_count - 1 torch threads (one of two cores here)
        # and loads images in the main process; give the network every core.
        n_threads = threads or os.cpu_count() or 1
        yolo.add_callback("on_train_start", lambda _trainer: torch.set_num_threads(n_threads))
    # ultralytics' automatic optimizer ignores lr0; an explicit one needs its bias warm-up (from
    # 0.1 by default, meant for SGD) started at zero, as the automatic choice does for AdamW.
    optimizer = {} if lr0 is None else {"optimizer": "AdamW", "lr0": lr0, "warmup_bias_lr": 0.0}
    if close_mosaic is None:
        close_mosaic = max(1, epochs // 10) if hours is None else 1
    if resume is not None:
        yolo.train(resume=True)
    else:
        yolo.train(
            **optimizer,
            data=str(data_yaml.resolve()),
            epochs=epochs,
            time=hours,
            imgsz=imgsz,
            batch=batch,
            device=torch_device,
            workers=workers,
            seed=seed,
            deterministic=True,
            pretrained=init is not None,
            amp=torch_device.startswith("cuda"),
            plots=False,
            project=str(out.parent),
            name=out.name,
            exist_ok=True,
            warmup_epochs=1,
            close_mosaic=close_mosaic,
            verbose=False,
        )
    best = out / "weights" / "best.pt"
    record: dict[str, Any] = {
        "data": str(data_yaml),
        "model": str(init) if init is not None else model,
        "imgsz": imgsz,
        "epochs": epochs,
        "hours": hours,
        # with --hours ultralytics fits the epoch count to the budget: the rows of results.csv
        "epochs_run": max(0, len((out / "results.csv").read_text().splitlines()) - 1)
        if (out / "results.csv").is_file()
        else 0,
        "batch": batch,
        "lr0": lr0,
        "close_mosaic": close_mosaic,
        "device": torch_device,
        "seed": seed,
        "wall_s": round(time.time() - started, 1),
        "train_images": len(yolo_images(data_yaml.parent, "train")),
        "val_images": len(yolo_images(data_yaml.parent, "val")),
    }
    (out / "train.json").write_text(json.dumps(record, indent=2) + "\n")
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtmc.detect.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="YOLO dataset folder (data.yaml)")
    parser.add_argument("--model", default="yolov8n.yaml", help="ultralytics architecture file")
    parser.add_argument("--imgsz", type=int, default=SHIPPED_DETECTOR_IMAGE_SIZE_PX, help="training image size, px")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hours", type=float, default=None, help="wall-clock budget (overrides --epochs)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="data-loading processes (GPU only)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on CPU (default: all cores)")
    parser.add_argument("--out", type=Path, default=Path("runs/detector/train"))
    parser.add_argument("--init", type=Path, default=None,
                        help="start from these weights (e.g. a run at a smaller --imgsz) instead of from scratch")
    parser.add_argument("--resume", type=Path, default=None, help="OUT/weights/last.pt of a stopped run")
    parser.add_argument("--lr0", type=float, default=None,
                        help="peak learning rate with AdamW (default: ultralytics' automatic choice); "
                        "e.g. 0.0005 for a fine-tuning stage from --init")
    parser.add_argument("--close-mosaic", type=int, default=None,
                        help="final epochs without mosaic augmentation (default: epochs/10, or 1 with --hours)")
    parser.add_argument("--ship", type=Path, default=None, help="copy the best checkpoint here")
    args = parser.parse_args(argv)
    try:
        best = train_detector(
            args.data,
            args.out,
            model=args.model,
            imgsz=args.imgsz,
            epochs=args.epochs,
            hours=args.hours,
            batch=args.batch,
            device=args.device,
            seed=args.seed,
            workers=args.workers,
            threads=args.threads,
            init=args.init,
            resume=args.resume,
            lr0=args.lr0,
            close_mosaic=args.close_mosaic,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.ship is not None:
        args.ship.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(best, args.ship)
        print(f"shipped {best} -> {args.ship} ({args.ship.stat().st_size / 1e6:.1f} MB)")
    print(f"best checkpoint: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
