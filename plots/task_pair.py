"""The paper's Figure 1 analogue: accuracy and hinge loss of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 against λ, one column
per task pair, mean ± std over seeds, with the theory drawn on the same axes:

* Theorem 1 (α ≥ 0): multi-task learning from λ = 1 − α (+β), a dashed green line;
* Theorem 2 (α ≤ 0): unlearning for λ ≤ 0, a green band;
* the success threshold ε on the hinge loss, a dotted line.
"""

from __future__ import annotations

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt, task_color


def task_pair_figure(all_metrics: list[dict]):
    apply_style()
    cols = len(all_metrics)
    fig, axes = plt.subplots(2, cols, figsize=(3.6 * cols, 5.2), squeeze=False, sharex="col")
    for j, m in enumerate(all_metrics):
        lams = np.asarray(m["lambdas"])
        alpha = m["alpha"]
        eps = m["config"]["eval"]["eps"]
        ax_a, ax_h = axes[0, j], axes[1, j]
        for name, marker in (("T1", "o"), ("T2", "D")):
            cv = m[name]
            for ax, key in ((ax_a, "acc"), (ax_h, "hinge")):
                mean, std = np.asarray(cv[f"{key}_mean"]), np.asarray(cv[f"{key}_std"])
                scale = 100.0 if key == "acc" else 1.0
                ax.plot(
                    lams,
                    scale * mean,
                    marker=marker,
                    ms=2.5,
                    lw=1.0,
                    color=task_color(name),
                    label=f"Ψ on {name}",
                )
                ax.fill_between(
                    lams,
                    scale * (mean - std),
                    scale * (mean + std),
                    color=task_color(name),
                    alpha=0.2,
                    lw=0,
                )
        for ax in (ax_a, ax_h):
            if alpha >= 0:
                ax.axvline(1 - alpha, color=THEORY_COLOR, ls="--", lw=1.0, label="Thm 1: λ = 1 − α")
            if alpha <= 0:
                ax.axvspan(
                    lams.min(),
                    0.0,
                    color=THEORY_COLOR,
                    alpha=0.08,
                    lw=0,
                    label="Thm 2: unlearn, λ ≤ 0",
                )
        ax_h.axhline(eps, color="grey", ls=":", lw=0.9, label=f"ε = {eps}")
        ax_a.axhline(50, color="grey", lw=0.5, alpha=0.5)
        ax_a.set(ylim=(-3, 103), title=f"{m['label']}  (α̂ = {m['alpha_hat']['mean']:.2f})")
        ax_h.set(xlabel="λ", yscale="symlog")
        ax_h.set_yscale("symlog", linthresh=1e-2)
        ax_h.set_ylim(bottom=0.0)
        if j == 0:
            ax_a.set_ylabel("test accuracy (%)")
            ax_h.set_ylabel("test hinge loss (symlog)")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    for j in range(1, cols):  # collect theory entries that only some panels have
        for h, lab in zip(*axes[1, j].get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(5, len(labels)),
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
