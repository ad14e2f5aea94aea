"""Claims of ``task_pair``: Theorems 1 and 2 on one pair, judged by what they state, per seed.

* β̂, the constant of T1's bound ε + |λ|β, is fitted one-sidedly (``analysis.beta_envelope``) on the
  held-out seeds ``experiment.calibration_seeds``, over the λ where a theorem applies for this α
  (λ ≥ 1 − α for Theorem 1, −c/α² ≤ λ ≤ 0 for Theorem 2, c = ``experiment.negation_c``); the
  reported seeds never enter it.
* Theorem 1 (α ≥ 0): per seed, the fraction of grid points λ ≥ 1 − α + β̂ with T2 hinge ≤ ε and T1
  hinge ≤ ε + |λ|β̂; agrees when the seed interval of that fraction lies at or above
  ``SUCCESS_FRACTION``. (Succeeding below the threshold is allowed: the condition is sufficient.)
* Theorem 2 (α ≤ 0): the same on −c/α² ≤ λ ≤ 0 with T2 hinge ≥ ``eval.forget_hinge`` (forgotten).
* The paper's negative readings (α < 0: no λ learns both; α > 0: no λ < 0 unlearns T2 and keeps T1):
  per seed, the fraction of grid λ that does; agrees when the interval is at 0.
* Scope (``experiments.theory.scope``): every row carries the audit of the fine-tuned models; when the
  proofs' intermediate conclusions fail the row is out of scope (its reading is kept).

Θ(ε) is read with constant 1 (ε = ``eval.eps``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.analysis import calibrated_beta
from experiments.claims import claim, interval, judge, show
from experiments.theory.scope import audit, scope_failures
from experiments.theory.theorem1 import (
    addition_applies,
    addition_region,
    addition_threshold,
    negation_applies,
    negation_region,
)

PRED_T1 = "α ≥ 0, λ ≥ 1 − α + β: T2 hinge ≤ Θ(ε) and T1 hinge ≤ Θ(ε) + |λ|β"
PRED_T2 = "α ≤ 0, −Θ(α⁻²) ≤ λ ≤ 0: T2 hinge ≥ Θ(1) and T1 hinge ≤ Θ(ε) + |λ|β"
SUCCESS_FRACTION = 0.95  # a sufficient condition "holds" when this fraction of its region succeeds


def theorem_fraction(ok: np.ndarray, region: np.ndarray) -> list[float]:
    """Per seed (rows of ``ok``), the fraction of the region's grid points where ``ok`` holds."""
    return [float(row[region].mean()) for row in ok]


def _theorem1(alpha, lams, h1, h2, beta, ev) -> dict[str, Any]:
    eps = ev["eps"]
    if not addition_applies(alpha):
        frac = interval(theorem_fraction((h1 <= eps) & (h2 <= eps), np.ones(lams.shape, bool)))
        return {
            "claim": "task addition cannot learn both contradictory tasks",
            "prediction": "α < 0: no λ gives both hinges ≤ Θ(ε)",
            "criterion": f"per seed, fraction of grid λ with both hinges ≤ {eps}: interval at 0",
            "measured": f"fraction {show(frac)} over {frac['n']} seeds",
            "verdict": judge(frac, 0.0, at_least=False),
        }
    region = addition_region(alpha, lams, beta)
    start = addition_threshold(alpha, beta)
    if not region.any():
        return {
            "claim": "task addition learns both tasks from λ ≥ 1 − α + β",
            "prediction": PRED_T1,
            "criterion": f"λ ≥ 1 − α + β̂ = {start:.2f} must meet the grid",
            "measured": f"1 − α + β̂ = {start:.2f} lies above the grid's end {lams.max():.2f}",
            "verdict": "untested",
        }
    ok = (h2 <= eps) & (h1 <= eps + np.abs(lams) * beta)
    frac = interval(theorem_fraction(ok, region))
    return {
        "claim": "task addition learns both tasks from λ ≥ 1 − α + β",
        "prediction": PRED_T1,
        "criterion": (
            f"per seed, on grid λ ≥ 1 − α + β̂ = {start:.2f}: fraction with T2 hinge ≤ {eps} and "
            f"T1 hinge ≤ {eps} + |λ|β̂; interval ≥ {SUCCESS_FRACTION}"
        ),
        "measured": f"fraction {show(frac)} over {frac['n']} seeds, {int(region.sum())} λ points",
        "verdict": judge(frac, SUCCESS_FRACTION),
    }


