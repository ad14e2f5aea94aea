"""Phase diagram over (α, λ): heat maps of T2's and T1's mean hinge loss with the theory on top.

The theory arrives as an argument (made by the theory module, at the measured constants):

* Theorem 1: multi-task learning for α ≥ 0 and λ ≥ 1 − α + β (green dashed line, β = β̂ measured);
* Theorem 2: unlearning for α ≤ 0 and −c/α² ≤ λ ≤ 0 (green hatched region, c = ĉ fitted, 1 if none).

White markers: the measured multi-task threshold λ*(α) (T2 hinge ≤ ε) with its fitted line; on the
T1 panel, the measured retention limit λ_min(α).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import SymLogNorm

from plots.style import THEORY_COLOR, apply_style, plt


def _theory(ax, theory: dict, lams: np.ndarray) -> None:
    """``theory``: "beta", "c", "addition" = (α ≥ 0, λ threshold), "negation_lower" = (α < 0, λ)."""
    a_pos, threshold = theory["addition"]
    ax.plot(
        threshold,
        a_pos,
        color=THEORY_COLOR,
        ls="--",
        lw=1.6,
        label=f"Thm 1: λ = 1 − α + β̂ (β̂ = {theory['beta']:.3f})",
    )
    a_neg, lower = theory["negation_lower"]
    ax.fill_betweenx(
        a_neg,
        np.maximum(lower, lams.min()),
        0.0,
        facecolor="none",
        edgecolor=THEORY_COLOR,
        hatch="///",
        lw=0.0,
        label=f"Thm 2: −ĉ/α² ≤ λ ≤ 0 (ĉ = {theory['c']:.2f})",
    )


def _points(ax, lams, alphas: np.ndarray, marker: str, face: str, edge: str, label: str) -> None:
    """One marker per α where the measured λ (None/NaN where not found) is finite."""
    lam = np.asarray(lams, dtype=float)
    ok = np.isfinite(lam)
    ax.plot(lam[ok], alphas[ok], marker, mfc=face, mec=edge, ms=4, label=label)


def _measured(ax, m: dict, name: str, a_pos: np.ndarray) -> None:
    """λ*(α) markers and their fitted line; on T1, the retention limit λ_min(α)."""
    alphas, an, eps = np.asarray(m["alphas"]), m["analysis"], m["config"]["eval"]["eps"]
    _points(
        ax, an["lambda_star"], alphas, "o", "white", "black", f"measured λ*(α): T2 hinge ≤ {eps}"
    )
    fit = an["lambda_star_fit"]
    if fit:
        ax.plot(
            fit["slope"] * a_pos + fit["intercept"],
            a_pos,
            color="white",
            lw=1.0,
            label=f"fit λ* = {fit['slope']:.2f} α + {fit['intercept']:.2f}",
        )
    if name == "T1":
        label = f"measured λ_min: T1 hinge ≤ {eps}"
        _points(ax, an["lambda_min_retained"], alphas, "s", "none", "white", label)


def phase_figure(m: dict, theory: dict):
    apply_style()
    alphas, lams = np.asarray(m["alphas"]), np.asarray(m["lambdas"])
    eps = m["config"]["eval"]["eps"]
    vmax = max(np.max(m["T1"]["hinge_mean"]), np.max(m["T2"]["hinge_mean"]), 1.0)
    norm = SymLogNorm(linthresh=eps, vmin=0.0, vmax=vmax)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4), sharey=True)
    for ax, name in zip(axes, ("T2", "T1"), strict=True):
        im = ax.pcolormesh(
            lams,
            alphas,
            np.asarray(m[name]["hinge_mean"]),
            norm=norm,
            cmap="viridis",
            shading="nearest",
        )
        _theory(ax, theory, lams)
        _measured(ax, m, name, theory["addition"][0])
        ax.set(
            xlabel="λ",
            title=f"mean hinge loss of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 on {name}",
            xlim=(lams.min(), lams.max()),
            ylim=(alphas.min() - 0.05, alphas.max() + 0.05),
        )
        fig.colorbar(im, ax=ax, label="hinge (symlog)")
    axes[0].set_ylabel("task correlation α")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=3,
        frameon=True,
        facecolor="#b0b0b0",
        bbox_to_anchor=(0.5, -0.04),
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
