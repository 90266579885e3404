"""Evaluate a ReID model (checkpoint or ONNX) on a Market-1501 folder, with plots.

Protocol: embed ``query/`` and ``bounding_box_test/``, L2-normalise, rank the gallery by cosine
distance (optionally k-reciprocal re-ranked, :func:`mtmc.reid.rerank.re_ranking`) and score with
:func:`mtmc.reid.metrics.evaluate_rank` (same identity and camera removed, junk ignored).

Outputs in ``--out`` (when given):

- ``metrics.json``: ``rank1``, ``rank5``, ``rank10``, ``mAP``, ``mINP`` in percent, the CMC
  curve, counts, speed; with ``--rerank`` also the scores without re-ranking
  (``without_rerank``);
- ``distances.png``: cosine-distance densities of true matches (green) and of different
  identities (red), query x gallery pairs the protocol keeps;
- ``cmc.png``: the CMC curve; ``ranked.png``: a few queries with their top-ranked gallery crops,
  green borders for true matches, red for false ones.

The plotting functions take plain arrays so reports can reuse them, e.g. to show distance
distributions before and after fine-tuning side by side::

    plot_distance_histograms({"before": (pos0, neg0), "after": (pos1, neg1)}, "dist.png")

Example::

    metrics = evaluate_model("runs/reid/model.pt", "data/market", out_dir="runs/reid/eval")
    metrics["mAP"]      # percent

CLI::

    python -m mtmc.reid.evaluate --model runs/reid/model.pt --data data/market [--rerank] [--out DIR]
"""

from __future__ import annotations

import abc
import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from mtmc.formats.market import JUNK_PID, MarketRecords, MarketSplit, read_market
from mtmc.reid.data import MarketImages, normalize, read_crop_rgb
from mtmc.reid.metrics import evaluate_rank
from mtmc.reid.model import ReIDModel, load_model, resolve_device
from mtmc.reid.rerank import re_ranking
from mtmc.reid.spec import IMAGENET_MEAN, IMAGENET_STD, default_threads

__all__ = [
    "Extractor",
    "OnnxExtractor",
    "TorchExtractor",
    "cosine_distance",
    "draw_distance_histogram",
    "embed_market",
    "evaluate_features",
    "evaluate_model",
    "extract_features",
    "l2_normalize",
    "main",
    "open_extractor",
    "percent_metrics",
    "plot_cmc",
    "plot_distance_histograms",
    "plot_ranked_lists",
    "protocol_pair_distances",
]

METRIC_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP")
GREEN, RED, GREY = (0, 170, 0), (220, 0, 0), (90, 90, 90)  # RGB borders of the ranked lists


# ---------------------------------------------------------------------------------------------
# Feature extraction


class Extractor(abc.ABC):
    """A model that maps normalised crops to embeddings.

    Attributes:
        input_size_hw: (height, width) the model expects.
        mean, std: RGB normalisation on 0..1 pixels.
        color_order: ``rgb`` or ``bgr`` channel order of the model's input.

    Call: ``extractor(x (N, 3, H, W) float32, RGB or BGR as color_order says) -> (N, D) float32``.
    """

    input_size_hw: tuple[int, int] = (256, 128)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    color_order: str = "rgb"

    @abc.abstractmethod
    def __call__(self, x: torch.Tensor) -> np.ndarray:
        """(N, 3, H, W) float32 normalised crops -> (N, D) float32 embeddings."""


class TorchExtractor(Extractor):
    """A :class:`ReIDModel` in eval mode (float16 autocast on CUDA)."""

    def __init__(self, model: ReIDModel, *, input_size_hw: Sequence[int],
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 device: torch.device | str = "cpu") -> None:
        self.model = model
        self.input_size_hw = (int(input_size_hw[0]), int(input_size_hw[1]))
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.device = torch.device(device)

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.float16,
                                                 enabled=self.device.type == "cuda"):
                out = self.model(x.to(self.device, non_blocking=True))
        finally:
            self.model.train(was_training)
        return out.float().cpu().numpy()


