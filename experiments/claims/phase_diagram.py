"""Claims of ``phase_diagram``: the measured λ*(α), β̂ and λ_min(α) against Theorems 1–2.

Input: the experiment's results (``analysis`` and ``config.eval.eps``); the predicted line
λ*(α) = 1 − α (+β) and the −c/α² shape come from ``experiments.theory.theorem1``.
"""

from __future__ import annotations

from typing import Any

from experiments.claims import claim, verdict
from experiments.theory.theorem1 import (
    RETENTION_LOGLOG_SLOPE,
    retention_slope_interval,
    threshold_line,
)

LINE_TOLERANCE = 0.25  # slope and intercept of the fitted λ*(α) within this of the theory's line
SLOPE_PARTLY = 0.5  # "partly": the slope alone within this of the theory's


def _num(x: float) -> str:
    """A number as the criteria print it: shortest form, with a typographic minus."""
    return f"{x:g}".replace("-", "−")


def _threshold(an: dict, eps: float) -> dict[str, Any]:
    fit = an["lambda_star_fit"]
    slope, intercept = threshold_line()
    ok = (
        abs(fit["slope"] - slope) <= LINE_TOLERANCE
        and abs(fit["intercept"] - intercept) <= LINE_TOLERANCE
    )
    return claim(
        "Multi-task threshold λ*(α) = 1 − α + β over α ≥ 0",
        "Theorem 1",
        (
            f"line fit of λ*(α) (start of the λ half-line with T2 mean hinge ≤ {eps}): "
            f"slope within {LINE_TOLERANCE} of {_num(slope)}, intercept within {LINE_TOLERANCE} of {_num(intercept)}"
        ),
        (
            f"slope {fit['slope']:.2f}, intercept {fit['intercept']:.2f} ({fit['n_points']} α values); "
            f"T2 also succeeds below λ* for α ∈ {an['alphas_with_T2_success_below_lambda_star']}"
        ),
        verdict(ok, partial=abs(fit["slope"] - slope) <= SLOPE_PARTLY),
    )


def _beta(b: dict) -> dict[str, Any]:
    return claim(
        "T1's loss grows linearly with |λ| (the |λ|β term)",
        "Theorems 1–2",
        "at α = 0: fitted slope β̂ of T1 mean hinge vs |λ| > 0 with R² ≥ 0.5",
        f"β̂ = {b['beta_hat']:.4f} (R² {b['r2']:.2f}); T1 hinge at most {b['max_T1_hinge']:.3f} on λ ∈ grid",
        verdict(b["beta_hat"] > 0 and b["r2"] >= 0.5, partial=b["beta_hat"] > 0),
    )


def _retention(shape: dict) -> dict[str, Any]:
    lo, hi = retention_slope_interval()
    strong = shape["loglog_slope_alpha_le_minus_half"]
    return claim(
        "Contradictory tasks: T1 is retained down to λ ≈ −c/α²",
        "Theorem 2",
        (
            f"log-log slope of |λ_min| vs |α| (α < 0, uncensored) in [{_num(lo)}, {_num(hi)}] "
            f"(theory {_num(RETENTION_LOGLOG_SLOPE)})"
        ),
        (
            f"slope {shape['loglog_slope']:.2f}, c ≈ {shape['c_hat']:.2f} over α ∈ {shape['alphas']}"
            + (f"; over α ≤ −0.5 alone the slope is {strong:.2f}" if strong is not None else "")
        ),
        verdict(lo <= shape["loglog_slope"] <= hi),
    )


def _retention_censored() -> dict[str, Any]:
    return claim(
        "Contradictory tasks: T1 is retained down to λ ≈ −c/α²",
        "Theorem 2",
        "a finite retention limit inside the λ grid for α < 0",
        "T1 stays retained down to the grid's lower end for most α < 0 (limit censored)",
        "partly",
    )


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """λ*(α) against 1 − α + β, the |λ|β slope at α = 0, and λ_min(α) against −c/α²."""
    an, eps = results["analysis"], results["config"]["eval"]["eps"]
    rows = []
    if an["lambda_star_fit"]:
        rows.append(_threshold(an, eps))
    if an["beta"]:
        rows.append(_beta(an["beta"]))
    if an["retention_shape"]:
        rows.append(_retention(an["retention_shape"]))
    elif any(an["lambda_min_censored"]):
        rows.append(_retention_censored())
    return rows
