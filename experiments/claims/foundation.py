"""Claims of ``foundation``: the fine-tuning precondition and the structure of the task vectors.

Each verdict follows the rule written in its ``criterion``; the rules are fixed here, before looking
at the numbers of any particular run. Input: the experiment's results (``runs``, ``summary``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import claim, verdict


def _precondition(runs: list[dict]) -> dict[str, Any]:
    worst_hinge = max(r["test"][r["task"]]["hinge"] for r in runs)
    worst_acc = min(r["test"][r["task"]]["accuracy"] for r in runs)
    return claim(
        "Fine-tuning reaches generalization error <= eps on its own task (Thm 1 precondition)",
        "theory.md §4.7",
        "every run: test hinge <= 0.05 and accuracy >= 0.99",
        f"worst test hinge {worst_hinge:.4f}, worst accuracy {worst_acc:.4f} over {len(runs)} runs",
        verdict(worst_hinge <= 0.05 and worst_acc >= 0.99),
    )


def _attention(summary: dict) -> dict[str, Any]:
    own = summary["own_task"]
    uniform = summary["uniform_attention_mass"]
    att = float(np.mean([own[n]["attention_on_discriminative"]["mean"] for n in own]))
    return claim(
        "Attention mass on ±μ_T tokens rises towards 1 after fine-tuning",
        "theory.md §8.1 (Attention), §5.8",
        "agrees if mean mass >= 0.9; partly if it rises above the uniform mass",
        f"mean mass {att:.3f} vs uniform {uniform:.3f}",
        verdict(att >= 0.9, partial=att > uniform + 0.01),
    )


def _structure(summary: dict) -> list[dict[str, Any]]:
    cos_w = summary["dW_cosine_with_mumuT"]["mean"]
    res_v = summary["low_rank_relative_residual"]["V"]["mean"]
    res_w = summary["low_rank_relative_residual"]["W"]["mean"]
    return [
        claim(
            "ΔW_T ≈ c_W μ_T μ_Tᵀ",
            "theory.md §5.8 (derivation)",
            "cosine(ΔW, μμᵀ) >= 0.9",
            f"cosine {cos_w:.3f} ± {summary['dW_cosine_with_mumuT']['std']:.3f}",
            verdict(cos_w >= 0.9),
        ),
        claim(
            "Task vectors are close to rank 1 (Corollary 1)",
            "theory.md §5.6",
            "‖Δ − Δ_rank1‖_F / ‖Δ‖_F <= 0.1 for both ΔW and ΔV",
            (
                f"relative rank-1 residual ΔW {res_w:.3f}, ΔV {res_v:.3f}; "
                f"{100 * summary['dV_energy_in_span_mu_vbar']['mean']:.2f}% of ‖ΔV‖² lies in span(μ, v̄), "
                "v̄ = mean irrelevant pattern (rank 2)"
            ),
            verdict(max(res_w, res_v) <= 0.1, partial=min(res_w, res_v) <= 0.1),
        ),
    ]


def _row_norms(runs: list[dict]) -> dict[str, Any]:
    rows = np.concatenate([np.asarray(r["row_norms_scaled"]) for r in runs])
    per_run_small = [
        float(np.mean(np.asarray(r["row_norms_scaled"]) < 0.3 * max(r["row_norms_scaled"])))
        for r in runs
    ]
    small = float(np.mean(per_run_small))
    return claim(
        "ΔV row norms split into a Θ(m^-1/2) group and a group near 0 (Corollary 2)",
        "theory.md §5.7",
        "10%–90% of rows below 0.3 × the largest row norm of their run",
        (
            f"{100 * small:.1f}% of rows below 0.3 × max; √m‖u_i‖ ranges "
            f"{rows.min():.2f}–{rows.max():.2f} (median {np.median(rows):.2f})"
        ),
        verdict(0.1 <= small <= 0.9),
    )


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The fine-tuning precondition, attention concentration, ΔW ∝ μμᵀ, rank 1 and the row norms."""
    runs, summary = results["runs"], results["summary"]
    return [_precondition(runs), _attention(summary), *_structure(summary), _row_norms(runs)]
