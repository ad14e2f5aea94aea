"""Shared analysis of measured curves and grids, used by every testbed (pure numpy).

Table 1 selection (best λ for multi-task learning and for unlearning), the best point of a 2-D λ grid
chosen on validation and reported on test, β̂ (T1's hinge slope against |λ|), mean ± std over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def mean_std(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "n": int(a.size),
    }


def table1(lams: np.ndarray, curves: dict, ft_acc_t1: float, ev: dict) -> dict[str, Any]:
    """Best λ for multi-task learning and for unlearning, from the mean curves."""
    a1, a2 = curves["T1"]["acc_mean"], curves["T2"]["acc_mean"]
    h1, h2 = curves["T1"]["hinge_mean"], curves["T2"]["hinge_mean"]
    worse_acc, worse_hinge = np.minimum(a1, a2), np.maximum(h1, h2)
    mt = int(np.lexsort((worse_hinge, -worse_acc))[0])
    keep = a1 >= ev["retain_fraction"] * ft_acc_t1
    out = {
        "multi_task": {
            "lambda": float(lams[mt]),
            "T1_acc": float(a1[mt]),
            "T2_acc": float(a2[mt]),
            "T1_hinge": float(h1[mt]),
            "T2_hinge": float(h2[mt]),
        },
        "unlearning": None,
        "retain_threshold_acc": ev["retain_fraction"] * ft_acc_t1,
    }
    if keep.any():
        idx = np.flatnonzero(keep)
        un = int(idx[np.lexsort((-h2[idx], a2[idx]))[0]])
        out["unlearning"] = {
            "lambda": float(lams[un]),
            "T1_acc": float(a1[un]),
            "T2_acc": float(a2[un]),
            "T1_hinge": float(h1[un]),
            "T2_hinge": float(h2[un]),
        }
    return out


def stack_parts(per_seed: list[dict]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-seed ``grid_maps`` results with "val" and "test" parts → (val, test), each {"acc", "hinge"}
    stacked over seeds: arrays of shape (S, len(l1), len(l2))."""
    return tuple(
        {k: np.stack([m[part][k] for m in per_seed]) for k in ("acc", "hinge")}
        for part in ("val", "test")
    )  # type: ignore[return-value]


def select(val_hinge: np.ndarray, val_acc: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> tuple:
    """Index (i, j) of the smallest validation hinge; ties by higher accuracy, then smaller ‖λ‖."""
    L1, L2 = np.meshgrid(l1, l2, indexing="ij")
    order = np.lexsort(((L1**2 + L2**2).ravel(), -val_acc.ravel(), val_hinge.ravel()))
    return np.unravel_index(int(order[0]), val_hinge.shape)


def point(l1v: float, l2v: float, acc: np.ndarray, hinge: np.ndarray) -> dict[str, Any]:
    return {
        "lambda1": float(l1v),
        "lambda2": float(l2v),
        "acc": mean_std(acc.tolist()),
        "hinge": mean_std(hinge.tolist()),
    }


def best_points(
    l1: np.ndarray, l2: np.ndarray, val: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> dict[str, dict]:
    """Best (λ1, λ2) and best single scaled vector, chosen on mean validation, reported on test.

    ``val``/``test`` hold per-seed arrays "acc" and "hinge" of shape (S, len(l1), len(l2)).
    """
    vh, va = val["hinge"].mean(0), val["acc"].mean(0)
    i, j = select(vh, va, l1, l2)
    out = {"best": point(l1[i], l2[j], test["acc"][:, i, j], test["hinge"][:, i, j])}
    single = np.full(vh.shape, np.inf)
    zero1, zero2 = np.abs(l1) < 1e-9, np.abs(l2) < 1e-9
    single[:, zero2] = vh[:, zero2]
    single[zero1, :] = vh[zero1, :]
    if np.isfinite(single).any():
        masked_acc = np.where(np.isfinite(single), va, -np.inf)
        i, j = select(single, masked_acc, l1, l2)
        out["best_single"] = point(l1[i], l2[j], test["acc"][:, i, j], test["hinge"][:, i, j])
    return out


def beta_fit(lams: np.ndarray, hinge_t1: np.ndarray) -> dict[str, float]:
    """Least-squares line of T1's mean hinge against |λ2|: slope (β̂, may be < 0), intercept and R²."""
    x = np.abs(lams)
    b, e0 = np.polyfit(x, hinge_t1, 1)
    pred = e0 + b * x
    ss = float(((hinge_t1 - hinge_t1.mean()) ** 2).sum())
    r2 = 1.0 - float(((hinge_t1 - pred) ** 2).sum()) / ss if ss > 0 else float("nan")
    return {"slope": float(b), "intercept": float(e0), "r2": r2}


def beta_hat(lams: np.ndarray, hinge_t1: np.ndarray) -> dict[str, float]:
    """Slope of T1's mean hinge against |λ2| on Ψ0 + ΔΨ_T1 + λ2 ΔΨ_T2 (the |λ|β term; irrelevant pair)."""
    fit = beta_fit(lams, hinge_t1)
    return {"beta_hat": max(fit["slope"], 0.0), "slope": fit["slope"], "r2": fit["r2"]}


def mean_curves(per_seed: list[dict], tasks=("T1", "T2")) -> dict[str, dict[str, np.ndarray]]:
    """Mean and std over seeds (ddof 1; zeros for one seed) of each task's accuracy and hinge curves."""
    curves = {}
    for n in tasks:
        acc = np.stack([p[n]["acc"] for p in per_seed])
        hin = np.stack([p[n]["hinge"] for p in per_seed])
        sd = (lambda a: a.std(0, ddof=1)) if len(per_seed) > 1 else (lambda a: np.zeros(a.shape[1]))
        curves[n] = {
            "acc_mean": acc.mean(0),
            "acc_std": sd(acc),
            "hinge_mean": hin.mean(0),
            "hinge_std": sd(hin),
        }
    return curves
