"""Coloured-digits figures: the paper's Figure 1 analogue (with the paper's values read from its figure
as hollow markers), the Figure 2 analogue (T' accuracy over (λ1, λ2) with Theorem 3's wedge) and the
compression curves (accuracy against rank and kept fraction)."""

from __future__ import annotations

import numpy as np

from experiments.theory import theorem3
from plots.style import THEORY_COLOR, apply_style, plt, task_color


def pair_figure(m: dict):
    from experiments.paper import CDIGITS_FIGURE1 as PAPER_FIGURE1
    from experiments.paper import CDIGITS_FIGURE1_LAMBDAS as PAPER_FIGURE1_LAMBDAS

    apply_style()
    order = {"irrelevant": 0, "aligned": 1, "contradictory": 2}
    pairs = sorted(m["pairs"], key=lambda p: order.get(p.split()[0], 9))
    lams = np.asarray(m["lambdas"])
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), squeeze=False)
    for ax, (letter, pair) in zip(axes[0], zip("ABCDEFG", pairs, strict=False), strict=False):
        p = m["pairs"][pair]
        for name, marker in (("T1", "o"), ("T2", "D")):
            mean, std = 100 * np.asarray(p[name]["acc_mean"]), 100 * np.asarray(p[name]["acc_std"])
            ax.plot(
                lams,
                mean,
                marker=marker,
                ms=3,
                lw=1.2,
                color=task_color(name),
                label=f"Ψ on {name}",
            )
            ax.fill_between(lams, mean - std, mean + std, color=task_color(name), alpha=0.2, lw=0)
        paper = PAPER_FIGURE1.get(pair.split()[0])
        if paper:
            for vals, name, marker in ((paper[0], "T1", "o"), (paper[1], "T2", "D")):
                ax.plot(
                    PAPER_FIGURE1_LAMBDAS[: len(vals)],
                    vals,
                    marker,
                    mfc="none",
                    color=task_color(name),
                    ms=5,
                    alpha=0.6,
                    label=f"paper, {name}",
                )
        ax.axhline(50, color="0.6", lw=0.8, ls=":")
        ax.axvline(0, color="0.6", lw=0.8)
        a = p["alpha_hat"][m["estimator_output"]]["mean"]
        ax.set_title(f"({letter}) {pair}: α̂ = {a:.2f} (paper {p['paper_alpha']})")
        r1, r2 = p["rates"]["T1"], p["rates"]["T2"]
        ax.set_xlabel(f"λ   [T1 (r_o, r_e) = ({r1[0]:g}, {r1[1]:g}), T2 = ({r2[0]:g}, {r2[1]:g})]")
        ax.set_ylim(-2, 102)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "Coloured digits, small ViT: Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 (mean ± std over seeds; hollow: paper's Figure 1)",
        y=1.03,
    )
    fig.tight_layout()
    return fig


def ood_figure(m: dict):
    apply_style()
    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    acc = 100 * np.asarray(m["acc_mean"])
    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    im = ax.pcolormesh(l1, l2, acc.T, cmap="RdYlBu_r", vmin=0, vmax=100, shading="nearest")
    fig.colorbar(im, ax=ax, label="T' test accuracy (%)")
    reg = m["region"]
    g = m["gamma_hat_values"]
    value, attention = theorem3.margins(l1, l2, g)
    shp = reg["shape"]
    ax.contour(
        l1,
        l2,
        value.T,
        levels=[shp["threshold"]],
        colors=THEORY_COLOR,
        linestyles="-",
        linewidths=1.4,
    )
    ax.contour(
        l1,
        l2,
        attention.T,
        levels=[shp["threshold"]],
        colors=THEORY_COLOR,
        linestyles="--",
        linewidths=1.4,
    )
    mask = theorem3.region(l1, l2, g, shp["threshold"], shp["box"])
    if mask.any():
        ax.contourf(l1, l2, mask.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"])
    meas = np.asarray(m["measured_region"], dtype=float)
    if meas.any():
        ax.contour(l1, l2, meas.T, levels=[0.5], colors="white", linewidths=1.5)
    b = m["best"]
    ax.plot(1.0, 0.0, "o", color="black", ms=6, label="Ψ*_T1 (1, 0)")
    ax.plot(
        b["lambda1"], b["lambda2"], "x", color="#2ca02c", ms=9, mew=2.5, label="best (validation)"
    )
    ax.set_xlabel("λ1")
    ax.set_ylabel("λ2")
    ax.grid(False)
    ax.legend(loc="lower left", fontsize=7, framealpha=0.85)
    ax.set_title(
        f"T' accuracy; green: wedge with normals γ̂, γ̂² (t = {shp['threshold']:.2f}, IoU {shp['iou']:.2f}); "
        f"white: ≥ {100 * m['high_accuracy']:.0f}%",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def compress_figure(m: dict):
    apply_style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, xlabel, xs in (
        (axes[0], "low_rank", "rank r of every matrix (min(r, its rank))", m["ranks"]),
        (axes[1], "magnitude", "kept fraction of entries (magnitude pruning)", m["keep"]),
    ):
        for e, res in m[key].items():
            full = m["full"][e]["score"]
            line = ax.plot(xs, [100 * r["score"] for r in res], "o-", ms=3, label=e)[0]
            ax.axhline(100 * full, color=line.get_color(), ls=":", lw=0.8)
        ax.set_xscale("log", base=2 if key == "low_rank" else 10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("edit score (%)")
        ax.set_ylim(-2, 102)
    axes[0].legend(fontsize=7)
    axes[0].set_title("Corollary 1: SVD-truncated ViT task vectors (dotted: full)")
    axes[1].set_title("Corollary 2: magnitude-pruned ViT task vectors")
    fig.suptitle(
        "Coloured digits: edit scores (addition: worse task accuracy; negation: T1 acc − T2 acc)",
        y=1.02,
    )
    fig.tight_layout()
    return fig
