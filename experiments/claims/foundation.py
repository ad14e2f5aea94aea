"""Claims of ``foundation``: the fine-tuning precondition and the mechanism the proofs rely on.

Each verdict follows the rule written in its ``criterion``; thresholds are the declared constants of
``experiments.theory.scope`` and ``experiments.theory.corollaries``. A comparison is made on a t
interval over seeds (one value per seed: the mean over its tasks, which share Ψ0). The rows are in
scope when every model reaches its own task (hinge ≤ ε): they describe fine-tuning itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import claim, interval, judge, show
from experiments.theory.corollaries import MIN_LARGE_FRACTION, RANK1_RESIDUAL_MAX, row_split
from experiments.theory.scope import ATTENTION_MIN, COS_MIN, audit, scope_failures

GAP_MAX = 0.05  # Corollary 2: at most this fraction of rows in neither group


def per_seed(runs: list[dict], value) -> list[float]:
    """``value(run)`` averaged over the tasks of each seed, in seed order."""
    seeds = sorted({r["seed"] for r in runs})
    return [float(np.mean([value(r) for r in runs if r["seed"] == s])) for s in seeds]


def _precondition(runs: list[dict], eps: float) -> dict[str, Any]:
    worst_hinge = max(r["test"][r["task"]]["hinge"] for r in runs)
    worst_acc = min(r["test"][r["task"]]["accuracy"] for r in runs)
    return claim(
        "Fine-tuning reaches generalization error <= eps on its own task (Thm 1 precondition)",
        "theory.md §4.7",
        f"every run: test hinge <= {eps} and accuracy >= 0.99",
        f"worst test hinge {worst_hinge:.4f}, worst accuracy {worst_acc:.4f} over {len(runs)} runs",
        "agrees" if worst_hinge <= eps and worst_acc >= 0.99 else "disagrees",
        scope="in",
    )


def _attention(runs: list[dict], uniform: float) -> dict[str, Any]:
    mu = interval(per_seed(runs, lambda r: r["mechanism"]["attention_mu_queries"]))
    irr = interval(per_seed(runs, lambda r: r["mechanism"]["attention_irrelevant_queries"]))
    return {
        "claim": "±μ_T queries put their attention on ±μ_T tokens after fine-tuning",
        "source": "theory.md §5.8 (Attention)",
        "criterion": f"mass on ±μ tokens from ±μ queries, seed interval ≥ {ATTENTION_MIN}",
        "measured": (
            f"±μ queries {show(mu)}; irrelevant queries {show(irr)} (uniform {uniform:.3f})"
        ),
        "verdict": judge(mu, ATTENTION_MIN),
    }


def _structure(runs: list[dict]) -> list[dict[str, Any]]:
    cos = interval(per_seed(runs, lambda r: r["mechanism"]["cos_dW_mumu"]))
    res_w = interval(per_seed(runs, lambda r: r["mechanism"]["rank1_residual_dW"]))
    res_v = interval(per_seed(runs, lambda r: r["mechanism"]["rank1_residual_dV"]))
    span = np.mean([r["dV_energy_in_span_mu_vbar"] for r in runs])
    both = {"lo": max(res_w["lo"], res_v["lo"]), "hi": max(res_w["hi"], res_v["hi"])}
    return [
        {
            "claim": "ΔW_T ≈ c_W μ_T μ_Tᵀ",
            "source": "theory.md §5.8 (derivation)",
            "criterion": f"cos(ΔW, μμᵀ), seed interval ≥ {COS_MIN}",
            "measured": f"cosine {show(cos)}",
            "verdict": judge(cos, COS_MIN),
        },
        {
            "claim": "Task vectors are close to rank 1 (Corollary 1)",
            "source": "theory.md §5.6",
            "criterion": (
                f"‖Δ − Δ_rank1‖_F / ‖Δ‖_F, seed interval ≤ {RANK1_RESIDUAL_MAX} for ΔW and ΔV"
            ),
            "measured": (
                f"ΔW {show(res_w)}, ΔV {show(res_v)}; {100 * span:.2f}% of ‖ΔV‖² lies in "
                "span(μ, v̄), v̄ = mean irrelevant pattern (rank 2)"
            ),
            "verdict": judge(both, RANK1_RESIDUAL_MAX, at_least=False),
        },
    ]


def _row_norms(runs: list[dict], batch: int) -> dict[str, Any]:
    splits = {r["seed"]: [] for r in runs}
    for r in runs:
        splits[r["seed"]].append(row_split(r["row_norms_scaled"], batch))
    gap = interval([np.mean([x["gap"] for x in v]) for v in splits.values()])
    large = interval([np.mean([x["large"] for x in v]) for v in splits.values()])
    small = float(np.mean([x["small"] for v in splits.values() for x in v]))
    rows = np.concatenate([np.asarray(r["row_norms_scaled"]) for r in runs])
    ok, bad = judge(gap, GAP_MAX, at_least=False), judge(large, MIN_LARGE_FRACTION)
    verdict = ok if ok == bad else "disagrees" if "disagrees" in (ok, bad) else "inconclusive"
    return {
        "claim": "ΔV's rows split into |L| = Θ(m) rows ≥ Ω(m^-1/2) and the rest ≤ O(m^-1/2 √(log B/B)) (Corollary 2)",
        "source": "theory.md §5.7",
        "criterion": (
            f"per seed, rows relative to the largest: fraction in neither group (≥ 0.3, ≤ √(log B/B)) "
            f"interval ≤ {GAP_MAX}, large fraction interval ≥ {MIN_LARGE_FRACTION}"
        ),
        "measured": (
            f"neither {show(gap)}, large {show(large)}, small {small:.3f}; √m‖u_i‖ ranges "
            f"{rows.min():.2f}–{rows.max():.2f}"
            + ("; no row is small: L = every neuron, nothing to prune" if small == 0 else "")
        ),
        "verdict": verdict,
    }


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The precondition, attention on ±μ queries, ΔW ∝ μμᵀ, rank 1 and the row-norm split."""
    runs, summary, cfg = results["runs"], results["summary"], results["config"]
    eps = cfg["eval"]["eps"]
    worst = audit([r["mechanism"] for r in runs])
    assumptions = {**worst, **results["hypotheses"]}
    failures = [f for f in scope_failures(worst, eps) if f.startswith("own-task")]
    scope = "out" if failures else "in"
    rows = [
        _attention(runs, summary["uniform_attention_mass"]),
        *_structure(runs),
        _row_norms(runs, cfg["train"]["batch_size"]),
    ]
    return [
        _precondition(runs, eps),
        *(
            claim(
                r["claim"],
                r["source"],
                r["criterion"],
                r["measured"],
                r["verdict"],
                scope=scope,
                assumptions=assumptions,
                out_of_scope_because=failures,
            )
            for r in rows
        ),
    ]
