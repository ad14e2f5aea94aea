"""The two sweeps of ``ood`` over the target: κ (T' leaving span(μ1, μ2)) and the γ map over the unit
disk, both on the coarser (λ1, λ2) grid of ``experiment.sweep_lam``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.analysis import best_points, stack_parts
from experiments.config import Setup
from experiments.one_layer.common import test_set
from experiments.one_layer.ood_common import grid_maps, target_task, val_set
from experiments.theory import theorem3


@dataclass(frozen=True)
class Combos:
    """Per seed Ψ0 and [τ1, τ2], and the (λ1, λ2) grid on which Ψ0 + λ1 τ1 + λ2 τ2 is evaluated."""

    psi0s: dict
    tvs: dict
    l1: np.ndarray
    l2: np.ndarray
    memory_mb: float

    def maps(self, data: Callable[[int], dict]) -> list[dict[str, dict[str, np.ndarray]]]:
        """Per seed ``grid_maps`` on ``data(seed)``."""
        return [
            grid_maps(psi0, self.tvs[s], self.l1, self.l2, data(s), self.memory_mb)
            for s, psi0 in self.psi0s.items()
        ]


def kappa_sweep(
    setup: Setup, kappas: list[float], direction: np.ndarray, combos: Combos, n: int, progress: bool
) -> list[dict[str, Any]]:
    """Best T' accuracy/hinge (chosen on validation, reported on test) as μ_T' leaves span(μ1, μ2)."""
    rows = []
    for kappa in tqdm(kappas, desc="κ sweep", disable=not progress):
        scale = math.sqrt(max(0.0, 1.0 - kappa**2))
        gamma = (direction * scale).tolist()
        task = target_task(setup, gamma, kappa)
        per_seed = combos.maps(
            lambda s, t=task: {"val": val_set(t, n, s), "test": test_set(t, n, s)}
        )
        pts = best_points(combos.l1, combos.l2, *stack_parts(per_seed))
        rows.append({"kappa": float(kappa), "gamma": gamma, **pts})
    return rows


def _disk(step: float) -> list[tuple[float, float]]:
    """γ on a grid of the given step inside the unit disk, without γ = 0."""
    axis = np.round(np.arange(-1.0, 1.0 + 1e-9, step), 10)
    return [(a, b) for a in axis for b in axis if a * a + b * b <= 1.0 + 1e-9 and (a, b) != (0, 0)]


def _map_row(h: np.ndarray, a: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> dict[str, Any]:
    """Best combined, best single scaled vector and best unscaled vector of the mean maps."""
    zero1, zero2 = np.abs(l1) < 1e-9, np.abs(l2) < 1e-9
    i, j = np.unravel_index(int(np.argmin(h)), h.shape)
    single = np.concatenate([h[:, zero2].ravel(), h[zero1, :].ravel()])
    single_acc = np.concatenate([a[:, zero2].ravel(), a[zero1, :].ravel()])
    k = int(np.argmin(single)) if single.size else None
    one1, one2 = np.abs(l1 - 1.0) < 1e-9, np.abs(l2 - 1.0) < 1e-9
    unit = [h[one1, zero2].ravel(), h[zero1, one2].ravel()]
    unit = np.concatenate(unit)
    return {
        "best_hinge": float(h[i, j]),
        "best_acc": float(a[i, j]),
        "best_lambda": [float(l1[i]), float(l2[j])],
        "single_hinge": float(single[k]) if k is not None else None,
        "single_acc": float(single_acc[k]) if k is not None else None,
        "unit_hinge": float(unit.min()) if unit.size else None,
    }


def gamma_map(
    setup: Setup, step: float, combos: Combos, n: int, progress: bool
) -> list[dict[str, Any]]:
    """For γ on a grid over the unit disk (κ = √(1 − Σγ²)): the best combined and best single hinge.

    Oracle selection on one sample set (no validation split): the map compares what a combination
    *can* reach with what a single scaled vector can reach (``best_hinge_per_seed``: each seed's own
    best point). ``feasible``: whether Theorem 3's
    conditions with c → 0 and β = β̂ (its box c/β lies beyond the grid) hold at some grid point,
    i.e. Σλγ ≥ 1 and Σλγ² ≥ 1 there. No constant is fitted here.
    """
    l1, l2 = combos.l1, combos.l2
    box = float(max(np.abs(l1).max(), np.abs(l2).max()))
    rows = []
    for g1, g2 in tqdm(_disk(step), desc="γ map", disable=not progress):
        kappa = math.sqrt(max(0.0, 1.0 - g1 * g1 - g2 * g2))
        task = target_task(setup, [float(g1), float(g2)], kappa)
        maps = combos.maps(lambda s, t=task: {"T'": test_set(t, n, s)})
        h = np.mean([m["T'"]["hinge"] for m in maps], 0)
        a = np.mean([m["T'"]["acc"] for m in maps], 0)
        row = {"gamma": [float(g1), float(g2)], "kappa": kappa, **_map_row(h, a, l1, l2)}
        row["best_hinge_per_seed"] = [float(m["T'"]["hinge"].min()) for m in maps]
        row["feasible"] = theorem3.feasible(row["gamma"], 1.0, box, l1, l2)
        rows.append(row)
    return rows


def select_gamma(gmap: list[dict[str, Any]], eps: float) -> list[float] | None:
    """The rule ``ood_span``'s γ was chosen by, applied to a γ map: among targets with γ1 γ2 < 0 that
    some combination solves (hinge ≤ ε) and no single scaled vector does, the largest single-vector
    hinge, then the smallest combined hinge. None when no target qualifies."""
    ok = [
        r
        for r in gmap
        if r["gamma"][0] * r["gamma"][1] < 0
        and r["best_hinge"] <= eps
        and (r["single_hinge"] is None or r["single_hinge"] > eps)
    ]
    if not ok:
        return None
    return min(ok, key=lambda r: (-(r["single_hinge"] or 0.0), r["best_hinge"]))["gamma"]
