"""Claims of ``low_rank`` (Corollary 1) and ``pruning`` (Corollary 2): the guarantees of Theorems
1–3 kept by compressed task vectors (``experiments.theory.corollaries``), the rank-1 residual
(≤ ``RANK1_RESIDUAL_MAX``, the one constant ``foundation`` uses too) and ΔV's two groups of rows.

An edit *holds* when the 95% interval over seeds of its test slack (``experiments.one_layer.edits``:
≤ 0 when the edit meets its guarantee within the declared budget, coefficients chosen on validation)
lies at or below 0, *fails* when it lies above 0, and is inconclusive otherwise. "Keeps the
guarantees" is judged on the edits that hold with the full task vectors (the corollaries' premise);
an edit whose full version does not hold is listed and not judged. Every row carries the scope audit
of the fine-tuned models (``experiments.theory.scope``).
"""

from __future__ import annotations

import math
from typing import Any

from experiments.claims import all_hold, claim, interval, judge, show, within
from experiments.theory.corollaries import (
    EDIT_LABELS,
    RANK1_RESIDUAL_MAX,
    row_norm_ratio,
)
from experiments.theory.scope import audit, scope_failures


def holds(edit: dict) -> str:
    """``agrees`` (holds), ``disagrees`` (fails) or ``inconclusive``: the slack interval against 0."""
    return judge(interval(edit["slack"]), 0.0, at_least=False)


def kept(full: dict, edited: dict, edits: list[str]) -> tuple[str, str]:
    """The verdict of "every edit that holds with full vectors still holds" and its measured text."""
    premise = [e for e in edits if holds(full[e]) == "agrees"]
    parts = []
    for e in edits:
        after = holds(edited[e]) if e in premise else "not judged: the full edit does not hold"
        edge = ", on the grid's edge" if edited[e].get("on_edge") else ""
        parts.append(
            f"{EDIT_LABELS[e]} slack {show(interval(full[e]['slack']))} → "
            f"{show(interval(edited[e]['slack']))} ({after}{edge})"
        )
    v = all_hold([holds(edited[e]) for e in premise]) if premise else "untested"
    return v, "; ".join(parts)


def _scoped(m: dict, row: dict) -> dict[str, Any]:
    """The row with the scope audit of every fine-tuned model the edits merge."""
    worst = audit(list(m["mechanism"].values()))
    failures = scope_failures(worst, m["config"]["eval"]["eps"])
    assumptions = {**worst, **m["hypotheses"], "budget": m["budget"]}
    return claim(
        **row,
        scope="out" if failures else "in",
        assumptions=assumptions,
        out_of_scope_because=failures,
    )


def _budget_text(m: dict) -> str:
    ev = m["config"]["eval"]
    return (
        f"hinge ≤ {m['budget']:g} ({m['config']['experiment']['budget_eps']:g} ε; negation: T2 hinge "
        f"≥ {ev['forget_hinge']:g}), (λ1, λ2) chosen per seed on validation, judged on test"
    )


def low_rank_claims(m: dict) -> list[dict[str, Any]]:
    """Rank 1 keeps every edit; the task vectors are approximately rank 1."""
    rows = []
    r1 = m["results"]["both"].get("1")
    if r1 is not None:
        v, measured = kept(m["full"], r1, m["edits"])
        rows.append(
            {
                "claim": "Rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3",
                "source": "Corollary 1",
                "criterion": "every edit that holds with full task vectors holds with rank-1 ΔW and "
                f"ΔV; an edit holds when its slack's interval over seeds is ≤ 0 ({_budget_text(m)})",
                "measured": measured,
                "verdict": v,
            }
        )
    per_seed = {k: m["spectra"]["T1"][k]["rank1_residual_per_seed"] for k in ("W", "V")}
    worst = interval([max(w, v) for w, v in zip(per_seed["W"], per_seed["V"], strict=True)])
    rows.append(
        {
            "claim": "Task vectors are approximately rank 1 (‖Δ − Δ_LR‖_F small)",
            "source": "Corollary 1",
            "criterion": f"per seed, the larger rank-1 relative residual ‖Δ − Δ_1‖_F / ‖Δ‖_F of ΔW "
            f"and ΔV of Ψ*_T1; interval ≤ {RANK1_RESIDUAL_MAX}",
            "measured": f"{show(worst)} over {worst['n']} seeds; ΔW {show(interval(per_seed['W']))}, "
            f"ΔV {show(interval(per_seed['V']))}",
            "verdict": judge(worst, RANK1_RESIDUAL_MAX, at_least=False),
        }
    )
    return [_scoped(m, r) for r in rows]


def _row_groups(m: dict) -> dict[str, Any]:
    per = m["groups_per_seed"]["T1"]
    predicted = row_norm_ratio(m["config"]["train"]["batch_size"])
    ratio = interval([g["ratio"] for g in per])
    large = interval([g["large_fraction"] for g in per])
    g = m["groups"]["T1"]
    return {
        "claim": "ΔV's neuron rows split into a Θ(m^−1/2) group and a near-zero group",
        "source": "Corollary 2",
        "criterion": f"per seed, 2-means on log ‖u_i‖ of Ψ*_T1: median ratio small/large interval ≤ "
        f"√(log B / B) = {predicted:.2f}, and the large group's share interval within [0.1, 0.9]",
        "measured": f"ratio {show(ratio)}, large share {show(large)} over {ratio['n']} seeds; pooled "
        f"√m · median ‖u_i‖: large {g['median_large'] * math.sqrt(m['width']):.2f}, "
        f"small {g['median_small'] * math.sqrt(m['width']):.2f}",
        "verdict": all_hold([judge(ratio, predicted, at_least=False), within(large, 0.1, 0.9)]),
    }


def _reference_keep(keeps: list[float]) -> float:
    above = [k for k in keeps if k >= 0.5 - 1e-9]
    return min(above) if above else max(keeps)


def _rows_keep_guarantees(m: dict) -> dict[str, Any]:
    k_ref = _reference_keep(m["keep"])
    v, measured = kept(m["full"], m["results"]["rows"][str(k_ref)], m["edits"])
    return {
        "claim": "Keeping only the large rows of ΔV keeps the guarantees of Theorems 1–3",
        "source": "Corollary 2",
        "criterion": f"keeping the largest {k_ref:g} of the rows of each readout sign (theory.md "
        "§8.1; the smallest listed fraction ≥ 0.5): every edit that holds with full vectors still "
        f"holds; an edit holds when its slack's interval is ≤ 0 ({_budget_text(m)})",
        "measured": measured,
        "verdict": v,
    }


def pruning_claims(m: dict) -> list[dict[str, Any]]:
    """ΔV's rows split in two groups; the large rows keep every edit. (Row against entry-wise
    magnitude pruning is a comparison the paper does not state: the report shows it, unjudged.)"""
    rows = [_row_groups(m), _rows_keep_guarantees(m)]
    return [_scoped(m, r) for r in rows]
