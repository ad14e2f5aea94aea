"""Figures of the compression experiments: low-rank (Corollary 1) and pruned (Corollary 2) task vectors.

Edits (colours): addition on irrelevant and aligned pairs (worse task's accuracy/hinge), negation on
irrelevant and contradictory pairs (T1, the kept task, solid; T2, the forgotten one, dotted), and the
out-of-domain best point (T'). Coefficients are chosen again for every transformed vector.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.edits import EDIT_LABELS, EDITS
from plots.style import THEORY_COLOR, apply_style, plt

EDIT_COLORS = {
    "add_irrelevant": "#1f77b4",
    "add_aligned": "#2ca02c",
    "negate_irrelevant": "#ff7f0e",
    "negate_contradictory": "#d62728",
    "ood": "#9467bd",
}


def _edit_panels(
    ax_acc, ax_h, x, results: dict, keys: list[str], eps: float, forget: float, ls="-", label=True
):
    for e in EDITS:
        col = EDIT_COLORS[e]
        acc = [100 * results[k][e]["acc"] for k in keys]
        h = [max(results[k][e]["hinge"], 1e-4) for k in keys]
        ax_acc.plot(
            x, acc, ls, marker="o", ms=3, color=col, label=EDIT_LABELS[e] if label else None
        )
        ax_h.plot(x, h, ls, marker="o", ms=3, color=col)
        if e.startswith("negate"):
            ax_acc.plot(x, [100 * results[k][e]["T2_acc"] for k in keys], ":", color=col)
            ax_h.plot(x, [max(results[k][e]["T2_hinge"], 1e-4) for k in keys], ":", color=col)
    ax_h.axhline(eps, color=THEORY_COLOR, ls="--", lw=1)
    ax_h.axhline(forget, color="0.5", ls="--", lw=0.8)
    ax_h.set_yscale("log")
    ax_acc.set_ylim(-2, 102)
    ax_acc.set_ylabel("accuracy (%)")
    ax_h.set_ylabel("mean hinge (log)")


def _successes(results: dict, keys: list[str], full: dict) -> list[int]:
    ok = [e for e in EDITS if full[e]["success"]]
    return [sum(results[k][e]["success"] for e in ok) for k in keys]


def low_rank_figure(m: dict):
    apply_style()
    eps, forget = m["config"]["eval"]["eps"], m["config"]["eval"]["forget_hinge"]
    ranks = m["ranks"]
    keys = [str(r) for r in ranks]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for ax, field, scale in (
        (axes[0, 0], "singular_values", lambda v: v / v[0]),
        (axes[0, 1], "relative_residual", lambda v: np.maximum(v, 1e-6)),
    ):
        for name, sp in m["spectra"].items():
            for k, ls in (("W", "-"), ("V", "--")):
                v = np.asarray(sp[k][field])
                lw, alpha = (2.0, 1.0) if name == "T1" else (0.8, 0.5)
                ax.plot(
                    np.arange(1, len(v) + 1),
                    scale(v),
                    ls,
                    lw=lw,
                    alpha=alpha,
                    label=f"Δ{k} of {name}" if name == "T1" else None,
                )
        ax.set_yscale("log")
        ax.legend()
    ax = axes[0, 0]
    ax.set_xlabel("index k")
    ax.set_ylabel("σ_k / σ_1")
    ax.set_title("(a) spectra (bold: Ψ*_T1; thin: the other task vectors)")
    ax = axes[0, 1]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rank r")
    ax.set_ylabel("‖Δ − Δ_r‖_F / ‖Δ‖_F")
    ax.set_title("(b) relative Frobenius residual")
    ax = axes[0, 2]
    n_ok = sum(m["full"][e]["success"] for e in EDITS)
    for mode, mk in (("W", "s--"), ("V", "^:"), ("both", "o-")):
        ax.plot(
            ranks, _successes(m["results"][mode], keys, m["full"]), mk, label=f"truncate {mode}"
        )
    ax.axhline(n_ok, color="0.4", lw=0.8, label="full task vectors")
    ax.set_xscale("log", base=2)
    ax.set_ylim(-0.2, len(EDITS) + 0.2)
    ax.set_xlabel("rank r")
    ax.set_ylabel("edits that still succeed")
    ax.set_title("(c) guarantees kept")
    ax.legend()
    _edit_panels(axes[1, 0], axes[1, 1], ranks, m["results"]["both"], keys, eps, forget)
    for mode, ls in (("W", "--"), ("V", ":")):
        for e in EDITS:
            h = [max(m["results"][mode][k][e]["hinge"], 1e-4) for k in keys]
            axes[1, 2].plot(ranks, h, ls, color=EDIT_COLORS[e], marker=".", ms=3)
    axes[1, 2].axhline(eps, color=THEORY_COLOR, ls="--", lw=1)
    axes[1, 2].set_yscale("log")
    axes[1, 2].set_ylabel("mean hinge (log)")
    axes[1, 2].set_title("(f) ΔW only (dashed), ΔV only (dotted)")
    axes[1, 0].set_title("(d) accuracy, ΔW and ΔV truncated (dotted: forgotten T2)")
    axes[1, 1].set_title(f"(e) hinge (green: ε = {eps}, grey: forget = {forget})")
    for ax in axes[1]:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rank r")
    axes[1, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        "Corollary 1: low-rank task vectors (means over seeds; λ re-chosen per rank)", y=1.0
    )
    fig.tight_layout()
    return fig


def pruning_figure(m: dict):
    apply_style()
    eps, forget = m["config"]["eval"]["eps"], m["config"]["eval"]["forget_hinge"]
    keeps = m["keep"]
    keys = [str(k) for k in keeps]
    root_m = math.sqrt(m["width"])
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    ax = axes[0, 0]
    x = np.asarray(m["row_norms"]["T1"]) * root_m
    g = m["groups"]["T1"]
    ax.hist(x, bins=40, color="#1f77b4", alpha=0.8)
    ax.axvline(
        g["threshold"] * root_m,
        color="#d62728",
        ls="--",
        label=f"2-means split: {100 * g['large_fraction']:.0f}% large",
    )
    ax.set_xlabel("√m · ‖u_i‖ (rows of ΔV, Ψ*_T1, all seeds)")
    ax.set_ylabel("rows")
    ax.set_title("(a) row norms of ΔV")
    ax.legend()
    ax = axes[0, 1]
    for name, v in m["row_norms"].items():
        vals = np.sort(np.asarray(v))[::-1] * root_m
        ax.plot(np.linspace(0, 1, len(vals)), vals, lw=2.0 if name == "T1" else 0.9, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("rank of the row (fraction of rows)")
    ax.set_ylabel("√m · ‖u_i‖ (log)")
    ax.set_title("(b) sorted row norms of every task vector")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    n_ok = sum(m["full"][e]["success"] for e in EDITS)
    for meth, mk in (("rows", "o-"), ("magnitude", "s--")):
        ax.plot(keeps, _successes(m["results"][meth], keys, m["full"]), mk, label=f"{meth} pruning")
    ax.axhline(n_ok, color="0.4", lw=0.8, label="full task vectors")
    ax.set_ylim(-0.2, len(EDITS) + 0.2)
    ax.set_xlabel("kept fraction of ΔV")
    ax.set_ylabel("edits that still succeed")
    ax.set_title("(c) guarantees kept")
    ax.legend()
    _edit_panels(axes[1, 0], axes[1, 1], keeps, m["results"]["rows"], keys, eps, forget)
    for e in EDITS:
        h = [max(m["results"]["magnitude"][k][e]["hinge"], 1e-4) for k in keys]
        axes[1, 2].plot(keeps, h, "--", color=EDIT_COLORS[e], marker=".", ms=3)
    axes[1, 2].axhline(eps, color=THEORY_COLOR, ls="--", lw=1)
    axes[1, 2].set_yscale("log")
    axes[1, 2].set_ylabel("mean hinge (log)")
    axes[1, 2].set_title("(f) hinge, entry-wise magnitude pruning")
    axes[1, 0].set_title("(d) accuracy, row pruning (dotted: forgotten T2)")
    axes[1, 1].set_title(f"(e) hinge, row pruning (green: ε = {eps})")
    for ax in axes[1]:
        ax.set_xscale("log")
        ax.set_xlabel("kept fraction of ΔV")
    axes[1, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        "Corollary 2: pruned task vectors (means over seeds; λ re-chosen per fraction)", y=1.0
    )
    fig.tight_layout()
    return fig
