"""OnnxEmbedder and EmbeddingPolicy.

The test models are exported from torch in the test: a global average pool, so each output is
the mean of each normalised input channel and the expected embedding is plain arithmetic. The
``mtmc.*`` metadata is appended as ModelProto field 14 (``metadata_props``) by hand, because the
``onnx`` package is not a dependency.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import pytest

import mtmc.embed as embed_mod
from mtmc.config import ReidConfig
from mtmc.embed import CPU, CUDA, EmbeddingPolicy, OnnxEmbedder, choose_providers
from mtmc.types import CAMERA_ID, UNSET_TRACK_ID, Detections

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def export_pool_model(
    path: Path,
    *,
    input_hw: tuple[int, int] | None = (32, 16),
    batch: int | None = None,
    metadata: dict[str, str] | None = None,
    input_name: str = "input",
    output_name: str = "embedding",
) -> Path:
    """N x 3 x H x W -> N x 3 channel means; ``input_hw=None`` makes H and W dynamic too."""
    import torch

    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    h, w = input_hw or (32, 16)
    axes = {} if batch else {0: "N"}
    if input_hw is None:
        axes.update({2: "H", 3: "W"})
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy TorchScript exporter warns that it is legacy
        torch.onnx.export(
            net, (torch.zeros(batch or 1, 3, h, w),), buf, input_names=[input_name],
            output_names=[output_name], dynamic_axes={input_name: axes} if axes else None, dynamo=False,
        )
    data = buf.getvalue()
    for key, value in (metadata or {}).items():  # ModelProto.metadata_props = 14
        data += _field(14, _field(1, key.encode()) + _field(2, value.encode()))
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reid")


@pytest.fixture(scope="module")
def pool_model(model_dir: Path) -> Path:
    return export_pool_model(model_dir / "pool.onnx")


def solid(bgr: tuple[int, int, int], h: int = 120, w: int = 80) -> np.ndarray:
    return np.full((h, w, 3), bgr, np.uint8)


def dets_on(camera: str, boxes: list[list[float]], track_ids: list[int] | None = None) -> Detections:
    return Detections(xyxy=np.array(boxes, float).reshape(-1, 4), track_id=track_ids, meta={CAMERA_ID: camera})


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


# --- embedder ---------------------------------------------------------------------------------


def test_red_and_blue_crops_embed_as_the_rgb_model_sees_them(pool_model: Path) -> None:
    emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu"))
    assert emb.prep.color_order == "rgb" and emb.prep.input_hw == (32, 16) and emb.dim == 3
    red_bgr, blue_bgr = (0, 0, 255), (255, 0, 0)
    out = emb.embed({"cam1": solid(red_bgr), "cam2": solid(blue_bgr)},
                    Detections.concatenate([dets_on("cam1", [[10, 10, 50, 100]]), dets_on("cam2", [[0, 0, 30, 60]])]))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    # channel c of an RGB model = (pixel / 255 - mean[c]) / std[c]; red is R = 1, G = B = 0
    red = (np.array([1.0, 0.0, 0.0]) - MEAN) / STD
    blue = (np.array([0.0, 0.0, 1.0]) - MEAN) / STD
    np.testing.assert_allclose(out[0], unit(red), atol=1e-5)
    np.testing.assert_allclose(out[1], unit(blue), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_bgr_model_gets_bgr_input(pool_model: Path) -> None:
    emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu", color_order="bgr", mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0)))
    [v] = emb.embed({"cam1": solid((0, 0, 255))}, dets_on("cam1", [[0, 0, 40, 80]]))
    # channels B, G, R = 0, 0, 1
    np.testing.assert_allclose(v, unit([(0 - 0.5) / 0.25, (0 - 0.5) / 0.5, (1 - 0.5) / 1.0]), atol=1e-5)
    assert emb.prep.sources == {"input_hw": "model input", "color_order": "config", "mean": "config", "std": "config"}


def test_metadata_is_read_and_config_wins(model_dir: Path) -> None:
    meta = {"mtmc.input_hw": "24,12", "mtmc.color_order": "bgr", "mtmc.mean": "0,0,0", "mtmc.std": "1,1,0.5"}
    path = export_pool_model(model_dir / "meta.onnx", input_hw=None, metadata=meta)
    emb = OnnxEmbedder(ReidConfig(model=path, device="cpu"))
    assert emb.prep.input_hw == (24, 12) and emb.prep.color_order == "bgr"
    assert emb.prep.mean == (0, 0, 0) and emb.prep.std == (1, 1, 0.5)
    assert set(emb.prep.sources.values()) == {"metadata"}
    [v] = emb.embed({"c": solid((0, 255, 255))}, dets_on("c", [[0, 0, 40, 80]]))  # B=0, G=R=1
    np.testing.assert_allclose(v, unit([0, 1, 2]), atol=1e-5)
    emb = OnnxEmbedder(ReidConfig(model=path, device="cpu", input_size_hw=(40, 20), color_order="rgb"))
    assert emb.prep.input_hw == (40, 20) and emb.prep.color_order == "rgb"
    assert emb.prep.sources["input_hw"] == "config" and emb.prep.sources["mean"] == "metadata"


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"mtmc.input_hw": "256x128"}, r"metadata mtmc.input_hw: expected 'height,width'"),
        ({"mtmc.color_order": "hsv"}, r"metadata mtmc.color_order: expected 'rgb' or 'bgr', got 'hsv'"),
        ({"mtmc.mean": "0.5,0.5"}, r"metadata mtmc.mean: expected 3 numbers"),
        ({"mtmc.std": "0,1,1"}, r"metadata mtmc.std: must be > 0"),
    ],
)
def test_bad_metadata_is_named(model_dir: Path, meta: dict[str, str], message: str) -> None:
    path = export_pool_model(model_dir / "bad.onnx", input_hw=None, metadata=meta)
    with pytest.raises(ValueError, match=message):
        OnnxEmbedder(ReidConfig(model=path, device="cpu"))


def test_input_shape_mismatch_names_both_shapes(pool_model: Path, model_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"input is N x 3 x 32 x 16 but reid.input_size_hw asks for N x 3 x 256 x 128"):
        OnnxEmbedder(ReidConfig(model=pool_model, device="cpu", input_size_hw=(256, 128)))
    path = export_pool_model(model_dir / "meta_wrong.onnx", metadata={"mtmc.input_hw": "64,32"})
    with pytest.raises(ValueError, match=r"input is N x 3 x 32 x 16 but its metadata mtmc.input_hw asks for N x 3 x 64 x 32"):
        OnnxEmbedder(ReidConfig(model=path, device="cpu"))


def test_tao_layout_loads_by_configuration_alone(model_dir: Path) -> None:
    path = export_pool_model(model_dir / "tao.onnx", input_hw=(256, 128), output_name="fc_pred")
    emb = OnnxEmbedder(ReidConfig(model=path, device="cpu"))
    assert emb.prep.input_hw == (256, 128) and emb.prep.color_order == "rgb"
    assert emb.prep.mean == pytest.approx(tuple(MEAN)) and emb.prep.std == pytest.approx(tuple(STD))
    assert emb._output == "fc_pred"


class RecordingSession:
    """Wraps an ONNX Runtime session and records the batch size of every run."""

    def __init__(self, session: object) -> None:
        self.session, self.batches = session, []

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.batches.append(len(next(iter(feeds.values()))))
        return self.session.run(names, feeds)


def test_all_cameras_in_batches_of_batch_size(pool_model: Path) -> None:
    rng = np.random.default_rng(0)
    frames = {c: rng.integers(0, 255, (100, 160, 3), dtype=np.uint8) for c in ("cam1", "cam2")}
    boxes = rng.uniform(0, 60, size=(10, 2))
    boxes = np.concatenate([boxes, boxes + [30, 40]], axis=1)
    dets = Detections(xyxy=boxes, data={CAMERA_ID: np.array(["cam1", "cam2"] * 5)})
    emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu", batch_size=4))
    emb.session = RecordingSession(emb.session)
    chunked = emb.embed(frames, dets)
    assert emb.session.batches == [4, 4, 2]
    whole = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu", batch_size=64)).embed(frames, dets)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
    assert emb.embed(frames, dets[np.zeros(10, bool)]).shape == (0, 3)


def test_fixed_batch_model_is_padded(model_dir: Path) -> None:
    path = export_pool_model(model_dir / "fixed.onnx", batch=4)
    emb = OnnxEmbedder(ReidConfig(model=path, device="cpu", batch_size=64))
    emb.session = RecordingSession(emb.session)
    out = emb.embed({"c": solid((10, 200, 30))}, dets_on("c", [[0, 0, 20, 40]] * 6))
    assert emb.session.batches == [4, 4] and out.shape == (6, 3)


def test_crops_are_clipped_to_the_image(pool_model: Path) -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, 50:] = (0, 0, 255)  # right half red
    emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu"))
    inside, outside = emb.embed({"c": image}, dets_on("c", [[60, 10, 100, 90], [60, 10, 180, 90]]))
    np.testing.assert_allclose(inside, outside, atol=1e-6)  # the part beyond the border is ignored
    [far] = emb.embed({"c": image}, dets_on("c", [[300, 300, 340, 380]]))  # wholly outside: no crash
    np.testing.assert_allclose(far, inside, atol=1e-6)  # the nearest pixel (bottom-right) is red


def test_camera_errors(pool_model: Path) -> None:
    emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cpu"))
    with pytest.raises(ValueError, match=r"no frame for camera\(s\) \['cam3'\]"):
        emb.embed({"cam1": solid((0, 0, 0))}, dets_on("cam3", [[0, 0, 10, 10]]))
    no_camera = Detections(xyxy=[[0, 0, 10, 10]])
    with pytest.raises(ValueError, match="rows name no camera"):
        emb.embed({"cam1": solid((0, 0, 0)), "cam2": solid((0, 0, 0))}, no_camera)
    assert emb.embed({"cam1": solid((0, 0, 0))}, no_camera).shape == (1, 3)  # one frame: its camera


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^reid.model: file not found: .*nope.onnx$"):
        OnnxEmbedder(ReidConfig(model=tmp_path / "nope.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="ONNX Runtime cannot load it"):
        OnnxEmbedder(ReidConfig(model=tmp_path / "junk.onnx", device="cpu"))


# --- providers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "available", "usable", "expected"),
    [
        ("auto", [CUDA, CPU], True, [(CUDA, {"device_id": 0}), CPU]),
        ("cuda:1", [CUDA, CPU], True, [(CUDA, {"device_id": 1}), CPU]),
        ("auto", [CUDA, CPU], False, [CPU]),  # onnxruntime-gpu lists CUDA without a GPU
        ("cuda", [CPU], True, [CPU]),
        ("cpu", [CUDA, CPU], True, [CPU]),
    ],
)
def test_choose_providers(device: str, available: list[str], usable: bool, expected: list) -> None:
    assert choose_providers(device, available, usable) == expected


def test_falls_back_to_cpu_and_logs_the_provider(
    pool_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(embed_mod, "_cuda_usable", lambda: False)
    with caplog.at_level(logging.INFO, logger="mtmc.embed"):
        emb = OnnxEmbedder(ReidConfig(model=pool_model, device="cuda"))
    assert emb.provider == CPU
    assert "no usable CUDA GPU" in caplog.text and "on CPUExecutionProvider" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mtmc.embed"):
        assert OnnxEmbedder(ReidConfig(model=pool_model, device="auto")).provider == CPU
    assert "no usable CUDA GPU" not in caplog.text  # auto falls back quietly


# --- policy -----------------------------------------------------------------------------------


SIZES = {"cam1": (640, 360), "cam2": (640, 360)}


def test_policy_embeds_each_track_once_every_n_frames() -> None:
    policy = EmbeddingPolicy(ReidConfig(every_n_frames=3, min_height_px=48))
    chosen = [f for f in range(1, 11) if policy.select(dets_on("cam1", [[100, 100, 140, 200]], [7]), f, SIZES)[0]]
    assert chosen == [1, 4, 7, 10]


def test_policy_takes_every_eligible_row_already_embedded() -> None:
    # The trackers' appearance gate embedded rows 0, 1 and 2 this step: they cost nothing, so
    # the policy takes them each frame, except the one cut by the border (row 1); row 3 has no
    # embedding and waits for its turn (every 3 frames), counted from its own last selection.
    policy = EmbeddingPolicy(ReidConfig(every_n_frames=3, min_height_px=48))
    dets = dets_on("cam1", [[100, 100, 140, 200], [0, 100, 40, 200], [200, 100, 240, 200],
                            [300, 100, 340, 200]], [1, 2, 3, 4])
    free = np.array([True, True, True, False])
    picks = [policy.select(dets, f, SIZES, embedded=free).tolist() for f in range(1, 5)]
    assert picks == [[True, False, True, True], [True, False, True, False],
                     [True, False, True, False], [True, False, True, True]]


def test_policy_skips_small_truncated_and_untracked_rows() -> None:
    policy = EmbeddingPolicy(ReidConfig(every_n_frames=5, min_height_px=48))
    boxes = [
        [100, 100, 140, 147],  # 47 px tall: too small
        [0, 100, 40, 200],  # touches the left border
        [600, 100, 640, 200],  # touches the right border
        [300, 300, 340, 360],  # touches the bottom border
        [200, 100, 240, 200],  # fine but untracked
        [400, 100, 440, 200],  # fine
    ]
    mask = policy.select(dets_on("cam1", boxes, [1, 2, 3, 4, UNSET_TRACK_ID, 6]), 1, SIZES)
    assert mask.tolist() == [False, False, False, False, False, True]
    # track 1 grows tall enough on frame 2: its first eligible sighting is embedded at once
    assert policy.select(dets_on("cam1", [[100, 100, 140, 160]], [1]), 2, SIZES).tolist() == [True]


def test_policy_keys_tracks_by_camera() -> None:
    policy = EmbeddingPolicy(ReidConfig(every_n_frames=5))
    both = Detections.concatenate([dets_on("cam1", [[100, 100, 140, 200]], [1]), dets_on("cam2", [[100, 100, 140, 200]], [1])])
    assert policy.select(both, 1, SIZES).tolist() == [True, True]
    assert policy.select(both, 2, SIZES).tolist() == [False, False]
    assert len(policy) == 2


def test_policy_memory_is_bounded_and_restarts_with_a_new_sequence() -> None:
    policy = EmbeddingPolicy(ReidConfig(every_n_frames=50), forget_after_frames=10)
    box = [[100, 100, 140, 200]]
    for f in range(1, 1001):  # a new track every frame, each seen once
        policy.select(dets_on("cam1", box, [f]), f, SIZES)
        assert len(policy) <= 11
    # track 995 was embedded 6 frames ago and is remembered: not due for 50 frames...
    assert not policy.select(dets_on("cam1", box, [995]), 1001, SIZES)[0]
    # ...but once unseen for more than 10 frames it is forgotten, so it counts as new
    assert policy.select(dets_on("cam1", box, [995]), 1001 + 11, SIZES)[0]
    assert policy.select(Detections.empty(camera_id="cam1"), 1030, SIZES).shape == (0,)
    assert len(policy) == 0
    policy.select(dets_on("cam1", box, [1]), 1031, SIZES)
    assert not policy.select(dets_on("cam1", box, [1]), 1032, SIZES)[0]
    # frame 1 again: a new sequence, so track 1 is new
    assert policy.select(dets_on("cam1", box, [1]), 1, SIZES)[0]
    assert len(policy) == 1
