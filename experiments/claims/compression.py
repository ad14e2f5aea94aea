"""Claims of ``low_rank`` (Corollary 1) and ``pruning`` (Corollary 2): the guarantees of Theorems
1–3 kept by compressed task vectors (``experiments.theory.corollaries``), the rank-1 residual
(≤ ``RANK1_RESIDUAL_MAX``, the one constant ``foundation`` uses too) and ΔV's two groups of rows."""

from __future__ import annotations

import math
from typing import Any

from experiments.claims import claim, verdict
from experiments.theory.corollaries import (
    EDIT_LABELS,
    RANK1_RESIDUAL_MAX,
    kept_guarantees,
    row_norm_ratio,
    smallest_keeping_all,
)


def _lost(labels: dict, lost: list[str]) -> str:
    return f" (lost: {', '.join(labels[e] for e in lost)})" if lost else ""


def low_rank_claims(m: dict) -> list[dict[str, Any]]:
    """Rank 1 keeps every edit; the task vectors are approximately rank 1."""
    full, edits, labels = m["full"], m["edits"], EDIT_LABELS
    rows = []
    r1 = m["results"]["both"].get("1")
    if r1 is not None:
        ok_full, kept = kept_guarantees(full, r1, edits)
        lost = [e for e in ok_full if e not in kept]
        detail = "; ".join(
            f"{labels[e]} hinge {full[e]['hinge']:.3f} → {r1[e]['hinge']:.3f}" for e in edits
        )
        rows.append(
            claim(
                "Rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3",
                "Corollary 1",
                "every edit that succeeds with full task vectors also succeeds with rank-1 ΔW and ΔV (λ re-chosen)",
                f"{len(kept)}/{len(ok_full)} kept" + _lost(labels, lost) + f"; {detail}",
                verdict(not lost, partial=bool(kept)),
            )
        )
    sp = m["spectra"]["T1"]
    rw, rv = sp["W"]["relative_residual"][0], sp["V"]["relative_residual"][0]
    rows.append(
        claim(
            "Task vectors are approximately rank 1 (‖Δ − Δ_LR‖_F small)",
            "Corollary 1",
            f"rank-1 relative residual ‖Δ − Δ_1‖_F / ‖Δ‖_F ≤ {RANK1_RESIDUAL_MAX} for ΔW and ΔV of Ψ*_T1",
            f"ΔW {rw:.3f}, ΔV {rv:.3f}; rank 2: ΔW {sp['W']['relative_residual'][1]:.3f}, "
            f"ΔV {sp['V']['relative_residual'][1]:.3f}",
            verdict(max(rw, rv) <= RANK1_RESIDUAL_MAX, partial=min(rw, rv) <= RANK1_RESIDUAL_MAX),
        )
    )
    return rows


def _row_groups(m: dict) -> dict[str, Any]:
    g = m["groups"]["T1"]
    predicted = row_norm_ratio(m["config"]["train"]["batch_size"])
    split = 0.1 <= g["large_fraction"] <= 0.9
    return claim(
        "ΔV's neuron rows split into a Θ(m^−1/2) group and a near-zero group",
        "Corollary 2",
        f"2-means on log ‖u_i‖ (Ψ*_T1, all seeds): median ratio small/large ≤ √(log B / B) = {predicted:.2f} "
        "and a large group holding 10–90% of the rows",
        f"ratio {g['ratio']:.2f}, large group {100 * g['large_fraction']:.0f}% of rows; "
        f"√m · median ‖u_i‖: large {g['median_large'] * math.sqrt(m['width']):.2f}, "
        f"small {g['median_small'] * math.sqrt(m['width']):.2f}",
        verdict(g["ratio"] <= predicted and split, partial=split and g["ratio"] <= 2 * predicted),
    )


def _rows_keep_guarantees(m: dict) -> dict[str, Any]:
    full, keeps, edits, labels = m["full"], m["keep"], m["edits"], EDIT_LABELS
    ok_full = kept_guarantees(full, full, edits)[0]
    s_rows, s_mag = (
        smallest_keeping_all(full, m["results"][x], keeps, edits) for x in ("rows", "magnitude")
    )
    above = [k for k in keeps if k >= 0.5 - 1e-9]
    k_ref = min(above) if above else max(keeps)
    at = m["results"]["rows"][str(k_ref)]
    lost = [e for e in ok_full if not at[e]["success"]]
    return claim(
        "Keeping only the large rows of ΔV keeps the guarantees of Theorems 1–3",
        "Corollary 2",
        "keeping the largest 50% of the rows (theory.md §8.1; the smallest listed fraction ≥ 0.5): "
        "every edit that succeeds with full vectors still succeeds (λ re-chosen)",
        f"kept {k_ref:g}: {len(ok_full) - len(lost)}/{len(ok_full)} edits kept"
        + _lost(labels, lost)
        + f"; smallest kept fraction keeping every edit: rows {s_rows}, magnitude {s_mag}",
        verdict(not lost, partial=len(lost) < len(ok_full)),
    )


def _rows_versus_magnitude(m: dict) -> dict[str, Any]:
    res, keeps = m["results"], m["keep"]
    ok_full = kept_guarantees(m["full"], m["full"], m["edits"])[0]
    cases = [(k, e) for k in keeps for e in ok_full]
    worse = [
        (k, e)
        for k, e in cases
        if res["magnitude"][str(k)][e]["success"] and not res["rows"][str(k)][e]["success"]
    ]
    better = [
        (k, e)
        for k, e in cases
        if res["rows"][str(k)][e]["success"] and not res["magnitude"][str(k)][e]["success"]
    ]
    return claim(
        "Neuron (row) pruning is at least as good as entry-wise magnitude pruning at equal non-zeros",
        "Corollary 2 (comparison)",
        "over every kept fraction and edit: no case where magnitude pruning succeeds and row pruning fails",
        f"rows only: {len(better)} (fraction, edit) cases; magnitude only: {len(worse)}",
        verdict(not worse, partial=len(better) >= len(worse)),
    )


def pruning_claims(m: dict) -> list[dict[str, Any]]:
    """ΔV's rows split in two groups; the large rows keep every edit; rows beat magnitude."""
    return [_row_groups(m), _rows_keep_guarantees(m), _rows_versus_magnitude(m)]
