"""Train a ReID model on a Market-1501 folder with the Bag-of-Tricks recipe.

What one run does (all settings in the spec, :mod:`mtmc.reid.spec`):

1. read ``bounding_box_train/`` and map identities to class labels;
2. build the model (backbone + BNNeck), optionally initialised from a checkpoint or an ONNX
   export such as ``models/reid/base.onnx`` (``--init``: fine-tuning; the classifier is kept
   only when that checkpoint was trained on the same identities, else re-initialised);
3. each epoch: P x K batches, augmentation, ID + triplet + center loss, Adam (and SGD for the
   centers), warmup + step learning rate, float16 autocast on CUDA (bfloat16 on a CPU with
   ``cpu_bf16``);
4. after each epoch: ``OUT/last.pt`` (everything needed to resume: weights, optimisers,
   scheduler, epoch, RNG states) and one row of ``OUT/train_log.csv``;
5. at the end: ``OUT/model.pt``, the checkpoint to evaluate and export.

A run that finds ``OUT/last.pt`` continues after the saved epoch (``--no-resume`` starts over).
On a CPU, the same spec, seed and data give the same model, resumed or not.

Example::

    summary = train(load_spec("configs/reid/base.yaml"), "runs/reid/base", data_dir="data/market")

CLI::

    python -m mtmc.reid.train --spec configs/reid/base.yaml --data data/market --out runs/reid/base
    python -m mtmc.reid.train --spec configs/reid/finetune.yaml --init runs/reid/base/model.pt \\
        --data data/scene_market --out runs/reid/finetune
"""

from __future__ import annotations

import argparse
import bisect
import csv
import dataclasses
import logging
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from mtmc.cpuinfo import bf16_usable
from mtmc.formats.market import MarketSplit, read_market
from mtmc.reid.data import (
    BatchAugment,
    MarketImages,
    PKBatchSampler,
    PreloadedBatches,
    preload_crops,
    relabel,
)
from mtmc.reid.losses import ReIDLoss
from mtmc.reid.model import (
    CHECKPOINT_FORMAT,
    ReIDModel,
    build_model,
    model_checkpoint,
    read_checkpoint,
    resolve_device,
)
from mtmc.reid.spec import OptimSpec, TrainSpec, default_threads, load_spec, spec_to_dict

__all__ = ["LOG_COLUMNS", "lr_factor", "main", "train"]

LOG = logging.getLogger("mtmc.reid.train")
LOG_COLUMNS = ["epoch", "lr", "loss", "loss_id", "loss_triplet", "loss_center", "acc", "images",
               "seconds", "images_per_s", "rank1", "mAP"]
# spec parts that may change between an interrupted run and its resumption
_RESUMABLE_CHANGES = {"optim.epochs", "device", "amp", "cpu_bf16", "threads", "eval_every", "init",
                      "dataset", "data.workers", "data.preload"}


def lr_factor(epoch: int, optim: OptimSpec) -> float:
    """Learning-rate multiplier of ``epoch`` (0-based): linear warmup, then step decay.

    Example (defaults: 10 warmup epochs from 0.01, x0.1 at 40 and 70):
    ``lr_factor(0) == 0.01``, ``lr_factor(5) == 0.01 + 0.99 * 5 / 10``, ``lr_factor(10) == 1``,
    ``lr_factor(40) == 0.1``, ``lr_factor(70) == 0.01``.
    """
    warm = 1.0
    if epoch < optim.warmup_epochs:
        alpha = epoch / optim.warmup_epochs
        warm = optim.warmup_factor * (1.0 - alpha) + alpha
    return warm * optim.gamma ** bisect.bisect_right(list(optim.milestones), epoch)


