"""Where the task-arithmetic theorems apply: their hypotheses and the proofs' intermediate conclusions.

Pure Python, no torch. Two kinds of assumptions (theory.md §4.7, §5.1, §5.8):

* **Hypotheses** of the statements, each with its hidden constant set to 1 (so a ratio ≥ 1 means
  "met up to constants"): width m ≳ M² log M, batch B ≳ ε⁻² log M, steps t ≳ η⁻¹ δ*⁻², and
  ηδ* small (β = poly(ηδ*) must be small). They are reported, not enforced: the constants are unknown.
* **The proofs' intermediate conclusions** about every fine-tuned model Ψ*_T, which decide the scope
  (``SCOPE_RULE``, stated once here): a run is *in scope* when every fine-tuned model it merges has

  - own-task test hinge ≤ ε (the theorems' precondition),
  - attention mass on ±μ_T tokens from ±μ_T queries ≥ ``ATTENTION_MIN``,
  - cos(ΔW, μ_T μ_Tᵀ) ≥ ``COS_MIN``;

  otherwise it is *out of scope*, and the failing conclusions are named. An out-of-scope row keeps its
  numbers and its reading against the prediction, but counts as neither agreement nor disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

ATTENTION_MIN = 0.9
COS_MIN = 0.9
SCOPE_RULE = (
    "in scope when every fine-tuned model has own-task test hinge ≤ ε, attention on ±μ queries "
    f"≥ {ATTENTION_MIN} and cos(ΔW, μμᵀ) ≥ {COS_MIN} (the proofs' intermediate conclusions)"
)

WORST = {  # how the audit aggregates a quantity over the fine-tuned models: the worst one decides
    "own_hinge": max,
    "attention_mu_queries": min,
    "cos_dW_mumu": min,
}
REPORTED = (  # reported as the mean over models
    "min_margin",
    "attention_irrelevant_queries",
    "attention_confusion_queries",
    "rank1_residual_dV",
    "rank1_residual_dW",
    "uniform_attention_hinge",
)


def hypotheses(
    *, m: int, M: int, batch: int, eps: float, lr: float, delta_star: float, steps: float
) -> dict[str, float]:
    """The statements' hypotheses as ratios with every hidden constant 1 (≥ 1: met up to constants),
    and ηδ* (small for β = poly(ηδ*) to be small)."""
    log_m = math.log(max(M, 2))
    return {
        "m / (M² log M)": m / (M**2 * log_m),
        "B / (ε⁻² log M)": batch / (eps**-2 * log_m),
        "t ηδ*²": steps * lr * delta_star**2,
        "ηδ*": lr * delta_star,
    }


def audit(models: Sequence[dict[str, float]]) -> dict[str, float]:
    """The worst value over the fine-tuned models of each scope quantity, the mean of the others."""
    out = {k: float(f(m[k] for m in models)) for k, f in WORST.items()}
    out.update({k: float(sum(m[k] for m in models) / len(models)) for k in REPORTED})
    return out


def scope_failures(worst: dict[str, float], eps: float) -> list[str]:
    """The intermediate conclusions that fail, as "name value < bound" strings (empty: in scope)."""
    failures = []
    if worst["own_hinge"] > eps:
        failures.append(f"own-task hinge {worst['own_hinge']:.3f} > ε = {eps:g}")
    if worst["attention_mu_queries"] < ATTENTION_MIN:
        failures.append(
            f"attention on ±μ queries {worst['attention_mu_queries']:.3f} < {ATTENTION_MIN}"
        )
    if worst["cos_dW_mumu"] < COS_MIN:
        failures.append(f"cos(ΔW, μμᵀ) {worst['cos_dW_mumu']:.3f} < {COS_MIN}")
    return failures


def scope(worst: dict[str, float], eps: float) -> str:
    """ "in" when ``scope_failures`` is empty, else "out"."""
    return "out" if scope_failures(worst, eps) else "in"
