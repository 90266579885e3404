"""ReID training data: crop loading, the P x K identity sampler and batch augmentation.

Pipeline (every random choice is seeded, so a run is reproducible on a CPU)::

    MarketRecords --PKBatchSampler(seed, epoch)--> P identities x K crop indices per batch
        --MarketImages (DataLoader workers)--> (N, 3, H, W) uint8 RGB, resized to input_size_hw
        --BatchAugment(torch.Generator)--> flip, pad + random crop, normalise, random erasing
        --> (N, 3, H, W) float32, ready for the model

With ``data.preload`` the crops are decoded once (:func:`preload_crops`) and
:class:`PreloadedBatches` gathers the same batches from memory in place of the DataLoader.
Decoding runs in DataLoader workers and has no randomness; all augmentation runs on whole
batches in the training process from one generator, so the number of workers never changes the
result. Colour order: images are read with OpenCV (BGR) and converted to RGB exactly once, in
:func:`read_crop_rgb`.

Example::

    labels, pids = relabel(split.train.pids)                      # 0..C-1 class labels
    sampler = PKBatchSampler(labels, ids_per_batch=16, images_per_id=4, seed=0)
    loader = DataLoader(MarketImages(split.train.paths, labels, (256, 128)),
                        batch_sampler=sampler)
    augment = BatchAugment(AugmentSpec(), IMAGENET_MEAN, IMAGENET_STD)
    for images_u8, y in loader:
        x = augment(images_u8, generator)                        # (64, 3, 256, 128) float32
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler
from tqdm import tqdm

from mtmc.reid.spec import AugmentSpec

__all__ = [
    "BatchAugment",
    "MarketImages",
    "PKBatchSampler",
    "PreloadedBatches",
    "normalize",
    "preload_crops",
    "read_crop_rgb",
    "relabel",
]

_ERASE_ATTEMPTS = 100  # rectangles tried per image before giving up (as Zhong et al.)


def relabel(pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map identities to contiguous class labels ``0..C-1`` in increasing identity order.

    Returns:
        ``(labels (N,) int64, classes (C,) int64)`` with ``classes[labels] == pids``.
        Example: ``relabel([7, 3, 7]) -> ([1, 0, 1], [3, 7])``.
    """
    classes, labels = np.unique(np.asarray(pids, dtype=np.int64), return_inverse=True)
    return labels.astype(np.int64).reshape(-1), classes


