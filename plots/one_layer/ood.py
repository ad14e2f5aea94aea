"""Out-of-domain figures: the paper's Figure 2 analogue, the κ sweep and the γ map.

Figure 2 analogue (λ1 horizontal, λ2 vertical, as in the paper): T' test accuracy and mean hinge of
Ψ0 + λ1 ΔΨ_T1 + λ2 ΔΨ_T2 (means over seeds). Black dot: Ψ*_T1 = (1, 0); green cross: the best point
chosen on validation. Theorem 3's region: green lines Σλγ = t and Σλγ² = t with the fitted common
threshold t, hatched where both hold inside the fitted box |λ_i| ≤ b; grey dashed: the literal
region's edge (1 + c with β = β̂). White contour on the hinge panel: the measured region {hinge ≤ ε}.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from plots.style import THEORY_COLOR, apply_style, plt


def _region_overlay(ax, m: dict, l1: np.ndarray, l2: np.ndarray, overlay: dict) -> None:
    """``overlay``: Theorem 3's margins and regions on this grid ("value", "attention", "shape",
    "literal" or None), computed by the caller from the theory."""
    shp = m["region"]["shape"]
    kw = {"colors": THEORY_COLOR, "linewidths": 1.4}
    ax.contour(l1, l2, overlay["value"].T, levels=[shp["threshold"]], linestyles="-", **kw)
    ax.contour(l1, l2, overlay["attention"].T, levels=[shp["threshold"]], linestyles="--", **kw)
    mask = overlay["shape"]
    if mask.any():
        ax.contourf(l1, l2, mask.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"])
    lmask = overlay["literal"]
    if lmask is not None and lmask.any() and not lmask.all():
        ax.contour(
            l1,
            l2,
            lmask.T.astype(float),
            levels=[0.5],
            colors="0.35",
            linestyles=":",
            linewidths=1.2,
        )


def _markers(ax, m: dict) -> None:
    b = m["best"]
    ax.plot(1.0, 0.0, "o", color="black", ms=6, label="Ψ*_T1 (1, 0)")
    ax.plot(
        b["lambda1"], b["lambda2"], "x", color="#2ca02c", ms=9, mew=2.5, label="best (validation)"
    )


def _heat_maps(fig, axes, m: dict, overlay: dict) -> None:
    """(A) T' accuracy and (B) hinge over the (λ1, λ2) grid, with Theorem 3's regions."""
    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    acc = np.asarray(m["acc_mean"]) * 100
    hinge = np.asarray(m["hinge_mean"])
    eps = m["config"]["eval"]["eps"]
    ax = axes[0]
    im = ax.pcolormesh(l1, l2, acc.T, cmap="RdYlBu_r", vmin=0, vmax=100, shading="nearest")
    fig.colorbar(im, ax=ax, label="T' test accuracy (%)")
    _region_overlay(ax, m, l1, l2, overlay)
    _markers(ax, m)
    ax.set_title(
        f"(A) T' accuracy, γ = ({m['gamma'][0]:.2f}, {m['gamma'][1]:.2f}), κ = {m['kappa']:.2f}"
    )
    ax = axes[1]
    floor = max(1e-3, float(hinge[hinge > 0].min()) if (hinge > 0).any() else 1e-3)
    norm = LogNorm(floor, max(hinge.max(), 1.0))
    im = ax.pcolormesh(
        l1, l2, np.maximum(hinge, floor).T, cmap="viridis_r", norm=norm, shading="nearest"
    )
    fig.colorbar(im, ax=ax, label="T' mean hinge loss (log)")
    if (hinge <= eps).any():
        ax.contour(
            l1, l2, (hinge <= eps).T.astype(float), levels=[0.5], colors="white", linewidths=1.5
        )
    _region_overlay(ax, m, l1, l2, overlay)
    _markers(ax, m)
    reg = m["region"]
    ax.set_title(
        f"(B) hinge; white: hinge ≤ {eps}; green: Thm 3 shape (IoU {reg['shape']['iou']:.2f})"
    )
    for ax in axes[:2]:
        ax.set_xlabel("λ1 (coefficient of ΔΨ_T1)")
        ax.set_ylabel("λ2 (coefficient of ΔΨ_T2)")
        ax.grid(False)
    axes[0].legend(loc="lower left", framealpha=0.85)


def _kappa_panel(ax, sweep: list[dict], eps: float) -> None:
    """(C) best combined and best single-vector accuracy (left axis) and hinge (right) against κ."""
    ks = [r["kappa"] for r in sweep]
    best_acc = [100 * r["best"]["acc"]["mean"] for r in sweep]
    best_h = [r["best"]["hinge"]["mean"] for r in sweep]
    single_acc = [100 * r["best_single"]["acc"]["mean"] for r in sweep if "best_single" in r]
    ax.plot(ks, best_acc, "o-", color="#1f77b4", label="best (λ1, λ2): accuracy")
    if len(single_acc) == len(ks):
        ax.plot(ks, single_acc, "s--", color="#7f7f7f", label="best single vector: accuracy")
    ax.set_ylim(0, 102)
    ax.set_xlabel("κ (weight of μ_T' outside span(μ1, μ2))")
    ax.set_ylabel("T' test accuracy (%)")
    ax2 = ax.twinx()
    ax2.plot(ks, best_h, "^:", color="#d62728", label="best (λ1, λ2): hinge")
    if all("best_single" in r for r in sweep):
        single_h = [r["best_single"]["hinge"]["mean"] for r in sweep]
        ax2.plot(ks, single_h, "v:", color="#ff9896", label="best single vector: hinge")
    ax2.axhline(eps, color="#d62728", lw=0.8, alpha=0.5)
    ax2.set_ylabel("T' mean hinge loss", color="#d62728")
    ax2.set_ylim(0, max(1.2, max(best_h) * 1.05))
    ax2.grid(False)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center left")
    ax.set_title("(C) κ sweep: γ(κ) = √(1−κ²) γ/‖γ‖")


def ood_figure(m: dict, overlay: dict):
    """The Figure 2 analogue; ``overlay`` as in ``_region_overlay``."""
    apply_style()
    sweep = m.get("kappa_sweep") or []
    ncols = 3 if sweep else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.6 * ncols, 4.2))
    _heat_maps(fig, axes, m, overlay)
    if sweep:
        _kappa_panel(axes[2], sweep, m["config"]["eval"]["eps"])
    fig.suptitle(f"Theorem 3, {m['label']}: Ψ0 + λ1 ΔΨ_T1 + λ2 ΔΨ_T2 on T'", y=1.02)
    fig.tight_layout()
    return fig


def _disk_panels(fig, axes, m: dict, g, best, single, feas, norm, floor) -> None:
    """The best combined and best single-vector hinge at every γ of the map."""
    step = m["config"]["experiment"]["gamma_map_step"]
    axis = np.round(np.arange(-1.0, 1.0 + 1e-9, step), 10)
    index = {round(float(v), 10): i for i, v in enumerate(axis)}
    for ax, vals, title in (
        (axes[0], best, "best (λ1, λ2) hinge"),
        (axes[1], single, "best single scaled vector hinge"),
    ):
        grid = np.full((len(axis), len(axis)), np.nan)
        for (g1, g2), v in zip(g, vals, strict=True):
            grid[index[round(g1, 10)], index[round(g2, 10)]] = max(v, floor)
        im = ax.pcolormesh(axis, axis, grid.T, cmap="viridis_r", norm=norm, shading="nearest")
        ax.plot(
            g[~feas, 0], g[~feas, 1], "x", color="black", ms=5, label="Thm 3 infeasible (c → 0)"
        )
        t = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(t), np.sin(t), color="0.5", lw=0.8)
        ax.set_aspect("equal")
        ax.set_xlabel("γ1")
        ax.set_ylabel("γ2")
        ax.set_title(title)
        ax.grid(False)
        fig.colorbar(im, ax=ax, label="T' mean hinge (log)")
    axes[0].plot(*m["gamma"], "*", color="#d62728", ms=12, label="this preset's γ")
    axes[0].legend(loc="lower left", fontsize=7, framealpha=0.85)


def _versus_panel(ax, best, single, feas, floor: float, eps: float) -> None:
    """Best combined against best single-vector hinge, one point per γ."""
    ax.scatter(
        np.maximum(single[feas], floor),
        np.maximum(best[feas], floor),
        facecolors="none",
        edgecolors="#1f77b4",
        s=60,
        zorder=3,
        label=f"Thm 3 feasible ({int(feas.sum())} γ)",
    )
    ax.scatter(
        np.maximum(single[~feas], floor),
        np.maximum(best[~feas], floor),
        c="#d62728",
        marker="x",
        s=22,
        label=f"Thm 3 infeasible, c → 0 ({int((~feas).sum())} γ)",
    )
    both0 = int(((best <= floor) & (single <= floor)).sum())
    ax.annotate(
        f"{both0} γ solved by both (hinge ≤ {floor:g})",
        (floor, floor),
        xytext=(6, 8),
        textcoords="offset points",
        fontsize=7,
    )
    lo, hi = floor, max(1.5, single.max(), best.max())
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8)
    ax.axhline(eps, color=THEORY_COLOR, ls="--", lw=1, label=f"ε = {eps}")
    ax.axvline(eps, color=THEORY_COLOR, ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("best single-vector hinge")
    ax.set_ylabel("best combined hinge")
    ax.set_title("combining vs a single task vector (each point a γ)")
    ax.legend(loc="upper left", fontsize=7)


def gamma_map_figure(m: dict):
    apply_style()
    rows = m["gamma_map"]
    g = np.asarray([r["gamma"] for r in rows])
    best = np.asarray([r["best_hinge"] for r in rows])
    single = np.asarray([r["single_hinge"] for r in rows])
    feas = np.asarray([r["feasible"] for r in rows])
    floor = 1e-3
    norm = LogNorm(floor, max(1.0, best.max(), single.max()))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
    _disk_panels(fig, axes, m, g, best, single, feas, norm, floor)
    _versus_panel(axes[2], best, single, feas, floor, m["config"]["eval"]["eps"])
    fig.suptitle("γ map over the unit disk (κ = √(1 − γ1² − γ2²))", y=1.02)
    fig.tight_layout()
    return fig
