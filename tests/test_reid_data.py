from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mtmc.reid.data import (
    BatchAugment,
    MarketImages,
    PKBatchSampler,
    PreloadedBatches,
    normalize,
    preload_crops,
    read_crop_rgb,
    relabel,
)
from mtmc.reid.spec import IMAGENET_MEAN, IMAGENET_STD, AugmentSpec

pytestmark = pytest.mark.usefixtures("one_thread")


def test_relabel() -> None:
    labels, classes = relabel(np.array([7, 3, 7, 12]))
    assert labels.tolist() == [1, 0, 1, 2] and classes.tolist() == [3, 7, 12]


# identities 0..5 with 8, 5, 4, 2, 9 and 1 images
COUNTS = [8, 5, 4, 2, 9, 1]
LABELS = np.repeat(np.arange(6), COUNTS)


def test_pk_batches_compose_p_distinct_ids_of_k() -> None:
    s = PKBatchSampler(LABELS, ids_per_batch=3, images_per_id=4, seed=1)
    batches = list(s)
    # chunks of 4 per id: 8->2, 5->1, 4->1, 2->1 (oversampled), 9->2, 1->1 (oversampled) = 8;
    # 3 ids per batch: at most 8 // 3 = 2 batches, at least one
    assert 1 <= len(batches) <= 2 and len(s) == len(batches)
    used: Counter[int] = Counter()
    for b in batches:
        assert len(b) == 12
        ids = LABELS[b]
        per_id = Counter(ids.tolist())
        assert len(per_id) == 3 and set(per_id.values()) == {4}
        used.update(b)
    # an identity with >= K images never repeats an image within the epoch
    for idx, n in used.items():
        if COUNTS[LABELS[idx]] >= 4:
            assert n == 1


def test_pk_oversamples_small_ids() -> None:
    # two ids: one with a single image (index 0), one with 4 images
    s = PKBatchSampler(np.array([0, 1, 1, 1, 1]), ids_per_batch=2, images_per_id=4, seed=0)
    (batch,) = list(s)
    assert sorted(batch) == [0, 0, 0, 0, 1, 2, 3, 4]


def test_pk_deterministic_per_seed_and_epoch() -> None:
    labels = np.repeat(np.arange(10), 8)
    a = PKBatchSampler(labels, 4, 4, seed=5)
    b = PKBatchSampler(labels, 4, 4, seed=5)
    assert list(a) == list(b)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    assert a.batches(0) != a.batches(1)
    assert PKBatchSampler(labels, 4, 4, seed=6).batches(0) != a.batches(0)


def test_pk_too_few_ids() -> None:
    with pytest.raises(ValueError, match="fewer than P=4"):
        PKBatchSampler(np.array([0, 0, 1, 1, 2, 2]), 4, 2)


def test_read_crop_rgb_converts_colour_once(tmp_path: Path) -> None:
    bgr = np.zeros((40, 20, 3), np.uint8)
    bgr[..., 0] = 255  # pure blue in OpenCV order
    path = tmp_path / "blue.png"
    cv2.imwrite(str(path), bgr)
    rgb = read_crop_rgb(str(path), (16, 8))
    assert rgb.shape == (16, 8, 3)
    assert (rgb[..., 2] == 255).all() and (rgb[..., 0] == 0).all()
    ds = MarketImages([str(path)], [3], (16, 8))
    img, label = ds[0]
    assert img.shape == (3, 16, 8) and img.dtype == torch.uint8 and label == 3
    with pytest.raises(ValueError, match="cannot read image"):
        read_crop_rgb(str(tmp_path / "missing.jpg"), (16, 8))


def test_preloaded_batches_equal_the_loader_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):  # sizes differ, so every crop is resized
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (30 + i, 14 + i, 3), dtype=np.uint8))
        paths.append(str(path))
    labels = np.array([0, 0, 1, 1, 2, 2])
    images = preload_crops(paths, (16, 8), threads=2)
    assert images.shape == (6, 3, 16, 8) and images.dtype == torch.uint8
    ds = MarketImages(paths, labels, (16, 8))
    sampler = PKBatchSampler(labels, ids_per_batch=2, images_per_id=2, seed=3)
    batches = list(PreloadedBatches(images, labels, sampler))
    assert len(batches) == len(sampler) > 0
    for (x, y), index in zip(batches, sampler.batches(0), strict=True):
        assert torch.equal(x, torch.stack([ds[i][0] for i in index]))
        assert y.tolist() == labels[index].tolist()
    with pytest.raises(ValueError, match="6 images but 5 labels"):
        PreloadedBatches(images, labels[:5], sampler)
    with pytest.raises(ValueError, match="cannot read image"):
        preload_crops([*paths, str(tmp_path / "missing.png")], (16, 8))


def _images(n: int = 4, h: int = 32, w: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, 3, h, w), generator=g, dtype=torch.uint8)


def test_augment_flip_only_is_exact() -> None:
    x = _images()
    aug = BatchAugment(AugmentSpec(flip_prob=1.0, pad_px=0, erasing_prob=0.0),
                       IMAGENET_MEAN, IMAGENET_STD)
    out = aug(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, normalize(x.flip(-1), IMAGENET_MEAN, IMAGENET_STD))
    none = BatchAugment(AugmentSpec(flip_prob=0.0, pad_px=0, erasing_prob=0.0),
                        IMAGENET_MEAN, IMAGENET_STD)
    torch.testing.assert_close(none(x, torch.Generator()), normalize(x, IMAGENET_MEAN,
                                                                       IMAGENET_STD))


def test_augment_pad_crop_shifts_within_padding() -> None:
    x = torch.full((8, 3, 32, 16), 255, dtype=torch.uint8)
    aug = BatchAugment(AugmentSpec(flip_prob=0.0, pad_px=3, erasing_prob=0.0), (0, 0, 0),
                       (1, 1, 1))
    out = aug(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    black = out[:, 0] == 0  # padding shows up as black rows/columns only
    assert black.any()
    for img in black:
        rows = int(img.all(dim=1).sum())  # fully black rows (vertical shift)
        cols = int(img.all(dim=0).sum())  # fully black columns (horizontal shift)
        assert rows <= 3 and cols <= 3
        assert int(img.sum()) == int(rows * 16 + cols * 32 - rows * cols)


def test_augment_erasing_rectangle_and_determinism() -> None:
    x = _images(n=16, h=64, w=32)
    spec = AugmentSpec(flip_prob=0.5, pad_px=0, erasing_prob=1.0, erasing_area=(0.02, 0.4))
    aug = BatchAugment(spec, (0, 0, 0), (1, 1, 1))
    out = aug(x, torch.Generator().manual_seed(7))
    again = aug(x, torch.Generator().manual_seed(7))
    torch.testing.assert_close(out, again)
    assert not torch.equal(out, aug(x, torch.Generator().manual_seed(8)))
    for img in out:
        erased = (img == 0).all(dim=0)  # all channels at the mean colour
        frac = float(erased.float().mean())
        assert 0.015 <= frac <= 0.45
        ys, xs = torch.nonzero(erased, as_tuple=True)
        box = (int(ys.max() - ys.min()) + 1) * (int(xs.max() - xs.min()) + 1)
        assert box == int(erased.sum())  # a filled rectangle


def test_augment_rejects_float() -> None:
    aug = BatchAugment(AugmentSpec(), IMAGENET_MEAN, IMAGENET_STD)
    with pytest.raises(ValueError, match="uint8"):
        aug(torch.zeros(1, 3, 8, 4), torch.Generator())