class OnnxExtractor(Extractor):
    """An ONNX file run by ONNX Runtime; input geometry and normalisation from its ``mtmc.*``
    metadata (see :mod:`mtmc.reid.export`), else 256x128 RGB ImageNet defaults."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None
                 ) -> None:
        import onnxruntime as ort

        from mtmc.reid.export import parse_metadata

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: ONNX model not found")
        providers = ["CPUExecutionProvider"]
        if (resolve_device(device).type == "cuda"
                and "CUDAExecutionProvider" in ort.get_available_providers()):
            providers.insert(0, "CUDAExecutionProvider")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        self.session = ort.InferenceSession(str(path), opts, providers=providers)
        meta = parse_metadata(self.session.get_modelmeta().custom_metadata_map)
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        hw = tuple(shape[2:4]) if all(isinstance(v, int) for v in shape[2:4]) else None
        self.input_size_hw = meta.get("input_size_hw", hw or (256, 128))
        self.mean = meta.get("mean", IMAGENET_MEAN)
        self.std = meta.get("std", IMAGENET_STD)
        self.color_order = meta.get("color_order", "rgb")

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        arr = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        return np.asarray(self.session.run(None, {self.input_name: arr})[0], dtype=np.float32)


def open_extractor(path: str | Path, device: str = "auto", threads: int | None = None
                   ) -> Extractor:
    """A :class:`TorchExtractor` for a ``.pt`` checkpoint or an :class:`OnnxExtractor` for
    ``.onnx`` (``threads``: ONNX Runtime CPU threads, default all usable cores).

    Raises:
        ValueError: missing file or unknown suffix.
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return OnnxExtractor(path, device, threads)
    if path.suffix.lower() in (".pt", ".pth"):
        dev = resolve_device(device)
        model, info = load_model(path, dev)
        return TorchExtractor(model, input_size_hw=info["input_size_hw"], mean=info["mean"],
                              std=info["std"], device=dev)
    raise ValueError(f"{path}: unknown model type; pass a .pt checkpoint or an .onnx file")