class PKBatchSampler(Sampler[list[int]]):
    """Batches of P distinct identities x K images each ("PK sampling", Hermans et al. 2017).

    For each epoch, seeded by ``(seed, epoch)``:

    1. every identity's images are shuffled; an identity with fewer than K images is
       oversampled to exactly K (drawn with replacement);
    2. each identity's list is cut into chunks of K (a last partial chunk is dropped);
    3. while at least P identities have chunks left, P of them are drawn without replacement and
       each gives its next chunk: one batch of P x K indices.

    So an epoch shows every image of an identity about once and every batch holds P distinct
    identities. Call :meth:`set_epoch` before iterating to vary the order between epochs.

    Args:
        labels: (N,) integer identity (or class label) of every image.
        ids_per_batch: P (must not exceed the number of identities).
        images_per_id: K.
        seed: base seed.

    Example::

        s = PKBatchSampler(np.repeat(np.arange(4), 5), ids_per_batch=2, images_per_id=4)
        len(s) == 4 and all(len(b) == 8 for b in s)
    """

    def __init__(self, labels: Sequence[int] | np.ndarray, ids_per_batch: int,
                 images_per_id: int, seed: int = 0) -> None:
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self.p = int(ids_per_batch)
        self.k = int(images_per_id)
        self.seed = int(seed)
        self.epoch = 0
        self.ids = np.unique(self.labels)
        if self.p < 1 or self.k < 1:
            raise ValueError(f"PKBatchSampler: P and K must be >= 1, got P={self.p} K={self.k}")
        if len(self.ids) < self.p:
            raise ValueError(f"PKBatchSampler: {len(self.ids)} identities, fewer than P="
                             f"{self.p} per batch; lower data.ids_per_batch")
        order = np.argsort(self.labels, kind="stable")
        starts = np.searchsorted(self.labels[order], self.ids)
        self._members = np.split(order, starts[1:])  # indices of each identity, in file order
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields."""
        self.epoch = int(epoch)

    def batches(self, epoch: int) -> list[list[int]]:
        """All batches of ``epoch`` (deterministic for a given seed and epoch)."""
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, int(epoch)])
        chunks: list[list[np.ndarray]] = []
        for members in self._members:
            if len(members) < self.k:
                idx = rng.choice(members, size=self.k, replace=True)
            else:
                idx = rng.permutation(members)
            n_full = len(idx) // self.k
            chunks.append([idx[i * self.k:(i + 1) * self.k] for i in range(n_full)])
        remaining = np.array([len(c) for c in chunks])
        taken = np.zeros(len(chunks), dtype=np.int64)
        out: list[list[int]] = []
        while (remaining > 0).sum() >= self.p:
            avail = np.flatnonzero(remaining > 0)
            chosen = rng.choice(avail, size=self.p, replace=False)
            out.append([int(i) for c in chosen for i in chunks[c][taken[c]]])
            taken[chosen] += 1
            remaining[chosen] -= 1
        self._cache = (int(epoch), out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches(self.epoch)

    def __len__(self) -> int:
        return len(self.batches(self.epoch))


def read_crop_rgb(path: str, size_hw: tuple[int, int]) -> np.ndarray:
    """Read an image file as RGB uint8 resized to ``size_hw`` = (height, width), bilinear.

    Returns:
        (H, W, 3) uint8, RGB order.

    Raises:
        ValueError: the file is missing or not a readable image.
    """
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: cannot read image (missing or corrupt file)")
    h, w = size_hw
    if bgr.shape[:2] != (h, w):
        bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # the one BGR -> RGB conversion


class MarketImages(Dataset):
    """Crops as ``(image (3, H, W) uint8 RGB tensor, label int)`` pairs.

    Args:
        paths: (N,) image paths.
        labels: (N,) integer labels (class labels for training; anything for evaluation).
        size_hw: output (height, width).
    """

    def __init__(self, paths: Sequence[str] | np.ndarray, labels: Sequence[int] | np.ndarray,
                 size_hw: tuple[int, int]) -> None:
        self.paths = [str(p) for p in paths]
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(self.labels) != len(self.paths):
            raise ValueError(f"MarketImages: {len(self.paths)} paths but {len(self.labels)} labels")
        self.size_hw = (int(size_hw[0]), int(size_hw[1]))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        rgb = read_crop_rgb(self.paths[index], self.size_hw)
        return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))), int(
            self.labels[index])


def preload_crops(paths: Sequence[str] | np.ndarray, size_hw: tuple[int, int], *,
                  threads: int = 2, progress: bool = False) -> torch.Tensor:
    """Decode every crop once into one ``(N, 3, H, W)`` uint8 RGB tensor (OpenCV decodes in
    ``threads`` threads; it releases the GIL). Same pixels as :class:`MarketImages` gives.

    Raises:
        ValueError: a file is missing or not a readable image (from :func:`read_crop_rgb`).
    """
    h, w = int(size_hw[0]), int(size_hw[1])
    out = torch.empty((len(paths), 3, h, w), dtype=torch.uint8)

    def load(i: int) -> None:
        out[i] = torch.from_numpy(read_crop_rgb(str(paths[i]), (h, w)).transpose(2, 0, 1))

    with ThreadPoolExecutor(max(1, threads)) as pool:
        for _ in tqdm(pool.map(load, range(len(paths))), total=len(paths), unit="crop",
                      desc="decoding crops", disable=not progress, leave=False):
            pass
    return out


class PreloadedBatches:
    """The batches of ``sampler`` gathered from decoded crops, as a DataLoader over
    :class:`MarketImages` would yield them: ``(images (B, 3, H, W) uint8, labels (B,) int64)``.

    Args:
        images_u8: (N, 3, H, W) uint8 from :func:`preload_crops`.
        labels: (N,) integer labels.
        sampler: yields lists of crop indices, one list per batch.
    """

    def __init__(self, images_u8: torch.Tensor, labels: Sequence[int] | np.ndarray,
                 sampler: Sampler[list[int]]) -> None:
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64).reshape(-1))
        if len(self.labels) != len(images_u8):
            raise ValueError(f"PreloadedBatches: {len(images_u8)} images but "
                             f"{len(self.labels)} labels")
        self.images_u8 = images_u8
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for batch in self.sampler:
            index = torch.as_tensor(batch, dtype=torch.int64)
            yield self.images_u8[index], self.labels[index]


def normalize(images_u8: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(N, 3, H, W) uint8 RGB -> float32 ``(x / 255 - mean) / std`` per channel."""
    m = torch.tensor(mean, dtype=torch.float32, device=images_u8.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=images_u8.device).view(1, 3, 1, 1)
    return (images_u8.float() / 255.0 - m) / s


