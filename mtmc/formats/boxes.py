"""Read per-camera box files of any supported layout into a :class:`~mtmc.formats.mot.MotTable`.

``.xml`` files are CVML ground truth (PETS 2009); everything else is MOTChallenge text.

Example::

    gt = read_boxes("PETS2009-S2L1-cropped.xml")   # or "scene/gt/cam1.txt"
"""

from __future__ import annotations

from pathlib import Path

from mtmc.formats.cvml import read_cvml
from mtmc.formats.mot import MotTable, read_mot

__all__ = ["read_boxes"]


def read_boxes(path: str | Path) -> MotTable:
    """A MOTChallenge table from a MOTChallenge text file or a CVML XML file."""
    path = Path(path)
    return read_cvml(path) if path.suffix.lower() == ".xml" else read_mot(path)
