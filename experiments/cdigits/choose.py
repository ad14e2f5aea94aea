"""The coefficients (λ1, λ2) of a pair edit Ψ0 + λ1 τ1 + λ2 τ2, chosen per seed on a validation grid.

The rules are Table 1's (``experiments.analysis.table1``) on a 2-D grid:

* addition: maximise the worse of T1's and T2's validation accuracy (ties: the lower worse hinge,
  then the smaller ‖λ‖);
* negation: among λ2 < 0 where T1 keeps ``keep`` validation accuracy, maximise T1 − T2 accuracy
  (ties: the lower T1 − T2 hinge, then the smaller ‖λ‖); none when no such point exists.

When the chosen point lies on an edge of the grid that is not a hard bound (λ1 ≥ 0 always; λ2 < 0
for negation), that axis is widened by ``steps`` steps and the choice is made again, at most
``widen`` times; a point still on such an edge is flagged ``on_edge``. Pure numpy: the validation
accuracies come from the ``measure`` callable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Grid = dict[str, dict[str, np.ndarray]]  # {"T1"|"T2": {"acc"|"hinge": (len(l1), len(l2))}}
Measure = Callable[[np.ndarray, np.ndarray], Grid]
KINDS = ("add", "negate")


def allowed(kind: str, axis: int, values: np.ndarray) -> np.ndarray:
    """The hard bounds: λ1 ≥ 0 for every edit, λ2 < 0 for negation."""
    if axis == 0:
        return values >= -1e-9
    return values < -1e-9 if kind == "negate" else np.ones(values.shape, bool)


def pick(kind: str, val: Grid, l1: np.ndarray, l2: np.ndarray, keep: float) -> tuple | None:
    """Index (i, j) of the chosen point on the grid (rows λ1), or None when negation keeps T1 nowhere."""
    a1, a2, h1, h2 = (val[t][k] for k in ("acc", "hinge") for t in ("T1", "T2"))
    L1, L2 = np.meshgrid(l1, l2, indexing="ij")
    norm = L1**2 + L2**2
    ok = allowed(kind, 0, L1) & allowed(kind, 1, L2)
    if kind == "add":
        keys = (norm, np.maximum(h1, h2), -np.minimum(a1, a2))
    else:
        ok &= a1 >= keep
        keys = (norm, h1 - h2, -(a1 - a2))
    idx = np.flatnonzero(ok.ravel())
    if idx.size == 0:
        return None
    best = idx[np.lexsort(tuple(k.ravel()[idx] for k in keys))[0]]
    return tuple(int(x) for x in np.unravel_index(int(best), ok.shape))


def extend(kind: str, axis: int, values: np.ndarray, side: int, steps: int, step: float):
    """``values`` with ``steps`` more steps beyond its ``side`` end (−1 low, +1 high), less those
    outside the hard bound."""
    end = values[-1] if side > 0 else values[0]
    new = end + side * step * np.arange(1, steps + 1)
    new = new[allowed(kind, axis, new)]
    return np.round(np.sort(np.concatenate([values, new])), 10)


def open_edges(kind: str, axes: list[np.ndarray], ij: tuple, steps: int, step: list[float]):
    """The axes widened at every edge the chosen point lies on that is not a hard bound, and
    whether there was such an edge."""
    out, moved = [a for a in axes], False
    for axis, (values, k) in enumerate(zip(axes, ij, strict=True)):
        for side, end in ((-1, 0), (1, len(values) - 1)):
            if k == end:
                wider = extend(kind, axis, values, side, steps, step[axis])
                if len(wider) > len(values):
                    out[axis], moved = wider, True
    return out, moved


def choose(
    kind: str, axes: list[np.ndarray], measure: Measure, keep: float, widen: int, steps: int,
    step: list[float],
) -> dict[str, Any]:  # fmt: skip
    """The chosen (λ1, λ2) with its validation accuracies, the widenings made and ``on_edge``."""
    for n in range(widen + 1):
        val = measure(*axes)
        ij = pick(kind, val, *axes, keep)
        if ij is None:
            return {"lambda1": None, "lambda2": None, "on_edge": False, "widened": n}
        wider, edge = open_edges(kind, axes, ij, steps, step)
        if not edge or n == widen:
            break
        axes = wider
    i, j = ij
    return {
        "lambda1": float(axes[0][i]),
        "lambda2": float(axes[1][j]),
        "val_T1_acc": float(val["T1"]["acc"][i, j]),
        "val_T2_acc": float(val["T2"]["acc"][i, j]),
        "on_edge": bool(edge),
        "widened": n,
        "grid": [len(axes[0]), len(axes[1])],
    }


def score(kind: str, t1_acc: float, t2_acc: float) -> float:
    """An edit's score: addition the worse task accuracy; negation T1 − T2 accuracy."""
    return min(t1_acc, t2_acc) if kind == "add" else t1_acc - t2_acc