def _theorem2(alpha, lams, h1, h2, beta, ev, c) -> dict[str, Any]:
    eps, forget = ev["eps"], ev["forget_hinge"]
    if not negation_applies(alpha):
        neg = lams < 0
        unlearn = (h2 >= forget) & (h1 <= eps)
        frac = interval(theorem_fraction(unlearn, neg))
        return {
            "claim": "negation cannot forget an aligned T2 while keeping T1",
            "prediction": "α > 0 (not small): no λ < 0 forgets T2 while T1 keeps hinge ≤ Θ(ε)",
            "criterion": (
                f"per seed, fraction of grid λ < 0 with T2 hinge ≥ {forget} and T1 hinge ≤ {eps}: "
                "interval at 0"
            ),
            "measured": f"fraction {show(frac)} over {frac['n']} seeds",
            "verdict": judge(frac, 0.0, at_least=False),
        }
    region = negation_region(alpha, lams, c)
    ok = (h2 >= forget) & (h1 <= eps + np.abs(lams) * beta)
    frac = interval(theorem_fraction(ok, region))
    lo = lams[region].min()
    return {
        "claim": "negation (−c/α² ≤ λ ≤ 0) forgets T2 and keeps T1",
        "prediction": PRED_T2,
        "criterion": (
            f"per seed, on grid λ ∈ [{lo:.2f}, 0] (c = {c:g}): fraction with T2 hinge ≥ {forget} "
            f"and T1 hinge ≤ {eps} + |λ|β̂; interval ≥ {SUCCESS_FRACTION}"
        ),
        "measured": f"fraction {show(frac)} over {frac['n']} seeds, {int(region.sum())} λ points",
        "verdict": judge(frac, SUCCESS_FRACTION),
    }


def _scoped(row: dict, label: str, source: str, worst: dict, assumptions: dict, eps: float):
    """A claims row with the scope and assumption audit of the pair's fine-tuned models."""
    failures = scope_failures(worst, eps)
    measured = row["measured"] + (f"; out of scope: {', '.join(failures)}" if failures else "")
    return claim(
        f"{label}: {row['claim']}",
        source,
        row["criterion"],
        measured,
        row["verdict"],
        prediction=row["prediction"],
        scope="out" if failures else "in",
        assumptions=assumptions,
        out_of_scope_because=failures,
    )


def _precondition(own: list[dict], flagged: list[dict], eps: float, label: str) -> dict[str, Any]:
    return claim(
        f"{label}: every Ψ*_T reaches hinge ≤ ε on its own task (precondition)",
        "Theorem 1 setting",
        f"own-task test hinge ≤ {eps} for every task and seed",
        (
            f"{len(own) - len(flagged)}/{len(own)} runs; worst hinge {max(o['hinge'] for o in own):.4f}, "
            f"accuracy {np.mean([o['accuracy'] for o in own]):.4f} on average"
        ),
        "agrees" if not flagged else "disagrees",
        scope="in",
    )


def pair_rows(results: dict[str, Any]) -> tuple[list[dict], dict, dict]:
    """Theorem 1 and 2 rows (without scope), the worst-model audit, and the assumptions dict."""
    cfg = results["config"]
    ev, exp = cfg["eval"], cfg["experiment"]
    alpha, c = float(cfg["data"]["alpha"]), float(exp["negation_c"])
    lams = np.asarray(results["lambdas"])
    h1, h2 = (np.asarray(results["per_seed_hinge"][n]) for n in ("T1", "T2"))
    h1_cal = np.asarray(results["calibration"]["T1_hinge"])
    beta = calibrated_beta(alpha, lams, h1_cal, ev["eps"], c)
    worst = audit([o["mechanism"] for o in results["own_task"]])
    assumptions = {
        **worst,
        **results["hypotheses"],
        "beta_hat (held-out seeds)": beta,
        "calibration seeds": results["calibration"]["seeds"],
    }
    rows = [
        {**_theorem1(alpha, lams, h1, h2, beta, ev), "source": "Theorem 1"},
        {**_theorem2(alpha, lams, h1, h2, beta, ev, c), "source": "Theorem 2"},
    ]
    return rows, worst, assumptions


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The precondition row, then Theorems 1–2 with their scope and assumptions."""
    eps, label = results["config"]["eval"]["eps"], results["label"]
    rows, worst, assumptions = pair_rows(results)
    pre = _precondition(results["own_task"], results["flagged_runs"], eps, label)
    return [pre, *(_scoped(r, label, r["source"], worst, assumptions, eps) for r in rows)]