def train(spec: TrainSpec, out_dir: str | Path, *, data_dir: str | Path | None = None,
          init: str | Path | None = None, resume: Literal["auto", "yes", "no"] = "auto",
          progress: bool = True) -> dict[str, Any]:
    """Train (or resume training) and write ``last.pt``, ``train_log.csv`` and ``model.pt``.

    Args:
        spec: the training spec.
        out_dir: output folder (created).
        data_dir: Market-1501 folder; defaults to ``spec.dataset``.
        init: checkpoint to fine-tune from; defaults to ``spec.init``. Ignored when resuming.
        resume: ``auto`` continues from ``out_dir/last.pt`` when it exists, ``yes`` requires it,
            ``no`` starts over (overwriting the folder's checkpoints and log).
        progress: show a progress bar per epoch.

    Returns:
        ``{"model": path of model.pt, "out_dir", "epochs", "num_classes", "last": last log row}``.

    Raises:
        ValueError: no data folder, not Market layout, fewer than 2 training identities, an
            init checkpoint of another architecture, or a ``last.pt`` from a different spec.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(spec.threads or default_threads())
    try:
        return _train(spec, Path(out_dir), data_dir, init, resume, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _train(spec: TrainSpec, out: Path, data_dir: str | Path | None, init: str | Path | None,
           resume: str, progress: bool) -> dict[str, Any]:
    data_dir = data_dir if data_dir is not None else spec.dataset
    if data_dir is None:
        raise ValueError("no training data: pass --data MARKET_DIR or set 'dataset' in the spec")
    init = init if init is not None else spec.init
    split = read_market(data_dir)
    train_recs = split.train[split.train.pids > 0]
    if len(train_recs) == 0:
        raise ValueError(f"{data_dir}: bounding_box_train/ has no crops of known identities; "
                         "training needs Market-1501 crops named {pid:04d}_c{cam}s{seq}_..jpg")
    labels, classes = relabel(train_recs.pids)
    num_classes = len(classes)
    if num_classes < 2:
        raise ValueError(f"{data_dir}: bounding_box_train/ has {num_classes} identity; the triplet "
                         "loss needs at least 2")

    device = resolve_device(spec.device)
    use_amp = spec.amp and device.type == "cuda"
    use_bf16 = (spec.cpu_bf16 and device.type == "cpu"
                and bf16_usable("cpu_bf16", "cpu_bf16: false in the spec", LOG))
    autocast_dtype = torch.bfloat16 if use_bf16 else torch.float16
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    _seed_everything(spec.seed)

    # channels-last convolutions: about 1.4x the images/s of osnet_lite on a 2-core CPU
    model = build_model(spec.model, num_classes).to(device, memory_format=torch.channels_last)
    criterion = ReIDLoss(spec.loss, num_classes, spec.model.embedding_dim).to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                 lr=spec.optim.lr, weight_decay=spec.optim.weight_decay)
    center_opt = torch.optim.SGD(criterion.center.parameters(), lr=spec.loss.center_lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, spec.optim))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    last_path, log_path = out / "last.pt", out / "train_log.csv"
    start_epoch = 0
    if resume == "yes" and not last_path.is_file():
        raise ValueError(f"{last_path}: nothing to resume from; drop --resume to start a new run")
    if resume != "no" and last_path.is_file():
        ckpt = torch.load(last_path, map_location="cpu", weights_only=False)
        _check_resumable(ckpt, spec, classes, last_path)
        model.load_state_dict(ckpt["state_dict"])
        criterion.load_state_dict(ckpt["criterion"])
        optimizer.load_state_dict(ckpt["optimizer"])
        center_opt.load_state_dict(ckpt["center_optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        _set_rng_states(ckpt["rng"])
        start_epoch = int(ckpt["epoch"])
        LOG.info("resuming %s after epoch %d", last_path, start_epoch)
    elif init is not None:
        _load_init(model, Path(init), spec, classes, train_recs.paths)
    out.mkdir(parents=True, exist_ok=True)
    _prepare_log(log_path, start_epoch)

    p_eff = min(spec.data.ids_per_batch, num_classes)
    if p_eff < spec.data.ids_per_batch:
        LOG.warning("only %d training identities: batches hold %d identities x %d images instead "
                    "of data.ids_per_batch=%d", num_classes, p_eff, spec.data.images_per_id,
                    spec.data.ids_per_batch)
    sampler = PKBatchSampler(labels, p_eff, spec.data.images_per_id, seed=spec.seed)
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]]
    if spec.data.preload:
        t0 = time.perf_counter()
        images_u8 = preload_crops(train_recs.paths, spec.data.input_size_hw,
                                  threads=max(1, spec.data.workers), progress=progress)
        LOG.info("decoded %d training crops into memory (%.2f GB) in %.1f s", len(images_u8),
                 images_u8.numel() / 1e9, time.perf_counter() - t0)
        loader = PreloadedBatches(images_u8, labels, sampler)
    else:
        loader = DataLoader(
            MarketImages(train_recs.paths, labels, spec.data.input_size_hw),
            batch_sampler=sampler, num_workers=spec.data.workers,
            persistent_workers=spec.data.workers > 0, pin_memory=device.type == "cuda",
            worker_init_fn=_worker_init)
    augment = BatchAugment(spec.augment, spec.data.mean, spec.data.std)
    generator = torch.Generator()
    row: dict[str, Any] = {}
    total_epochs = spec.optim.epochs

    for epoch in range(start_epoch, total_epochs):
        sampler.set_epoch(epoch)
        generator.manual_seed(_epoch_seed(spec.seed, epoch))
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        sums = {k: 0.0 for k in ("total", "id", "triplet", "center", "acc")}
        n_images, t0 = 0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{total_epochs}", unit="batch",
                   disable=not progress, leave=False)
        for images_u8, y in bar:
            x = augment(images_u8, generator).to(device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=autocast_dtype,
                                enabled=use_amp or use_bf16):
                logits, feat = model(x)
            losses = criterion(logits.float(), feat.float(), y)
            optimizer.zero_grad(set_to_none=True)
            center_opt.zero_grad(set_to_none=True)
            scaler.scale(losses["total"]).backward()
            if spec.loss.center_weight > 0:
                # the centers learn at center_lr whatever the loss weight (Bag of Tricks)
                scaler.unscale_(center_opt)
                for p in criterion.center.parameters():
                    if p.grad is not None:
                        p.grad.mul_(1.0 / spec.loss.center_weight)
                scaler.step(center_opt)
            scaler.step(optimizer)
            scaler.update()
            n = len(y)
            n_images += n
            for k in sums:
                sums[k] += float(losses[k].detach()) * n
            bar.set_postfix(loss=f"{sums['total'] / n_images:.3f}",
                            acc=f"{100 * sums['acc'] / n_images:.1f}%")
        bar.close()
        scheduler.step()
        seconds = time.perf_counter() - t0
        row = {"epoch": epoch + 1, "lr": lr, "images": n_images, "seconds": round(seconds, 3),
               "images_per_s": round(n_images / max(seconds, 1e-9), 2), "rank1": "", "mAP": ""}
        row.update({f"loss_{k}" if k != "total" else "loss": sums[k] / max(n_images, 1)
                    for k in ("total", "id", "triplet", "center")})
        row["acc"] = sums["acc"] / max(n_images, 1)
        if spec.eval_every and ((epoch + 1) % spec.eval_every == 0 or epoch + 1 == total_epochs):
            row.update(_quick_eval(model, split, spec, device))
        _save_atomic({
            **model_checkpoint(model, spec.model, input_size_hw=spec.data.input_size_hw,
                               mean=spec.data.mean, std=spec.data.std, pids=classes.tolist()),
            "criterion": criterion.state_dict(), "optimizer": optimizer.state_dict(),
            "center_optimizer": center_opt.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "epoch": epoch + 1, "rng": _rng_states(),
            "spec": spec_to_dict(spec),
        }, last_path)
        _append_log(log_path, row)
        LOG.info("epoch %d/%d  lr %.2e  loss %.4f (id %.4f  triplet %.4f  center %.2f)  "
                 "acc %.1f%%  %.1f img/s%s", epoch + 1, total_epochs, lr, row["loss"],
                 row["loss_id"], row["loss_triplet"], row["loss_center"], 100 * row["acc"],
                 row["images_per_s"],
                 f"  rank-1 {row['rank1']:.1f}  mAP {row['mAP']:.1f}" if row["rank1"] != "" else "")

    model_path = out / "model.pt"
    _save_atomic(model_checkpoint(model, spec.model, input_size_hw=spec.data.input_size_hw,
                                  mean=spec.data.mean, std=spec.data.std, pids=classes.tolist(),
                                  spec=spec_to_dict(spec), epochs=total_epochs,
                                  init=str(init) if init is not None else None,
                                  data=str(data_dir)), model_path)
    return {"model": model_path, "out_dir": out, "epochs": total_epochs,
            "num_classes": num_classes, "last": row}


# ---------------------------------------------------------------------------------------------
# helpers


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, 0xA06]).generate_state(1)[0])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                              "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _worker_init(_worker_id: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # workers already run in parallel; OpenCV threads would oversubscribe


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check_resumable(ckpt: dict[str, Any], spec: TrainSpec, classes: np.ndarray,
                     path: Path) -> None:
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or "epoch" not in ckpt:
        raise ValueError(f"{path}: not a training checkpoint of mtmc.reid.train; remove it or use "
                         "--no-resume")
    old, new = _flatten(ckpt["spec"]), _flatten(spec_to_dict(spec))
    changed = sorted(k for k in set(old) | set(new)
                     if k not in _RESUMABLE_CHANGES and old.get(k) != new.get(k))
    if changed:
        raise ValueError(f"{path}: was trained with a different spec ({', '.join(changed)}); "
                         "use another --out folder or --no-resume to start over")
    if list(ckpt["pids"]) != classes.tolist():
        raise ValueError(f"{path}: was trained on other identities than the current "
                         "bounding_box_train/; use another --out folder or --no-resume")


def _load_init(model: ReIDModel, path: Path, spec: TrainSpec, classes: np.ndarray,
               crop_paths: Sequence[str] | np.ndarray = ()) -> None:
    """Start from a checkpoint (``.pt``) or an ONNX export (``.onnx``, BatchNorms rebuilt from
    ``crop_paths``, see :mod:`mtmc.reid.onnx_import`); the classifier is kept only when the
    checkpoint was trained on the same identities."""
    if path.suffix.lower() == ".onnx":
        _load_onnx_init(model, path, spec, crop_paths)
        return
    ckpt = read_checkpoint(path)
    for key in ("backbone", "width", "embedding_dim"):
        if ckpt["model"].get(key) != getattr(spec.model, key):
            raise ValueError(f"{path}: --init model has model.{key}={ckpt['model'].get(key)!r} "
                             f"but the spec has {getattr(spec.model, key)!r}; make them match")
    state = dict(ckpt["state_dict"])
    if ckpt.get("pids") != classes.tolist():
        # another identity set: its classifier rows mean nothing here
        state.pop("classifier.weight", None)
        LOG.info("init %s: classifier re-initialised (%s -> %d identities)", path,
                 ckpt.get("num_classes"), len(classes))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "classifier.weight"]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the model (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    _warn_input_size(path, ckpt.get("input_size_hw", []), spec)


_ONNX_CALIBRATION_CROPS = 256  # training crops that set the rebuilt BatchNorms' statistics


def _load_onnx_init(model: ReIDModel, path: Path, spec: TrainSpec,
                    crop_paths: Sequence[str] | np.ndarray) -> None:
    from mtmc.reid.data import normalize, read_crop_rgb
    from mtmc.reid.onnx_import import load_onnx_weights, read_onnx_metadata

    meta = read_onnx_metadata(path)
    for key, have in (("backbone", spec.model.backbone),
                      ("embedding_dim", spec.model.embedding_dim)):
        if key in meta and meta[key] != have:
            raise ValueError(f"{path}: --init model has model.{key}={meta[key]!r} but the spec "
                             f"has {have!r}; make them match")
    for key in ("mean", "std"):
        if key in meta and not np.allclose(meta[key], getattr(spec.data, key)):
            LOG.warning("init %s was trained with %s %s, this run uses %s", path, key,
                        list(meta[key]), list(getattr(spec.data, key)))
    _warn_input_size(path, meta.get("input_size_hw", []), spec)
    if len(crop_paths) == 0:
        raise ValueError(f"{path}: an ONNX --init needs training crops to rebuild its "
                         "BatchNorm statistics")
    pick = np.unique(np.linspace(0, len(crop_paths) - 1,
                                 min(len(crop_paths), _ONNX_CALIBRATION_CROPS)).round().astype(int))
    crops = np.stack([read_crop_rgb(str(crop_paths[i]), spec.data.input_size_hw) for i in pick])
    x = normalize(torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous(), spec.data.mean,
                  spec.data.std)
    report = load_onnx_weights(model, path, x)
    LOG.info("init %s: ONNX weights loaded, %d BatchNorms rebuilt from %d training crops "
             "(max abs difference to ONNX Runtime %.2g); classifier initialised for %d "
             "identities", path, report["folded_bn"], len(pick), report["max_abs_diff"],
             model.num_classes)


def _warn_input_size(path: Path, trained_hw: Sequence[int], spec: TrainSpec) -> None:
    if trained_hw and [int(v) for v in trained_hw] != list(spec.data.input_size_hw):
        LOG.warning("init %s was trained at %s pixels, this run uses %s", path,
                    list(trained_hw), list(spec.data.input_size_hw))


def _quick_eval(model: ReIDModel, split: MarketSplit, spec: TrainSpec,
                device: torch.device) -> dict[str, Any]:
    from mtmc.reid.evaluate import TorchExtractor, evaluate_features, extract_features

    if len(split.query) == 0 or len(split.gallery) == 0:
        return {}
    ext = TorchExtractor(model, input_size_hw=spec.data.input_size_hw, mean=spec.data.mean,
                         std=spec.data.std, device=device)
    qf = extract_features(ext, split.query.paths, workers=spec.data.workers)
    gf = extract_features(ext, split.gallery.paths, workers=spec.data.workers)
    try:
        m, _ = evaluate_features(qf, gf, split.query, split.gallery)
    except ValueError as exc:
        LOG.warning("evaluation skipped: %s", exc)
        return {}
    return {"rank1": round(100 * m["rank1"], 3), "mAP": round(100 * m["mAP"], 3)}


def _prepare_log(path: Path, start_epoch: int) -> None:
    """Fresh log with a header, or (resuming) the rows of the epochs already saved."""
    rows: list[dict[str, str]] = []
    if start_epoch > 0 and path.is_file():
        with path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= start_epoch]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _append_log(path: Path, row: dict[str, Any]) -> None:
    with path.open("a", newline="") as f:
        csv.DictWriter(f, fieldnames=LOG_COLUMNS).writerow(
            {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit status 2 on a user error (bad spec, data or checkpoint)."""
    ap = argparse.ArgumentParser(prog="python -m mtmc.reid.train",
                                 description="Train a ReID model (Bag of Tricks) on Market-1501 "
                                             "crops")
    ap.add_argument("--spec", required=True, type=Path, help="training spec YAML "
                                                             "(configs/reid/*.yaml)")
    ap.add_argument("--data", type=Path, default=None,
                    help="Market-1501 folder (default: the spec's 'dataset')")
    ap.add_argument("--init", type=Path, default=None,
                    help="model to fine-tune from: a checkpoint (.pt) or an ONNX export of the "
                         "same architecture, such as models/reid/base.onnx (default: the "
                         "spec's 'init')")
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default runs/reid/<spec name>)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue from OUT/last.pt (the default when it exists); "
                            "fail if it is missing")
    group.add_argument("--no-resume", action="store_true",
                       help="start over even if OUT/last.pt exists")
    ap.add_argument("--epochs", type=int, default=None, help="override optim.epochs")
    ap.add_argument("--device", default=None, help="override device (auto, cpu, cuda[:N])")
    ap.add_argument("--threads", type=int, default=None,
                    help="override threads (CPU threads; use 1 on a busy machine, where "
                         "competing OpenMP threads slow training several-fold)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        spec = load_spec(args.spec)
        if args.epochs is not None:
            spec = dataclasses.replace(spec, optim=dataclasses.replace(spec.optim,
                                                                       epochs=args.epochs))
        if args.device is not None:
            spec = dataclasses.replace(spec, device=args.device)
        if args.threads is not None:
            spec = dataclasses.replace(spec, threads=args.threads)
        out = args.out if args.out is not None else Path("runs/reid") / args.spec.stem
        resume: Literal["auto", "yes", "no"] = ("yes" if args.resume else
                                                "no" if args.no_resume else "auto")
        summary = train(spec, out, data_dir=args.data, init=args.init, resume=resume,
                        progress=not args.no_progress and sys.stderr.isatty())
    except ValueError as exc:  # ConfigError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"model: {summary['model']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
