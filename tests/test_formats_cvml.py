from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtmc.formats.cvml import read_cvml
from mtmc.formats.mot import read_mot, write_mot

SMALL = """<?xml version="1.0"?>
<dataset name="t">
  <frame number="0"><objectlist>
    <object id="9"><box h="80" w="30" xc="100" yc="200"/></object>
  </objectlist></frame>
  <frame number="4"><objectlist>
    <object id="2"><box h="10" w="4" xc="12" yc="15"/></object>
    <object id="9"><box h="80" w="30" xc="110" yc="201"/></object>
  </objectlist></frame>
</dataset>
"""


def test_small_file_hand_checked(tmp_path: Path) -> None:
    path = tmp_path / "gt.xml"
    path.write_text(SMALL)
    gt = read_cvml(path)
    assert gt.frame.tolist() == [1, 5, 5]  # 0-based CVML -> 1-based MOT
    assert gt.track_id.tolist() == [9, 2, 9]
    assert gt.tlwh.tolist() == [[85, 160, 30, 80], [10, 10, 4, 10], [95, 161, 30, 80]]
    write_mot(tmp_path / "gt.txt", gt, kind="gt")
    again = read_mot(tmp_path / "gt.txt")
    assert np.array_equal(again.frame, gt.frame) and np.allclose(again.tlwh, gt.tlwh)


def test_not_cvml(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<Camera name='x'/>")
    with pytest.raises(ValueError, match="not a CVML ground-truth file"):
        read_cvml(tmp_path / "a.xml")
    (tmp_path / "b.xml").write_text(SMALL.replace(' w="4"', ""))
    with pytest.raises(ValueError, match="frame 4: object without a complete"):
        read_cvml(tmp_path / "b.xml")


def test_pets_s2l1_counts(pets_dir: Path) -> None:
    full = read_cvml(pets_dir / "PETS2009-S2L1.xml")
    cropped = read_cvml(pets_dir / "PETS2009-S2L1-cropped.xml")
    assert len(full) == 4650 and len(cropped) == 3955  # boxes, as counted in the XML files
    assert full.frame.min() == 1 and full.frame.max() == 795
    assert len(np.unique(full.track_id)) == 19


def test_read_boxes_dispatches_on_suffix(tmp_path: Path) -> None:
    from mtmc.formats.boxes import read_boxes

    (tmp_path / "gt.xml").write_text(SMALL)
    write_mot(tmp_path / "gt.txt", read_cvml(tmp_path / "gt.xml"), kind="gt")
    a, b = read_boxes(tmp_path / "gt.xml"), read_boxes(tmp_path / "gt.txt")
    assert np.array_equal(a.frame, b.frame) and np.allclose(a.tlwh, b.tlwh)
