"""``python -m mtmc.reid.merge``: one Market-1501 training set from several.

More identities make a better generic ReID model, and populations are built in pieces (each
``python -m mtmc.reid.population`` run simulates one set of scenes). This command joins the
training crops of several Market folders into one and takes the query and gallery of one of
them:

    python -m mtmc.reid.merge --train data/reid_base/market data/reid_pop2/market \\
        --eval data/reid_base/market --out data/reid_both/market

The ``j``-th training folder's person ``p`` becomes ``p + j * step``, where ``step`` is the
smallest power of ten above every training identity (1000 for the populations' ids, which stay
below 1000 with the default 8 scenes), so folders never share an identity. Camera numbers are kept:
training does not use them, and the evaluation splits come from one folder only. Distractors (0)
and junk (-1) keep their labels. Crops are hard-linked where the file system allows it, copied
otherwise. The command refuses an evaluation identity that is also a training identity after
renumbering, which would make "unseen people" figures meaningless.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from mtmc.formats.market import (
    SPLIT_DIRS,
    format_market_name,
    parse_market_name,
    read_market_folder,
)

__all__ = ["id_step", "link_or_copy", "merge_markets", "renumbered_name"]

TRAIN = SPLIT_DIRS["train"]
EVAL_SPLITS = ("query", "gallery")


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst``; copy it when the two are on different file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def id_step(max_pid: int) -> int:
    """The smallest power of ten above ``max_pid``: ``id_step(730) == 1000``, ``id_step(9) == 10``."""
    step = 10
    while step <= max_pid:
        step *= 10
    return step


def renumbered_name(name: str, offset: int) -> str:
    """Crop ``name`` with its person id moved up by ``offset`` (distractors and junk unchanged;
    offset 0 keeps the name as it is)."""
    if offset == 0:
        return name
    parsed = parse_market_name(name)
    pid = parsed.pid if parsed.pid <= 0 else parsed.pid + offset
    renamed = format_market_name(pid, parsed.camid, parsed.frame, seq=parsed.seq, n=parsed.n)
    return str(Path(renamed).with_suffix(Path(name).suffix))  # the image format stays


def merge_markets(train: Sequence[Path], eval_root: Path, out: Path) -> dict:
    """Write the merged Market folder ``out`` (see the module doc); returns what ``merge.json``
    holds.

    Raises:
        ValueError: a folder lacks a split, ``out`` exists and is not empty, or an evaluation
            identity is also a training identity.
    """
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: exists and is not empty; remove it or choose another --out")
    sources = [read_market_folder(Path(root) / TRAIN, keep_junk=True) for root in train]
    step = id_step(max((int(recs.pids.max()) for recs in sources if len(recs)), default=0))
    offsets = [j * step for j in range(len(sources))]
    train_ids = {int(pid) + offset for recs, offset in zip(sources, offsets, strict=True)
                 for pid in recs.pids if pid > 0}
    evals = {s: read_market_folder(Path(eval_root) / SPLIT_DIRS[s], keep_junk=True)
             for s in EVAL_SPLITS}
    shared = sorted({int(pid) for recs in evals.values() for pid in recs.pids} & train_ids)
    if shared:
        raise ValueError(f"{eval_root}: evaluation identities {shared[:5]} (of {len(shared)}) are "
                         "also training identities after renumbering; evaluate on a folder whose "
                         "people no training folder has")
    copies = [(out / TRAIN, recs, offset) for recs, offset in zip(sources, offsets, strict=True)]
    copies += [(out / SPLIT_DIRS[s], evals[s], 0) for s in EVAL_SPLITS]
    for target, recs, offset in copies:
        target.mkdir(parents=True, exist_ok=True)
        for src in map(Path, recs.paths):
            link_or_copy(src, target / renumbered_name(src.name, offset))
    summary = {
        "train": [{"folder": str(root), "crops": len(recs), "id_offset": offset}
                  for root, recs, offset in zip(train, sources, offsets, strict=True)],
        "eval": str(eval_root),
        "crops": {"train": sum(len(recs) for recs in sources),
                  **{s: len(evals[s]) for s in EVAL_SPLITS}},
        "train_ids": len(train_ids),
    }
    (out / "merge.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mtmc.reid.merge",
                                 description=__doc__.splitlines()[0].split(": ", 1)[1])
    ap.add_argument("--train", type=Path, nargs="+", required=True,
                    help="Market folders whose bounding_box_train crops are joined")
    ap.add_argument("--eval", type=Path, required=True,
                    help="Market folder whose query and bounding_box_test are kept")
    ap.add_argument("--out", type=Path, required=True, help="new Market folder")
    args = ap.parse_args(argv)
    try:
        summary = merge_markets(args.train, args.eval, args.out)
    except ValueError as exc:
        print(f"mtmc.reid.merge: error: {exc}", file=sys.stderr)
        return 2
    c = summary["crops"]
    print(f"{args.out}: train {c['train']} crops of {summary['train_ids']} identities, "
          f"query {c['query']}, gallery {c['gallery']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
