"""Theorem 3's predicted region of coefficients and its comparison with a measured success region.

Pure numpy, no torch. For known tasks with orthonormal patterns and a target μ_T' = Σ γ_i μ_i + κ μ⊥,
Theorem 3 (theory.md §5.5) predicts low loss on T' for every (λ_i) with

    Σ λ_i γ_i ≥ 1 + c,    Σ λ_i γ_i² ≥ 1 + c,    |λ_i| β ≤ c  for every i.

The constants are only qualitative (the paper's Figure 2(B) plots thresholds ≈ 0.2 and a box
|λ_1| ≤ ≈ 2, theory.md §6.1), so two readings are compared with the measured region:

* ``literal``: the conditions as written, β = β̂ measured (slope of T1's hinge against |λ2|), and the
  one constant c ∈ (0, 1) chosen to maximise the overlap;
* ``shape``: the same two half-planes with one common threshold t and a box |λ_i| ≤ b, (t, b) chosen
  to maximise the overlap: the *shape* the theory predicts, with its scale fitted.

As a control, the best overlap of each half-plane alone is reported too: if one of them matches as
well as both, the second condition is not what shapes the measured region.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def margins(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Σ λ_i γ_i and Σ λ_i γ_i² on the grid (rows λ1, columns λ2)."""
    L1, L2 = np.meshgrid(np.asarray(l1, float), np.asarray(l2, float), indexing="ij")
    g1, g2 = float(gamma[0]), float(gamma[1])
    return L1 * g1 + L2 * g2, L1 * g1 * g1 + L2 * g2 * g2


def region(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], threshold: float, box: float
) -> np.ndarray:
    """{Σλγ ≥ t} ∩ {Σλγ² ≥ t} ∩ {|λ_i| ≤ box} as a boolean grid (rows λ1)."""
    value, attention = margins(l1, l2, gamma)
    L1, L2 = np.meshgrid(np.asarray(l1, float), np.asarray(l2, float), indexing="ij")
    inside = (np.abs(L1) <= box + 1e-9) & (np.abs(L2) <= box + 1e-9)
    return (value >= threshold - 1e-12) & (attention >= threshold - 1e-12) & inside


def literal_region(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], c: float, beta: float
) -> np.ndarray:
    """Theorem 3 as written: thresholds 1 + c and the box |λ_i| ≤ c / β (no box when β ≤ 0)."""
    box = c / beta if beta > 0 else np.inf
    return region(l1, l2, gamma, 1.0 + c, box)


def smallest_feasible_c(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], beta: float
) -> float | None:
    """The smallest c ∈ (0, 1) (steps of 0.01) whose literal region holds a grid point, given β:
    Theorem 3's "there exists c" read without looking at any measured loss; None if none does."""
    for c in np.round(np.arange(0.01, 1.0, 0.01), 2):
        if literal_region(l1, l2, gamma, float(c), beta).any():
            return float(c)
    return None


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean grids (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def fit_literal(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], measured: np.ndarray, beta: float
) -> dict:
    """The c ∈ (0, 1) (steps of 0.01) whose literal region overlaps ``measured`` most."""
    best = {"c": None, "iou": -1.0}
    for c in np.round(np.arange(0.01, 1.0, 0.01), 2):
        v = iou(literal_region(l1, l2, gamma, float(c), beta), measured)
        if v > best["iou"] + 1e-12:
            best = {"c": float(c), "iou": v}
    best["beta"] = float(beta)
    best["box"] = best["c"] / beta if beta > 0 else None
    return best


def _thresholds() -> np.ndarray:
    return np.round(np.arange(-1.0, 3.0 + 1e-9, 0.05), 2)


def fit_shape(l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], measured: np.ndarray) -> dict:
    """Common threshold t ∈ [−1, 3] (steps of 0.05) and box b (a grid |λ| value or none) maximising IoU."""
    extent = max(np.abs(l1).max(), np.abs(l2).max())
    boxes = np.unique(np.round(np.abs(np.concatenate([l1, l2])), 10))
    boxes = boxes[boxes > 0]
    best = {"threshold": None, "box": None, "iou": -1.0}
    for t in _thresholds():
        for b in boxes:
            v = iou(region(l1, l2, gamma, float(t), float(b)), measured)
            if v > best["iou"] + 1e-12:
                best = {"threshold": float(t), "box": float(b), "iou": v}
    best["box_binds"] = best["box"] is not None and best["box"] < extent - 1e-9
    return best


def fit_half_planes(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], measured: np.ndarray
) -> dict:
    """Control: the best IoU of {Σλγ ≥ t} alone and of {Σλγ² ≥ t} alone."""
    value, attention = margins(l1, l2, gamma)
    out = {}
    for name, field in (("value_only", value), ("attention_only", attention)):
        ious = [(iou(field >= t - 1e-12, measured), float(t)) for t in _thresholds()]
        v, t = max(ious)
        out[name] = {"threshold": t, "iou": v}
    return out


def feasible(
    gamma: Sequence[float], threshold: float, box: float, l1: np.ndarray, l2: np.ndarray
) -> bool:
    """Whether the (threshold, box) region holds any grid point for this γ."""
    return bool(region(l1, l2, gamma, threshold, box).any())


def overlay(
    l1: np.ndarray, l2: np.ndarray, gamma: Sequence[float], shape: dict, literal: dict | None = None
) -> dict[str, np.ndarray | None]:
    """What a figure draws of the fitted regions: the two margins (rows λ1), the fitted shape's
    region and the literal region (``None`` when no literal fit is given or no c was fitted)."""
    value, attention = margins(l1, l2, gamma)
    return {
        "value": value,
        "attention": attention,
        "shape": region(l1, l2, gamma, shape["threshold"], shape["box"]),
        "literal": (
            literal_region(l1, l2, gamma, literal["c"], literal["beta"])
            if literal is not None and literal["c"] is not None
            else None
        ),
    }
