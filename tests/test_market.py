from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtmc.formats.market import (
    MarketName,
    format_market_name,
    market_path,
    parse_market_name,
    read_market,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0001_c1s1_001051_00.jpg", MarketName(1, 1, 1, 1051, 0)),
        ("0002_c12s3_000007_04.jpg", MarketName(2, 12, 3, 7, 4)),  # multi-digit camera
        ("-1_c1s1_000401_03.jpg", MarketName(-1, 1, 1, 401, 3)),  # junk as Market writes it
        ("-001_c2s1_000401_03.jpg", MarketName(-1, 2, 1, 401, 3)),
        ("0000_c6s2_094293_01.jpg", MarketName(0, 6, 2, 94293, 1)),  # distractor
        ("0001_c1s1_01_00.jpg", MarketName(1, 1, 1, 1, 0)),  # short frame field (seed's example)
        ("12345_c3s1_1234567_00.JPG", MarketName(12345, 3, 1, 1234567, 0)),  # wide fields
        ("some/dir/0004_c2s1_000010_00.png", MarketName(4, 2, 1, 10, 0)),
    ],
)
def test_parse_market_name(name: str, expected: MarketName) -> None:
    assert parse_market_name(name) == expected


@pytest.mark.parametrize(
    "name",
    ["0001_c1_001051_00.jpg", "0001_c1s1_001051.jpg", "x001_c1s1_000001_00.jpg",
     "0001_c1s1_000001_00.txt", "-2_c1s1_000001_00.jpg", "Thumbs.db"],
)
def test_parse_market_name_rejects(name: str) -> None:
    with pytest.raises(ValueError, match="Market-1501 crop name|identity -2"):
        parse_market_name(name)


def test_format_round_trip() -> None:
    assert format_market_name(12, 4, 37) == "0012_c4s1_000037_00.jpg"
    assert format_market_name(-1, 2, 5, seq=3, n=7) == "-1_c2s3_000005_07.jpg"
    assert format_market_name(3, 11, 1_000_001) == "0003_c11s1_1000001_00.jpg"
    for args in [(1, 1, 1), (0, 12, 999), (-1, 3, 42), (10_000, 2, 7)]:
        assert parse_market_name(format_market_name(*args))[:2] == args[:2]
        assert parse_market_name(format_market_name(*args)).frame == args[2]
    with pytest.raises(ValueError, match="pid"):
        format_market_name(-3, 1, 1)
    with pytest.raises(ValueError, match="frame"):
        format_market_name(1, 1, -1)


def test_market_path() -> None:
    expected = Path("/d/bounding_box_test/0005_c2s1_000009_00.jpg")
    assert market_path("/d", "gallery", 5, 2, 9) == expected
    with pytest.raises(ValueError, match="unknown Market split 'val'"):
        market_path("/d", "val", 5, 2, 9)


def _touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")


def test_read_market(tmp_path: Path) -> None:
    _touch(tmp_path / "bounding_box_train", ["0002_c1s1_000010_00.jpg", "0002_c2s1_000020_00.jpg",
                                             "-1_c1s1_000030_00.jpg", "Thumbs.db"])
    _touch(tmp_path / "query", ["0005_c1s1_000100_00.jpg", "0007_c12s1_000200_00.jpg"])
    _touch(tmp_path / "bounding_box_test", ["0005_c2s1_000110_00.jpg", "0000_c1s1_000120_00.jpg",
                                            "-1_c3s1_000130_00.jpg", "0007_c1s1_000300_01.jpg"])
    split = read_market(tmp_path)
    assert len(split.train) == 2 and split.train.pids.tolist() == [2, 2]  # junk dropped
    assert split.train.camids.tolist() == [1, 2]
    assert split.query.camids.tolist() == [1, 12]
    assert split.query.frames.tolist() == [100, 200]
    # sorted by name: 0000 (distractor, kept) first; junk dropped
    assert split.gallery.pids.tolist() == [0, 5, 7]
    assert split.gallery.num_ids == 2
    assert Path(split.gallery.paths[1]).name == "0005_c2s1_000110_00.jpg"
    assert read_market(tmp_path, keep_junk=True).gallery.pids.tolist() == [-1, 0, 5, 7]
    sub = split.gallery[split.gallery.camids == 1]
    assert sub.pids.tolist() == [0, 7] and sub.frames.dtype == np.int64


def test_read_market_without_train(tmp_path: Path) -> None:
    _touch(tmp_path / "query", ["0005_c1s1_000100_00.jpg"])
    _touch(tmp_path / "bounding_box_test", ["0005_c2s1_000110_00.jpg"])
    split = read_market(tmp_path)
    assert len(split.train) == 0 and len(split.query) == 1 and len(split.gallery) == 1


def test_read_market_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="folder not found"):
        read_market(tmp_path / "nope")
    _touch(tmp_path / "Market-1501-v15.09.15" / "query", [])
    with pytest.raises(ValueError, match=r"missing query/, bounding_box_test/.*did you mean"):
        read_market(tmp_path)
    _touch(tmp_path / "query", ["0005_c1s1_000100_00.jpg"])
    _touch(tmp_path / "bounding_box_test", ["person5_cam2.jpg"])
    with pytest.raises(ValueError, match="person5_cam2.jpg: not a Market-1501 crop name"):
        read_market(tmp_path)