class BatchAugment:
    """Bag-of-Tricks training augmentation for a whole batch, from one seeded generator.

    Steps, per image: horizontal flip with ``flip_prob``; zero (black) padding of ``pad_px`` and
    a random crop back to the input size; normalisation with mean/std; random erasing with
    ``erasing_prob``: a rectangle of ``erasing_area`` of the image and height/width ratio drawn
    uniformly from ``[erasing_aspect_min, 1 / erasing_aspect_min]`` (up to 100 tries for one that
    fits) is set to 0, i.e. the mean colour.

    Args:
        spec: augmentation parameters.
        mean, std: RGB normalisation on 0..1 pixels.

    Call: ``augment(images_u8 (N, 3, H, W) uint8, generator) -> (N, 3, H, W) float32``.
    """

    def __init__(self, spec: AugmentSpec, mean: Sequence[float], std: Sequence[float]) -> None:
        self.spec = spec
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)

    def __call__(self, images_u8: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if images_u8.dtype != torch.uint8 or images_u8.ndim != 4 or images_u8.shape[1] != 3:
            raise ValueError(f"BatchAugment: expected (N, 3, H, W) uint8, got "
                             f"{tuple(images_u8.shape)} {images_u8.dtype}")
        x = images_u8
        n, _, h, w = x.shape
        sp = self.spec
        # 1. horizontal flip
        flip = torch.rand(n, generator=generator) < sp.flip_prob
        if flip.any():
            x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
        # 2. pad with black, crop back at a random offset
        if sp.pad_px > 0:
            p = sp.pad_px
            padded = torch.nn.functional.pad(x, (p, p, p, p))
            oy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
            ox = torch.randint(0, 2 * p + 1, (n,), generator=generator)
            rows = (oy[:, None] + torch.arange(h))[:, None, :, None]
            cols = (ox[:, None] + torch.arange(w))[:, None, None, :]
            x = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None],
                       rows, cols]
        # 3. normalise
        x = normalize(x, self.mean, self.std)
        # 4. random erasing to the mean colour (0 after normalisation)
        if sp.erasing_prob > 0:
            mask = self._erase_mask(n, h, w, generator)
            x = x.masked_fill(mask[:, None], 0.0)
        return x

    def _erase_mask(self, n: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
        """(N, H, W) bool: True inside each image's erased rectangle (none for some images)."""
        sp = self.spec
        lo, hi = sp.erasing_area
        r = sp.erasing_aspect_min
        do = torch.rand(n, generator=generator) < sp.erasing_prob
        t = _ERASE_ATTEMPTS
        area = (lo + (hi - lo) * torch.rand(n, t, generator=generator, dtype=torch.float64)) * h * w
        aspect = r + (1.0 / r - r) * torch.rand(n, t, generator=generator, dtype=torch.float64)
        eh = torch.round(torch.sqrt(area * aspect)).long()
        ew = torch.round(torch.sqrt(area / aspect)).long()
        fits = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
        first = torch.argmax(fits.int(), dim=1)  # first attempt that fits
        rows = torch.arange(n)
        eh, ew = eh[rows, first], ew[rows, first]
        do &= fits[rows, first]
        uy = torch.rand(n, generator=generator, dtype=torch.float64)
        ux = torch.rand(n, generator=generator, dtype=torch.float64)
        y0 = torch.floor(uy * (h - eh + 1)).long().clamp_max(h - eh)
        x0 = torch.floor(ux * (w - ew + 1)).long().clamp_max(w - ew)
        ys = torch.arange(h).view(1, h, 1)
        xs = torch.arange(w).view(1, 1, w)
        inside = ((ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1)) &
                  (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1)))
        return inside & do.view(n, 1, 1)
