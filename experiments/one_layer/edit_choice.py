"""Choosing an edit's coefficients (λ1, λ2) on validation, widening the grid until the choice is
interior, and reporting it on test: the selection rule of the compression edits (``edits``).

Every edit of Ψ0 + λ1 τ1 + λ2 τ2 is scored by its **slack** (≤ 0: the edit meets its guarantee;
``budget`` = ``experiment.budget_eps`` × ε, declared in the config before any run):

* addition: max(T1 hinge, T2 hinge) − budget, over λ2 > 0 (Theorem 1);
* negation: max(T1 hinge − budget, forget − T2 hinge), over λ2 < 0 (Theorem 2);
* out-of-domain: T' hinge − budget, over every (λ1, λ2) (Theorem 3).

The chosen point minimises the validation slack (ties, within ``TIE``: the point nearest the
nominal edit, (1, 0) for a pair and (0, 0) for T', in L1). T1's coefficient is chosen too (λ1 ≥ 0):
the corollaries claim that suitable coefficients exist, not that T1's stays 1. When the point lies
on an edge of the grid that is not a bound of the edit, that axis is widened by ``WIDEN_STEPS``
steps and the choice made again, at most ``max_widen`` times; a choice still on an edge is flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WIDEN_STEPS = 4
TIE = 1e-9
KINDS = ("add", "negate", "ood")
NOMINAL = {"add": (1.0, 0.0), "negate": (1.0, 0.0), "ood": (0.0, 0.0)}

Maps = dict[str, dict[str, np.ndarray]]  # data set -> {"acc", "hinge"}, each (len(l1), len(l2))
Evaluate = Callable[[np.ndarray, np.ndarray], Maps]  # (l1, l2) -> maps on the validation sets


@dataclass
class Grid:
    """Validation maps over the product grid l1 × l2 (both increasing, equally spaced)."""

    l1: np.ndarray
    l2: np.ndarray
    maps: Maps


def kind_of(edit: str) -> str:
    """ "add_aligned" -> "add", "negate_irrelevant" -> "negate", "ood" -> "ood"."""
    k = edit.split("_")[0]
    if k not in KINDS:
        raise ValueError(f"edit={edit!r} is invalid: its kind must be one of {KINDS}")
    return k


def slack(kind: str, maps: Maps, budget: float, forget: float) -> np.ndarray:
    """The edit's slack at every grid point (≤ 0: its guarantee holds there)."""
    if kind == "ood":
        return maps["T'"]["hinge"] - budget
    h1, h2 = maps["T1"]["hinge"], maps["T2"]["hinge"]
    if kind == "add":
        return np.maximum(h1, h2) - budget
    return np.maximum(h1 - budget, forget - h2)


def allowed(kind: str, l1: np.ndarray, l2: np.ndarray) -> np.ndarray:
    """The points the edit may use: λ1 ≥ 0 for the pair edits, and λ2 > 0 (add) or λ2 < 0 (negate)."""
    a, b = np.meshgrid(l1, l2, indexing="ij")
    if kind == "ood":
        return np.ones(a.shape, dtype=bool)
    side = b > 1e-12 if kind == "add" else b < -1e-12
    return side & (a >= -1e-12)


