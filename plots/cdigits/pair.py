"""The paper's Figure 1 analogue on coloured digits: T1's and T2's accuracy along
Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 for each pair, with the paper's values read from its figure as hollow markers."""

from __future__ import annotations

import numpy as np

from plots.style import apply_style, plt, task_color


def pair_figure(m: dict, paper_curves: dict | None = None, paper_lambdas: list | None = None):
    """``m``: cdigits_pair's results; ``paper_curves``: {kind: (T1 accuracies, T2 accuracies)} read
    from the paper's Figure 1 at ``paper_lambdas`` (drawn hollow when given)."""
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
        paper = (paper_curves or {}).get(pair.split()[0])
        if paper:
            for vals, name, marker in ((paper[0], "T1", "o"), (paper[1], "T2", "D")):
                ax.plot(
                    paper_lambdas[: len(vals)],
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
