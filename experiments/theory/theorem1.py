"""Theorems 1–2: task addition and negation on a pair of tasks (theory.md §5.1, §5.3–5.4).

Pure numpy, no torch. Two tasks with correlation α = μ_T1ᵀ μ_T2 are fine-tuned from the same Ψ0 to a
hinge loss ≤ ε each, and merged as Ψ = Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 (T1 keeps coefficient 1).

**Theorem 1 (multi-task learning by addition).** If α ≥ 0 and λ ≥ 1 − α + β, then

    E_{D_T1} ℓ(Ψ) ≤ Θ(ε) + |λ| β,      E_{D_T2} ℓ(Ψ) ≤ Θ(ε).

For α < 0 no λ makes both errors small.

**Theorem 2 (unlearning by negation).** If α ≤ 0 and −Θ(α⁻²) ≤ λ ≤ 0, then

    E_{D_T1} ℓ(Ψ) ≤ Θ(ε) + |λ| β   (T1 is kept),      E_{D_T2} ℓ(Ψ) ≥ Θ(1)   (T2 is forgotten).

For α = 0 the lower end is −∞ (only the |λ|β term limits it); for α > 0 no range is guaranteed
(negating an aligned T2 also damages T1). The upper end 0 is the safe form (§5.4).

β is a small error term whose size the paper gives only up to constants (poly(ηδ_*) + Θ(ε√M), or
Θ(1/d)); the experiments measure it as β̂, the slope of T1's hinge against |λ|
(``experiments.analysis.beta_fit``), and the Θ(α⁻²) constant c as ĉ.

Consequences used by the experiments:

* the multi-task threshold as a function of α is the line λ*(α) = 1 − α + β: slope −1, intercept
  1 + β (``threshold_line``);
* the retention limit for contradictory tasks is λ_min(α) = −c/α²: on log-log axes |λ_min| against
  |α| is a line of slope −2 (``RETENTION_LOGLOG_SLOPE``).
"""

from __future__ import annotations

import numpy as np

RETENTION_LOGLOG_SLOPE = -2.0
"""Slope of log|λ_min| against log|α| implied by λ_min(α) = −c/α² (Theorem 2, α < 0)."""


def relation(alpha: float) -> str:
    """The pair's relation by the sign of α: "aligned" (α > 0), "irrelevant" (α = 0) or
    "contradictory" (α < 0)."""
    return "aligned" if alpha > 0 else "contradictory" if alpha < 0 else "irrelevant"


def addition_applies(alpha: float) -> bool:
    """Theorem 1's condition on the pair: α ≥ 0 (aligned or irrelevant tasks)."""
    return alpha >= 0


def negation_applies(alpha: float) -> bool:
    """Theorem 2's condition on the pair: α ≤ 0 (irrelevant or contradictory tasks)."""
    return alpha <= 0


def addition_threshold(alpha, beta: float = 0.0):
    """Theorem 1's threshold 1 − α + β: task addition learns both tasks for λ at or above it.

    ``alpha`` may be a number or an array (then so is the result); β = 0 gives the leading term 1 − α.
    """
    return 1 - alpha + beta


def threshold_line(beta: float = 0.0) -> tuple[float, float]:
    """(slope, intercept) of λ*(α) = 1 − α + β as a line in α."""
    intercept = addition_threshold(0.0, beta)
    return addition_threshold(1.0, beta) - intercept, intercept


def t1_bound(eps, lam, beta: float):
    """Theorems 1–2's bound on T1's loss of the merged model, up to constants: ε + |λ| β."""
    return eps + np.abs(lam) * beta


def negation_lower_bound(alpha, c: float = 1.0):
    """Theorem 2's lower end −c/α² of λ (c the unknown Θ-constant); −∞ at α = 0.

    ``alpha`` may be a number or an array of values ≤ 0.
    """
    a = np.asarray(alpha, dtype=float)
    with np.errstate(divide="ignore"):
        out = -c / a**2
    return float(out) if out.ndim == 0 else out


NEGATION_UPPER = 0.0
"""Theorem 2's upper end of λ (the safe form; theory.md §5.4)."""


def negation_range(alpha: float, c: float = 1.0) -> tuple[float, float] | None:
    """Theorem 2's guaranteed range [−c/α², 0] of λ for α ≤ 0 (lower end −∞ at α = 0); None for α > 0."""
    if not negation_applies(alpha):
        return None
    return negation_lower_bound(alpha, c), NEGATION_UPPER


def addition_region(alpha: float, lams, beta: float = 0.0) -> np.ndarray:
    """Mask of the λ where Theorem 1 guarantees both tasks: λ ≥ 1 − α + β, for α ≥ 0 (else none)."""
    lams = np.asarray(lams, dtype=float)
    if not addition_applies(alpha):
        return np.zeros(lams.shape, dtype=bool)
    return lams >= addition_threshold(alpha, beta) - 1e-9


def negation_region(alpha: float, lams, c: float = 1.0) -> np.ndarray:
    """Mask of the λ where Theorem 2 guarantees unlearning: −c/α² ≤ λ ≤ 0, for α ≤ 0 (else none)."""
    lams = np.asarray(lams, dtype=float)
    rng = negation_range(alpha, c)
    if rng is None:
        return np.zeros(lams.shape, dtype=bool)
    return (lams >= rng[0] - 1e-9) & (lams <= rng[1] + 1e-9)


def retention_slope_interval(tolerance: float = 1.0) -> tuple[float, float]:
    """The log-log slopes accepted as the −c/α² shape: RETENTION_LOGLOG_SLOPE ± tolerance."""
    return RETENTION_LOGLOG_SLOPE - tolerance, RETENTION_LOGLOG_SLOPE + tolerance


def pair_prediction(alpha: float) -> dict[str, float | None]:
    """What Theorems 1–2 predict for one pair, as drawn on its λ axis (None where a theorem is silent):

    ``addition_from``: Theorem 1's threshold 1 − α (β unknown, left out) when α ≥ 0;
    ``negation_up_to``: Theorem 2's upper end 0 when α ≤ 0 (its lower end's constant is unknown).
    """
    return {
        "addition_from": addition_threshold(alpha) if addition_applies(alpha) else None,
        "negation_up_to": NEGATION_UPPER if negation_applies(alpha) else None,
    }
