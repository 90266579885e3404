"""A tiny synthetic Market-1501 folder of coloured-rectangle "people", for tests and smoke runs.

Each identity has its own shirt, trouser and head colours and a build (shirt/trouser boundary);
each camera has its own background tint and brightness; each crop jitters position, size and
colour and adds noise. A model that learns colour and layout separates them; a model that learns
nothing does not, so the data exercises training, evaluation and export end to end in seconds.

Example::

    write_toy_market("/tmp/toy", num_train_ids=6, num_test_ids=4, cameras=3, per_camera=3)
    python -m mtmc.reid.train --spec configs/reid/base.yaml --data /tmp/toy --epochs 1
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mtmc.formats.market import market_path

__all__ = ["draw_person_bgr", "write_toy_market"]


def draw_person_bgr(rng: np.random.Generator, shirt_bgr: np.ndarray, trousers_bgr: np.ndarray,
                    head_bgr: np.ndarray, waist: float, background_bgr: np.ndarray,
                    size_hw: tuple[int, int] = (128, 64)) -> np.ndarray:
    """One (H, W, 3) uint8 BGR crop: background, head, shirt and trousers rectangles, jittered.

    ``waist`` is the shirt/trouser boundary as a fraction of the body height (0.4..0.6).
    """
    h, w = size_hw
    img = np.empty((h, w, 3), dtype=np.float64)
    img[:] = background_bgr
    cx = w / 2 + rng.uniform(-0.08, 0.08) * w
    top = rng.uniform(0.02, 0.08) * h
    bottom = h - rng.uniform(0.02, 0.06) * h
    body_w = rng.uniform(0.42, 0.55) * w
    head_h = 0.14 * (bottom - top)
    waist_y = top + head_h + waist * (bottom - top - head_h)
    jitter = rng.uniform(0.85, 1.15)

    def rect(y0: float, y1: float, half_w: float, colour: np.ndarray) -> None:
        ys = slice(int(round(y0)), int(round(y1)))
        xs = slice(int(round(cx - half_w)), int(round(cx + half_w)))
        img[ys, xs] = np.clip(colour * jitter, 0, 255)

    rect(top, top + head_h, body_w * 0.22, head_bgr)
    rect(top + head_h, waist_y, body_w / 2, shirt_bgr)
    rect(waist_y, bottom, body_w * 0.4, trousers_bgr)
    img += rng.normal(0.0, 6.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_toy_market(root: str | Path, *, num_train_ids: int = 8, num_test_ids: int = 4,
                     cameras: int = 3, per_camera: int = 3, size_hw: tuple[int, int] = (128, 64),
                     seed: int = 0) -> Path:
    """Write ``bounding_box_train/``, ``query/`` and ``bounding_box_test/`` under ``root``.

    Train identities are 1..num_train_ids; test identities follow. Every crop of a test
    identity goes to the gallery except one query per camera for the first two cameras, so every
    query has true matches in other cameras.

    Returns:
        ``root`` as a Path.
    """
    root = Path(root)
    if cameras < 2:
        raise ValueError(f"write_toy_market: need >= 2 cameras, got {cameras}")
    rng = np.random.default_rng(seed)
    n_ids = num_train_ids + num_test_ids
    shirts = rng.uniform(20, 235, (n_ids, 3))
    trousers = rng.uniform(20, 235, (n_ids, 3))
    heads = rng.uniform(60, 200, (n_ids, 3))
    waists = rng.uniform(0.4, 0.6, n_ids)
    backgrounds = rng.uniform(60, 190, (cameras, 3))
    for split in ("train", "query", "gallery"):
        market_path(root, split, 1, 1, 1).parent.mkdir(parents=True, exist_ok=True)
    for i in range(n_ids):
        pid = i + 1
        for cam in range(1, cameras + 1):
            for k in range(per_camera):
                frame = 1 + 10 * k + cam
                img = draw_person_bgr(rng, shirts[i], trousers[i], heads[i], waists[i],
                                      backgrounds[cam - 1], size_hw)
                if i < num_train_ids:
                    split = "train"
                else:
                    split = "query" if (k == 0 and cam <= 2) else "gallery"
                cv2.imwrite(str(market_path(root, split, pid, cam, frame)), img)
    return root
