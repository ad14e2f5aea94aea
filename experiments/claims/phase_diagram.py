"""Claims of ``phase_diagram``: Theorems 1–2 over every α of the grid, judged per seed.

The rules are those of ``experiments.claims.task_pair`` applied at every α: β̂(α) is fitted on the
held-out seeds' mean T1 map, and each theorem is judged by the fraction of its region's (α, λ) points
that meet its conclusion, per seed, with a t interval over seeds against ``SUCCESS_FRACTION``.
Measurements that a sufficient condition does not constrain (the fitted line λ*(α), successes below
the threshold, the shape of the retention limit) are reported next to the verdict, not judged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.analysis import calibrated_beta
from experiments.claims import claim, interval, judge, show
from experiments.claims.task_pair import PRED_T1, PRED_T2, SUCCESS_FRACTION
from experiments.theory.scope import audit, scope_failures
from experiments.theory.theorem1 import addition_region, negation_region


def _maps(results: dict) -> tuple:
    cfg = results["config"]
    alphas, lams = np.asarray(results["alphas"]), np.asarray(results["lambdas"])
    h1 = np.asarray(results["per_seed_hinge"]["T1"])  # (α, seed, λ)
    h2 = np.asarray(results["per_seed_hinge"]["T2"])
    cal = np.asarray(results["calibration"]["T1_hinge_mean"])  # (α, λ)
    eps, c = cfg["eval"]["eps"], float(cfg["experiment"]["negation_c"])
    betas = np.array([calibrated_beta(a, lams, cal[i][None], eps, c) for i, a in enumerate(alphas)])
    return alphas, lams, h1, h2, betas, eps, c


def _per_seed_fraction(ok: np.ndarray, regions: np.ndarray) -> list[float]:
    """ok (α, seed, λ), regions (α, λ): per seed, the fraction of the regions' points where ok holds."""
    n = regions.sum()
    return [float((ok[:, j] & regions).sum() / n) for j in range(ok.shape[1])]


def _scope(results: dict, alpha_idx: np.ndarray, eps: float) -> tuple[list[str], dict]:
    mech = results["mechanism"]
    models = [*mech["T1"], *(m for i in np.flatnonzero(alpha_idx) for m in mech["T2"][i])]
    worst = audit(models)
    return scope_failures(worst, eps), worst


def _row(results, name, source, criterion, measured, verdict, sel, betas, eps, prediction):
    failures, worst = _scope(results, sel, eps)
    assumptions = {
        **worst,
        **results["hypotheses"],
        "beta_hat max over α (held-out seeds)": float(betas[sel].max()) if sel.any() else 0.0,
        "calibration seeds": results["calibration"]["seeds"],
    }
    if failures:
        measured += f"; out of scope: {', '.join(failures)}"
    return claim(
        name,
        source,
        criterion,
        measured,
        verdict,
        prediction=prediction,
        scope="out" if failures else "in",
        assumptions=assumptions,
        out_of_scope_because=failures,
    )


def _theorem1(results, alphas, lams, h1, h2, betas, eps) -> dict[str, Any] | None:
    sel = alphas >= 0
    if not sel.any():
        return None
    regions = np.array([addition_region(a, lams, b) for a, b in zip(alphas, betas, strict=True)])
    ok = (h2 <= eps) & (h1 <= eps + np.abs(lams) * betas[:, None, None])
    frac = interval(_per_seed_fraction(ok, regions))
    an = results["analysis"]
    fit = an["lambda_star_fit"]
    info = (
        f"; λ*(α) line fit slope {fit['slope']:.2f}, intercept {fit['intercept']:.2f}"
        if fit
        else ""
    )
    return _row(
        results,
        "Multi-task learning for λ ≥ 1 − α + β at every α ≥ 0",
        "Theorem 1",
        (
            f"per seed, on the (α ≥ 0, λ ≥ 1 − α + β̂(α)) grid points: fraction with T2 hinge ≤ {eps} "
            f"and T1 hinge ≤ {eps} + |λ|β̂; interval ≥ {SUCCESS_FRACTION}"
        ),
        f"fraction {show(frac)} over {frac['n']} seeds, {int(regions.sum())} points{info}",
        judge(frac, SUCCESS_FRACTION),
        sel,
        betas,
        eps,
        PRED_T1,
    )


def _theorem2(results, alphas, lams, h1, h2, betas, eps, c) -> dict[str, Any] | None:
    sel = alphas <= 0
    if not sel.any():
        return None
    forget = results["config"]["eval"]["forget_hinge"]
    regions = np.array([negation_region(a, lams, c) for a in alphas])
    ok = (h2 >= forget) & (h1 <= eps + np.abs(lams) * betas[:, None, None])
    frac = interval(_per_seed_fraction(ok, regions))
    shape = results["analysis"]["retention_shape"]
    censored = sum(results["analysis"]["lambda_min_censored"])
    info = (
        f"; retention limit log-log slope {shape['loglog_slope']:.2f} (−c/α² gives −2)"
        if shape
        else f"; retention limit censored at the grid's end for {censored} α"
    )
    return _row(
        results,
        "Unlearning for −c/α² ≤ λ ≤ 0 at every α ≤ 0",
        "Theorem 2",
        (
            f"per seed, on the (α ≤ 0, −{c:g}/α² ≤ λ ≤ 0) grid points: fraction with T2 hinge ≥ "
            f"{forget} and T1 hinge ≤ {eps} + |λ|β̂; interval ≥ {SUCCESS_FRACTION}"
        ),
        f"fraction {show(frac)} over {frac['n']} seeds, {int(regions.sum())} points{info}",
        judge(frac, SUCCESS_FRACTION),
        sel,
        betas,
        eps,
        PRED_T2,
    )


def _contradictory(results, alphas, lams, h1, h2, betas, eps) -> dict[str, Any] | None:
    sel = alphas < 0
    if not sel.any():
        return None
    regions = np.repeat(sel[:, None], len(lams), axis=1)
    frac = interval(_per_seed_fraction((h1 <= eps) & (h2 <= eps), regions))
    return _row(
        results,
        "Task addition learns no contradictory pair (α < 0)",
        "Theorem 1",
        f"per seed, fraction of (α < 0, λ) grid points with both hinges ≤ {eps}: interval at 0",
        f"fraction {show(frac)} over {frac['n']} seeds",
        judge(frac, 0.0, at_least=False),
        sel,
        betas,
        eps,
        "α < 0: no λ gives both hinges ≤ Θ(ε)",
    )


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Theorem 1 over α ≥ 0, Theorem 2 over α ≤ 0, and the contradictory reading over α < 0."""
    alphas, lams, h1, h2, betas, eps, c = _maps(results)
    rows = [
        _theorem1(results, alphas, lams, h1, h2, betas, eps),
        _theorem2(results, alphas, lams, h1, h2, betas, eps, c),
        _contradictory(results, alphas, lams, h1, h2, betas, eps),
    ]
    return [r for r in rows if r is not None]
