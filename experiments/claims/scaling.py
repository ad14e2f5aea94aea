"""Claims of ``scaling``: the finite-size predictions of ``experiments.theory.scaling``, each as a
slope or range per seed with a t interval over seeds (``experiments.claims``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import all_hold, claim, interval, judge, show, within
from experiments.theory.scaling import (
    FLAT,
    LARGE_FRACTION_DRIFT,
    PAIRED_RESIDUAL_MAX,
    RESIDUAL_SLOPE,
    loglog_slope,
    per_doubling,
)


def _points(results: dict, sweep: str, **knobs: Any) -> list[dict]:
    return [
        p for p in results["sweeps"][sweep] if all(p["knobs"].get(k) == v for k, v in knobs.items())
    ]


def _residual(results: dict) -> list[dict[str, Any]]:
    pos = _points(results, "residual", irrelevant_signs="positive")
    paired = _points(results, "residual", irrelevant_signs="paired")
    M = [p["knobs"]["d"] - 2 for p in pos]
    n = len(results["seeds"])
    slopes = interval([loglog_slope(M, [p["rank1_residual_dV"][j] for p in pos]) for j in range(n)])
    worst = interval([max(p["rank1_residual_dV"][j] for p in paired) for j in range(n)])
    lo, hi = RESIDUAL_SLOPE
    return [
        claim(
            "ΔV's second direction is a finite-M effect: its rank-1 residual falls as ~M^(−1/2)",
            "theory.md §5.6 (finite size)",
            f"per seed, log-log slope of ΔV's rank-1 residual against M = d − 2 over d ∈ "
            f"{[p['knobs']['d'] for p in pos]}: interval within [{lo}, {hi}]",
            f"slope {show(slopes)}; residual "
            + ", ".join(
                f"M={m}: {np.mean(p['rank1_residual_dV']):.3f}" for m, p in zip(M, pos, strict=True)
            ),
            within(slopes, lo, hi),
            scope="in",
        ),
        claim(
            "With ±-paired (zero-mean) irrelevant tokens ΔV is rank 1",
            "theory.md §5.6 (finite size)",
            f"per seed, the largest rank-1 residual of ΔV over d: interval ≤ {PAIRED_RESIDUAL_MAX}",
            f"largest residual {show(worst)}; "
            + ", ".join(
                f"d={p['knobs']['d']}: {np.mean(p['rank1_residual_dV']):.3f}" for p in paired
            ),
            judge(worst, PAIRED_RESIDUAL_MAX, at_least=False),
            scope="in",
        ),
    ]


def _rows(results: dict) -> dict[str, Any]:
    n = len(results["seeds"])
    parts, text = [], []
    for v0 in results["config"]["experiment"]["v0_stds"]:
        pts = _points(results, "rows", v0_std=v0)
        drift = interval([np.ptp([p["large_fraction"][j] for p in pts]) for j in range(n)])
        parts.append(judge(drift, LARGE_FRACTION_DRIFT, at_least=False))
        text.append(
            f"V0 {v0:g}: large fraction "
            + "/".join(f"{np.mean(p['large_fraction']):.2f}" for p in pts)
            + f" over m = {[p['knobs']['width'] for p in pts]}, drift {show(drift, '.2f')}"
        )
    return claim(
        "|L| = Θ(m): the large-row fraction of ΔV does not drift with the width (Corollary 2)",
        "Corollary 2 (finite size)",
        f"per seed and V0 scale, max − min over m of the large-row fraction: interval ≤ "
        f"{LARGE_FRACTION_DRIFT} at every V0",
        "; ".join(text),
        all_hold(parts),
        scope="in",
    )


def _beta(results: dict) -> dict[str, Any]:
    n = len(results["seeds"])
    parts, text = [], []
    for knob in ("width", "batch_size"):
        pts = [p for p in results["sweeps"]["beta"] if knob in p["knobs"]]
        x = [p["knobs"][knob] for p in pts]
        slope = interval([per_doubling(x, [p["beta_hat"][j] for p in pts]) for j in range(n)])
        parts.append(within(slope, -FLAT, FLAT))
        text.append(
            f"{knob} {x}: β̂ "
            + "/".join(f"{np.mean(p['beta_hat']):.3f}" for p in pts)
            + f", change per doubling {show(slope)}"
        )
    return claim(
        "β does not grow with the width m or the batch size B",
        "Theorems 1–2 (β = poly(ηδ*) + Θ(ε√M))",
        f"per seed, least-squares change of β̂ per doubling of m and of B: interval within ±{FLAT}",
        "; ".join(text),
        all_hold(parts),
        scope="in",
    )


def claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The residual's M scaling, its paired-token control, the row split's m drift and β̂'s flatness."""
    return [*_residual(results), _rows(results), _beta(results)]
