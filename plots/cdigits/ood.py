"""The paper's Figure 2 analogue on coloured digits: T' accuracy over (λ1, λ2) with Theorem 3's
wedge (its margins and region are passed in) and the measured high-accuracy region."""

from __future__ import annotations

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt


def ood_figure(m: dict, value: np.ndarray, attention: np.ndarray, wedge: np.ndarray):
    """``m``: cdigits_ood's results; ``value``/``attention``: Theorem 3's margins Σ λ_i γ̂_i and
    Σ λ_i γ̂_i² on the grid (rows λ1); ``wedge``: its predicted region at the (t, box) fitted on
    the held-out seeds."""
    apply_style()
    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    acc = 100 * np.asarray(m["acc_mean"])
    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    im = ax.pcolormesh(l1, l2, acc.T, cmap="RdYlBu_r", vmin=0, vmax=100, shading="nearest")
    fig.colorbar(im, ax=ax, label="T' test accuracy (%)")
    reg = m["region"]
    shp = reg["shape"]
    for margin, style in ((value, "-"), (attention, "--")):
        ax.contour(
            l1,
            l2,
            margin.T,
            levels=[shp["threshold"]],
            colors=THEORY_COLOR,
            linestyles=style,
            linewidths=1.4,
        )
    if wedge.any():
        ax.contourf(l1, l2, wedge.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"])
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
        f"T' accuracy; green: wedge with normals γ̂, γ̂² fitted on held-out seeds (t = "
        f"{shp['threshold']:.2f}, box {shp['box']:.1f}); white: ≥ {100 * m['high_accuracy']:.0f}% here",
        fontsize=8,
    )
    fig.tight_layout()
    return fig