def extract_features(extractor: Extractor, paths: Sequence[str] | np.ndarray, *,
                     batch_size: int = 64, workers: int = 0, progress: bool = False,
                     desc: str = "embed") -> np.ndarray:
    """Embed image files: (N,) paths -> (N, D) float32 raw embeddings (not normalised).

    Images are read as RGB, resized to the extractor's input size, normalised with its mean/std
    and flipped to BGR only if the extractor asks for it.
    """
    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("extract_features: no images")
    ds = MarketImages(paths, np.zeros(len(paths), dtype=np.int64), extractor.input_size_hw)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers)
    feats = []
    for images_u8, _ in tqdm(loader, desc=desc, unit="batch", disable=not progress,
                             leave=False):
        x = normalize(images_u8, extractor.mean, extractor.std)
        if extractor.color_order == "bgr":
            x = x.flip(1)
        feats.append(extractor(x))
    return np.concatenate(feats).astype(np.float32)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero): (N, D) -> (N, D) float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, D), (M, D) -> (N, M) ``1 - cos`` in [0, 2]; inputs need not be normalised.

    Example: ``cosine_distance([[1, 0]], [[1, 0], [0, 2], [-1, 0]]) == [[0, 1, 2]]``.
    """
    d = 1.0 - l2_normalize(a) @ l2_normalize(b).T
    return np.clip(d, 0.0, 2.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Scoring


def evaluate_features(q_feats: np.ndarray, g_feats: np.ndarray, query: MarketRecords,
                      gallery: MarketRecords, *, rerank: bool = False, k1: int = 20, k2: int = 6,
                      lambda_value: float = 0.3) -> tuple[dict[str, Any], np.ndarray]:
    """Score embeddings under the Market-1501 protocol.

    Returns:
        ``(metrics, distmat)``: :func:`evaluate_rank`'s dict (fractions in [0, 1]) and the (Q, G)
        distances it ranked (cosine, or re-ranked).
    """
    dist = cosine_distance(q_feats, g_feats)
    if rerank:
        dist = re_ranking(dist, cosine_distance(q_feats, q_feats),
                          cosine_distance(g_feats, g_feats), k1=k1, k2=k2,
                          lambda_value=lambda_value)
    metrics = evaluate_rank(dist, query.pids, gallery.pids, query.camids, gallery.camids)
    return metrics, dist


def protocol_pair_distances(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
                            q_camids: np.ndarray, g_camids: np.ndarray, *,
                            max_pairs: int = 1_000_000, seed: int = 0
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Distances of true-match pairs and of different-identity pairs, as the protocol counts them.

    Pairs with a junk gallery crop, a junk or distractor query, or the same identity in the same
    camera are left out. Each of the two sets is subsampled (seeded) to at most ``max_pairs``.

    Returns:
        ``(positive (P,), negative (M,))`` float32 distances.
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    same = q_pids[:, None] == g_pids[None, :]
    usable = (g_pids[None, :] != JUNK_PID) & (q_pids[:, None] > 0)
    usable &= ~(same & (q_camids[:, None] == g_camids[None, :]))
    rng = np.random.default_rng(seed)
    out = []
    for mask in (usable & same, usable & ~same):
        vals = distmat[mask].astype(np.float32)
        if len(vals) > max_pairs:
            vals = vals[np.sort(rng.choice(len(vals), max_pairs, replace=False))]
        out.append(vals)
    return out[0], out[1]


def embed_market(model_path: str | Path, data_dir: str | Path, *, device: str = "auto",
                 batch_size: int = 64, workers: int = 0, progress: bool = True,
                 threads: int | None = None) -> tuple[MarketSplit, np.ndarray, np.ndarray]:
    """Read a Market folder and embed its query and gallery crops with a model.

    Returns:
        ``(split, query_feats (Q, D), gallery_feats (G, D))``; score them with
        :func:`evaluate_features`.

    Raises:
        ValueError: the folder is not Market layout, has no query or gallery crops, or the model
            cannot be read.
    """
    split = read_market(data_dir)
    if len(split.query) == 0 or len(split.gallery) == 0:
        raise ValueError(f"{data_dir}: query/ or bounding_box_test/ has no crops to evaluate")
    extractor = open_extractor(model_path, device, threads)
    qf = extract_features(extractor, split.query.paths, batch_size=batch_size, workers=workers,
                          progress=progress, desc="query")
    gf = extract_features(extractor, split.gallery.paths, batch_size=batch_size, workers=workers,
                          progress=progress, desc="gallery")
    return split, qf, gf


def evaluate_model(model_path: str | Path, data_dir: str | Path, *, rerank: bool = False,
                   out_dir: str | Path | None = None, device: str = "auto", batch_size: int = 64,
                   workers: int = 0, plots: bool = True, progress: bool = True,
                   threads: int | None = None) -> dict[str, Any]:
    """Embed a Market folder's query and gallery with a model and score it.

    Args:
        model_path: ``.pt`` checkpoint or ``.onnx`` export.
        data_dir: Market-1501 folder (``query/`` and ``bounding_box_test/`` are used).
        rerank: also apply k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3) and report its scores
            as the main ones (the plain scores go to ``without_rerank``).
        out_dir: where ``metrics.json`` and the plots go; ``None`` writes nothing.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        threads: ONNX Runtime CPU threads (torch uses ``torch.get_num_threads()``).

    Returns:
        ``rank1``, ``rank5``, ``rank10``, ``mAP``, ``mINP`` in percent, plus ``cmc`` (percent,
        ranks 1..50), counts and timing.

    Raises:
        ValueError: the folder is not Market layout, has no query or gallery crops, or the model
            cannot be read.
    """
    t0 = time.perf_counter()
    split, qf, gf = embed_market(model_path, data_dir, device=device, batch_size=batch_size,
                                 workers=workers, progress=progress, threads=threads)
    seconds = time.perf_counter() - t0
    plain, cos_dist = evaluate_features(qf, gf, split.query, split.gallery)
    result = percent_metrics(plain)
    if rerank:
        reranked, _ = evaluate_features(qf, gf, split.query, split.gallery, rerank=True)
        result = {**percent_metrics(reranked), "without_rerank": percent_metrics(plain)}
    n_crops = len(qf) + len(gf)
    result.update({
        "model": str(model_path), "data": str(data_dir), "rerank": rerank,
        "num_queries": int(plain["num_queries"]),
        "num_valid_queries": int(plain["num_valid_queries"]),
        "num_gallery": len(split.gallery), "embedding_dim": int(qf.shape[1]),
        "embed_seconds": round(seconds, 3), "ms_per_crop": round(1000 * seconds / n_crops, 3),
    })
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        if plots:
            pos, neg = protocol_pair_distances(cos_dist, split.query.pids, split.gallery.pids,
                                               split.query.camids, split.gallery.camids)
            plot_distance_histograms({Path(model_path).name: (pos, neg)}, out / "distances.png")
            plot_cmc({Path(model_path).name: np.asarray(result["cmc"]) / 100.0}, out / "cmc.png")
            plot_ranked_lists(split.query, split.gallery, cos_dist, out / "ranked.png")
    return result


def percent_metrics(m: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`evaluate_rank`'s fractions as percentages (``METRIC_KEYS`` and ``cmc``)."""
    out: dict[str, Any] = {k: round(100.0 * float(m[k]), 4) for k in METRIC_KEYS}
    out["cmc"] = [round(100.0 * float(v), 4) for v in m["cmc"]]
    return out


