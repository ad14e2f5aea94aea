"""Shared analysis of measured curves and grids, used by every testbed (pure numpy).

Table 1 selection (best λ for multi-task learning and for unlearning), the best point of a 2-D λ grid
chosen on validation and reported on test, β̂ (T1's hinge slope against |λ|), mean ± std over seeds,
and the (α, λ) phase-diagram analysis: λ*(α) with its line fit, β̂ at α = 0, the retention limit
λ_min(α) with its log-log shape.
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


def beta_envelope(lams: np.ndarray, hinge_t1: np.ndarray, eps: float) -> float:
    """The smallest β ≥ 0 with hinge_t1 ≤ ε + |λ|β at every λ ≠ 0 given (the |λ|β bound's constant,
    fitted one-sidedly; 0 when no point exceeds ε or none is given)."""
    lams, h = np.asarray(lams, dtype=float), np.asarray(hinge_t1, dtype=float)
    keep = np.abs(lams) > 1e-12
    if not keep.any():
        return 0.0
    return float(max(0.0, np.max((h[keep] - eps) / np.abs(lams[keep]))))


def calibrated_beta(alpha: float, lams, h1_cal, eps: float, c: float) -> float:
    """β̂ from held-out seeds' T1 curves (seeds × λ, averaged), over the λ where Theorem 1 or 2
    applies for α (``experiments.theory.theorem1``'s regions; c of Theorem 2's −c/α²)."""
    from experiments.theory.theorem1 import addition_region, negation_region

    lams = np.asarray(lams, dtype=float)
    region = addition_region(alpha, lams) | negation_region(alpha, lams, c)
    return beta_envelope(lams[region], np.asarray(h1_cal, dtype=float).mean(0)[region], eps)


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


# ---- (α, λ) phase diagram ------------------------------------------------------------------------
def _half_line_start(ok: np.ndarray, lams: np.ndarray) -> float:
    """Smallest λ such that ``ok`` holds from it to the end of the grid (NaN if not even at the end)."""
    if not ok[-1]:
        return float("nan")
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return float(lams[i])


def _multi_task_threshold(alphas: np.ndarray, lams: np.ndarray, h2: np.ndarray, eps: float) -> dict:
    """λ*(α), the α with T2 successes below it, and the line fit of λ*(α) over α ≥ 0."""
    # λ*(α): where the half-line of success starts, i.e. the smallest λ from which T2's mean hinge stays
    # ≤ ε up to the end of the grid (Theorem 1's condition is a half-line λ ≥ 1 − α + β).
    lam_star = np.array([_half_line_start(h2[a] <= eps, lams) for a in range(len(alphas))])
    # Successes outside that half-line (e.g. at very negative λ) are counted, not hidden.
    stray = [
        float(a)
        for k, a in enumerate(alphas)
        if ((h2[k] <= eps) & (lams < (lam_star[k] if np.isfinite(lam_star[k]) else np.inf))).any()
    ]
    pos = (alphas >= 0) & np.isfinite(lam_star)
    fit = None
    if pos.sum() >= 2:
        slope, intercept = np.polyfit(alphas[pos], lam_star[pos], 1)
        fit = {"slope": float(slope), "intercept": float(intercept), "n_points": int(pos.sum())}
    return {
        "lambda_star": lam_star.tolist(),
        "alphas_with_T2_success_below_lambda_star": stray,
        "lambda_star_fit": fit,
    }


def _beta(alphas: np.ndarray, lams: np.ndarray, h1: np.ndarray) -> dict | None:
    """β̂ (T1's mean hinge against |λ|) at α = 0; None when α = 0 is not on the grid."""
    a0 = int(np.argmin(np.abs(alphas)))
    if abs(alphas[a0]) >= 1e-9:
        return None
    fit = beta_fit(lams, h1[a0])
    return {
        "beta_hat": fit["slope"],
        "intercept": fit["intercept"],
        "r2": fit["r2"],
        "max_T1_hinge": float(h1[a0].max()),
    }


def _retention(alphas: np.ndarray, lams: np.ndarray, h1: np.ndarray, eps: float) -> dict:
    """λ_min(α) (T1 kept on [λ_min, 0]), its censoring at the grid's end, and its log-log shape."""
    zero = int(np.argmin(np.abs(lams)))
    lam_min = []
    for a in range(len(alphas)):
        ok = h1[a] <= eps
        if not ok[zero]:
            lam_min.append(np.nan)
            continue
        i = zero
        while i - 1 >= 0 and ok[i - 1]:
            i -= 1
        lam_min.append(lams[i])
    lam_min = np.asarray(lam_min)
    neg = (alphas < 0) & np.isfinite(lam_min) & (lam_min < 0)
    censored = neg & (lam_min <= lams.min() + 1e-9)
    usable = neg & ~censored
    return {
        "lambda_min_retained": lam_min.tolist(),
        "lambda_min_censored": censored.tolist(),
        "retention_shape": _loglog_shape(alphas, lam_min, usable),
    }


def _loglog_shape(alphas: np.ndarray, lam_min: np.ndarray, usable: np.ndarray) -> dict | None:
    if usable.sum() < 2:
        return None
    slope, _ = np.polyfit(np.log(np.abs(alphas[usable])), np.log(np.abs(lam_min[usable])), 1)
    c_hat = float(np.median(np.abs(lam_min[usable]) * alphas[usable] ** 2))
    strong = usable & (alphas <= -0.5)
    slope_strong = (
        float(np.polyfit(np.log(np.abs(alphas[strong])), np.log(np.abs(lam_min[strong])), 1)[0])
        if strong.sum() >= 2
        else None
    )
    return {
        "loglog_slope": float(slope),
        "c_hat": c_hat,
        "n_points": int(usable.sum()),
        "alphas": alphas[usable].tolist(),
        "loglog_slope_alpha_le_minus_half": slope_strong,
    }


def analyse(
    alphas: np.ndarray, lams: np.ndarray, h1: np.ndarray, h2: np.ndarray, eps: float
) -> dict[str, Any]:
    """λ*(α) with a line fit, β̂ at α = 0, and the contradictory retention limit λ_min(α)."""
    out = _multi_task_threshold(alphas, lams, h2, eps)
    out["beta"] = _beta(alphas, lams, h1)
    out.update(_retention(alphas, lams, h1, eps))
    return out
