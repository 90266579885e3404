"""Gated assignment: split the bipartite graph of finite costs into connected components and solve
each with the Hungarian algorithm, so the cost grows with the size of groups of people close to each
other, not with the square of all tracks.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["assign_gated", "gated_components"]

# Stands in for +inf inside the solver: larger than any real cost, small enough to stay exact.
_BIG = 1e9
# Below this many cells (after dropping rows and columns without a finite entry) one dense solve
# is cheaper than the connected-components split (which costs about a millisecond in scipy).
DENSE_MAX_CELLS = 4096


def gated_components(cost: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of the graph whose edges are the finite entries of ``cost`` (R, C).

    Returns a list of ``(row_indices, col_indices)``; rows or columns with no finite entry are left
    out (they cannot be assigned).
    """
    rows, cols = np.nonzero(np.isfinite(cost))
    if rows.size == 0:
        return []
    n_rows, n_cols = cost.shape
    graph = coo_matrix(
        (np.ones(rows.size, dtype=np.int8), (rows, n_rows + cols)), shape=(n_rows + n_cols,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    used_rows = np.unique(rows)
    used_cols = np.unique(cols)
    row_labels = labels[used_rows]
    col_labels = labels[n_rows + used_cols]
    return [
        (used_rows[row_labels == lab], used_cols[col_labels == lab])
        for lab in np.unique(row_labels)
    ]


def assign_gated(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one assignment over the finite entries of ``cost`` (R, C).

    Gated pairs (``inf``) are never returned; rows and columns may stay unassigned. Equivalent to a
    dense Hungarian on the whole matrix followed by dropping gated pairs; above
    ``DENSE_MAX_CELLS`` cells it is solved per gated component, which is much cheaper.

    Example: ``assign_gated(np.array([[0.1, np.inf], [0.2, 0.3]])) == [(0, 0), (1, 1)]``.
    """
    cost = np.asarray(cost, dtype=np.float64)
    finite = np.isfinite(cost)
    rows_used, cols_used = np.flatnonzero(finite.any(axis=1)), np.flatnonzero(finite.any(axis=0))
    if rows_used.size * cols_used.size <= DENSE_MAX_CELLS:
        # Small: one dense solve costs less than finding the components.
        return sorted(_solve_block(cost, rows_used, cols_used))
    pairs: list[tuple[int, int]] = []
    for rows, cols in gated_components(cost):
        if rows.size == 1 and cols.size == 1:
            pairs.append((int(rows[0]), int(cols[0])))
        else:
            pairs.extend(_solve_block(cost, rows, cols))
    pairs.sort()
    return pairs


def _solve_block(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> list[tuple[int, int]]:
    """Hungarian on ``cost[rows][:, cols]`` with gated cells kept out; pairs in full indices."""
    if rows.size == 0 or cols.size == 0:
        return []
    sub = cost[np.ix_(rows, cols)]
    r, c = linear_sum_assignment(np.where(np.isfinite(sub), sub, _BIG))
    keep = np.isfinite(sub[r, c])
    return list(zip(rows[r[keep]].tolist(), cols[c[keep]].tolist(), strict=True))