# ---------------------------------------------------------------------------------------------
# Plots (matplotlib, Agg backend; every function saves a PNG and returns its path)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_distance_histogram(ax: Any, pos: np.ndarray, neg: np.ndarray, title: str = "", *,
                            bins: int = 50, range_: tuple[float, float] = (0.0, 1.0)) -> None:
    """Draw true-match (green) and different-identity (red) distance densities on ``ax``.

    The x range defaults to cosine distance 0..1 (values above 1 are clipped into the last bin).
    """
    edges = np.linspace(range_[0], range_[1], bins + 1)
    for vals, colour, label in ((pos, "tab:green", "same identity"),
                                (neg, "tab:red", "different identity")):
        vals = np.clip(np.asarray(vals, dtype=np.float64), range_[0], range_[1])
        if len(vals):
            ax.hist(vals, bins=edges, density=True, alpha=0.5, color=colour,
                    label=f"{label} (n={len(vals)})")
    ax.set_xlabel("cosine distance")
    ax.set_ylabel("density")
    ax.set_xlim(*range_)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")


def plot_distance_histograms(panels: Mapping[str, tuple[np.ndarray, np.ndarray]],
                             path: str | Path, *, bins: int = 50) -> Path:
    """One panel per entry (e.g. ``{"before": (pos, neg), "after": (pos, neg)}``), side by side,
    sharing the x axis. Returns ``path``."""
    plt = _pyplot()
    n = max(1, len(panels))
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.6), squeeze=False, sharex=True)
    for ax, (title, (pos, neg)) in zip(axes[0], panels.items(), strict=False):
        draw_distance_histogram(ax, pos, neg, title, bins=bins)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_cmc(curves: Mapping[str, np.ndarray], path: str | Path, *, max_rank: int = 20) -> Path:
    """CMC curves (fractions, ``cmc[k-1]`` = rank-k) of one or more models. Returns ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for label, cmc in curves.items():
        cmc = np.asarray(cmc, dtype=np.float64)[:max_rank]
        ax.plot(np.arange(1, len(cmc) + 1), 100 * cmc, marker="o", ms=3, label=label)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_ranked_lists(query: MarketRecords, gallery: MarketRecords, distmat: np.ndarray,
                      path: str | Path, *, num_queries: int = 6, top_k: int = 8,
                      thumb_hw: tuple[int, int] = (128, 64)) -> Path:
    """Queries (left column, grey border) and their top-ranked gallery crops after the protocol's
    removals (green border: same identity, red: different). Queries with a true match are chosen
    evenly spread over the query list. Returns ``path``."""
    plt = _pyplot()
    distmat = np.asarray(distmat)
    keep_g = gallery.pids != JUNK_PID
    has_match = [(i, np.flatnonzero(keep_g & (gallery.pids == query.pids[i])
                                     & (gallery.camids != query.camids[i])))
                 for i in range(len(query)) if query.pids[i] > 0]
    valid = [i for i, m in has_match if len(m)]
    if not valid:
        raise ValueError("plot_ranked_lists: no query has a true match in another camera")
    picks = [valid[int(j)] for j in np.unique(np.linspace(0, len(valid) - 1, num_queries)
                                              .round().astype(int))]
    # one mosaic image (fast to draw): a cell per crop, a gap column after the query
    th, tw = thumb_hw
    pad, gap = 4, 12
    cell_h, cell_w = th + 2 * pad + gap, tw + 2 * pad + 4
    mosaic = np.full((len(picks) * cell_h, (top_k + 1) * cell_w + gap, 3), 255, np.uint8)
    labels: list[tuple[float, float, str]] = []
    for row, qi in enumerate(picks):
        allowed = keep_g & ~((gallery.pids == query.pids[qi])
                             & (gallery.camids == query.camids[qi]))
        order = np.flatnonzero(allowed)[np.argsort(distmat[qi, allowed], kind="stable")][:top_k]
        cells = [(query.paths[qi], GREY, f"q{query.pids[qi]} c{query.camids[qi]}")]
        for gi in order:
            colour = GREEN if gallery.pids[gi] == query.pids[qi] else RED
            cells.append((gallery.paths[gi], colour,
                          f"{distmat[qi, gi]:.2f} c{gallery.camids[gi]}"))
        for col, (img_path, colour, label) in enumerate(cells):
            y0 = row * cell_h + gap
            x0 = col * cell_w + (gap if col else 0)
            tile = _bordered(read_crop_rgb(img_path, thumb_hw), colour, pad)
            mosaic[y0:y0 + tile.shape[0], x0:x0 + tile.shape[1]] = tile
            labels.append((x0 + tile.shape[1] / 2, y0 - 2, label))
    dpi = 100  # one mosaic pixel per saved pixel
    fig = plt.figure(figsize=(mosaic.shape[1] / dpi, mosaic.shape[0] / dpi))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(mosaic, interpolation="nearest")
    for x, y, text in labels:
        ax.text(x, y, text, ha="center", va="bottom", fontsize=6.5)
    ax.axis("off")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)


def _bordered(rgb: np.ndarray, colour: tuple[int, int, int], px: int = 4) -> np.ndarray:
    out = np.empty((rgb.shape[0] + 2 * px, rgb.shape[1] + 2 * px, 3), dtype=np.uint8)
    out[:] = colour
    out[px:-px, px:-px] = rgb
    return out


# ---------------------------------------------------------------------------------------------
# CLI


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: evaluate, print the metrics; exit status 2 on a user error."""
    ap = argparse.ArgumentParser(prog="python -m mtmc.reid.evaluate",
                                 description="Rank-1/5/10, mAP and mINP of a ReID model on a "
                                             "Market-1501 folder (query vs bounding_box_test)")
    ap.add_argument("--model", required=True, type=Path, help=".pt checkpoint or .onnx model")
    ap.add_argument("--data", required=True, type=Path, help="Market-1501 folder")
    ap.add_argument("--rerank", action="store_true",
                    help="k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3)")
    ap.add_argument("--out", type=Path, default=None, help="folder for metrics.json and plots")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default auto)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=0, help="image decoding processes")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(default_threads())
    try:
        m = evaluate_model(args.model, args.data, rerank=args.rerank, out_dir=args.out,
                           device=args.device, batch_size=args.batch_size, workers=args.workers,
                           plots=not args.no_plots, progress=sys.stderr.isatty())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    line = "  ".join(f"{k} {m[k]:.2f}" for k in METRIC_KEYS)
    print(f"{line}  ({m['num_valid_queries']} queries, {m['num_gallery']} gallery"
          f"{', re-ranked' if args.rerank else ''})")
    if args.rerank:
        w = m["without_rerank"]
        print("without re-ranking: " + "  ".join(f"{k} {w[k]:.2f}" for k in METRIC_KEYS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