def pick(kind: str, s: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> tuple[int, int]:
    """Index of the smallest slack among the allowed points; ties: nearest the nominal edit."""
    ok = allowed(kind, l1, l2)
    if not ok.any():
        raise ValueError(f"the grid l1 × l2 holds no point allowed for a {kind!r} edit")
    masked = np.where(ok, s, np.inf)
    best = masked.min()
    a, b = np.meshgrid(l1, l2, indexing="ij")
    n1, n2 = NOMINAL[kind]
    dist = np.where(masked <= best + TIE, np.abs(a - n1) + np.abs(b - n2), np.inf)
    i, j = np.unravel_index(int(np.argmin(dist)), s.shape)
    return int(i), int(j)


def soft_edges(kind: str, grid: Grid, i: int, j: int) -> list[tuple[int, int]]:
    """The (axis, side) edges the point (i, j) lies on that the edit may cross (side −1: low end)."""
    step = {0: grid.l1[1] - grid.l1[0], 1: grid.l2[1] - grid.l2[0]}
    out = []
    for axis, idx, ax in ((0, i, grid.l1), (1, j, grid.l2)):
        if len(ax) < 2:
            continue
        if idx == 0 and _may_extend(kind, axis, -1, ax[0] - step[axis]):
            out.append((axis, -1))
        if idx == len(ax) - 1 and _may_extend(kind, axis, 1, ax[-1] + step[axis]):
            out.append((axis, 1))
    return out


def _may_extend(kind: str, axis: int, side: int, beyond: float) -> bool:
    if kind == "ood":
        return True
    if axis == 0:  # T1's coefficient: λ1 ≥ 0
        return beyond >= -1e-12
    return side == (1 if kind == "add" else -1)  # λ2 grows away from 0 only


def widen(grid: Grid, evaluate: Evaluate, axis: int, side: int, floor: float | None = None) -> Grid:
    """``grid`` with ``WIDEN_STEPS`` more steps on one end of one axis (the new strip evaluated only),
    never below ``floor`` (the pair edits' λ1 ≥ 0)."""
    ax = grid.l1 if axis == 0 else grid.l2
    step = ax[1] - ax[0]
    k = np.arange(1, WIDEN_STEPS + 1)
    new = np.round(ax[-1] + step * k if side > 0 else ax[0] - step * k[::-1], 10)
    if floor is not None:
        new = new[new >= floor - 1e-12]
    if new.size == 0:
        return grid
    strip = evaluate(new, grid.l2) if axis == 0 else evaluate(grid.l1, new)
    join = (
        (lambda a, b: np.concatenate([a, b], axis=axis))
        if side > 0
        else (lambda a, b: np.concatenate([b, a], axis=axis))
    )
    maps = {n: {k2: join(v, strip[n][k2]) for k2, v in d.items()} for n, d in grid.maps.items()}
    merged = np.concatenate([ax, new]) if side > 0 else np.concatenate([new, ax])
    return Grid(merged, grid.l2, maps) if axis == 0 else Grid(grid.l1, merged, maps)


def choose(
    kinds: dict[str, str],
    grid: Grid,
    evaluate: Evaluate,
    *,
    budget: float,
    forget: float,
    max_widen: int,
) -> tuple[dict[str, dict], Grid]:
    """The validation choice of every edit (name -> kind) sharing ``grid``, widening while a choice
    lies on a soft edge: {edit: {lambda1, lambda2, val_slack, widened, on_edge}}, and the final grid."""
    widened = {e: 0 for e in kinds}
    floor1 = None if set(kinds.values()) == {"ood"} else 0.0
    while True:
        out = {}
        for e, kind in kinds.items():
            s = slack(kind, grid.maps, budget, forget)
            i, j = pick(kind, s, grid.l1, grid.l2)
            out[e] = (i, j, float(s[i, j]), soft_edges(kind, grid, i, j))
        todo = [(e, o[3][0]) for e, o in out.items() if o[3] and widened[e] < max_widen]
        if not todo:
            break
        e, (axis, side) = todo[0]
        before = (len(grid.l1), len(grid.l2))
        grid = widen(grid, evaluate, axis, side, floor1 if axis == 0 else None)
        widened[e] += 1
        if (len(grid.l1), len(grid.l2)) == before:
            widened[e] = max_widen
    return {
        e: {
            "lambda1": float(grid.l1[i]),
            "lambda2": float(grid.l2[j]),
            "val_slack": sl,
            "widened": widened[e],
            "on_edge": bool(edges),
        }
        for e, (i, j, sl, edges) in out.items()
    }, grid
