"""The paper's Figure 1 analogue: accuracy and hinge loss of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 against λ, one column
per task pair, mean ± std over seeds, with the theory drawn on the same axes (from each run's
``prediction``, made by the theory module):

* Theorem 1 (α ≥ 0): multi-task learning from λ = 1 − α (+β), a dashed green line;
* Theorem 2 (α ≤ 0): unlearning for λ ≤ 0, a green band;
* the success threshold ε on the hinge loss, a dotted line.
"""

from __future__ import annotations

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt, task_color


def _curves(ax_a, ax_h, m: dict, lams: np.ndarray) -> None:
    """Mean ± std of T1's and T2's accuracy (%) and hinge loss against λ."""
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


def _theory(axes, prediction: dict, lams: np.ndarray) -> None:
    """Theorem 1's threshold (a line) and Theorem 2's unlearning range (a band) where they apply."""
    for ax in axes:
        if prediction["addition_from"] is not None:
            ax.axvline(
                prediction["addition_from"],
                color=THEORY_COLOR,
                ls="--",
                lw=1.0,
                label="Thm 1: λ = 1 − α",
            )
        if prediction["negation_up_to"] is not None:
            ax.axvspan(
                lams.min(),
                prediction["negation_up_to"],
                color=THEORY_COLOR,
                alpha=0.08,
                lw=0,
                label="Thm 2: unlearn, λ ≤ 0",
            )


def _legend(fig, axes) -> None:
    handles, labels = axes[1, 0].get_legend_handles_labels()
    for j in range(1, axes.shape[1]):  # collect theory entries that only some panels have
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


def task_pair_figure(all_metrics: list[dict]):
    apply_style()
    cols = len(all_metrics)
    fig, axes = plt.subplots(2, cols, figsize=(3.6 * cols, 5.2), squeeze=False, sharex="col")
    for j, m in enumerate(all_metrics):
        lams = np.asarray(m["lambdas"])
        eps = m["config"]["eval"]["eps"]
        ax_a, ax_h = axes[0, j], axes[1, j]
        _curves(ax_a, ax_h, m, lams)
        _theory((ax_a, ax_h), m["prediction"], lams)
        ax_h.axhline(eps, color="grey", ls=":", lw=0.9, label=f"ε = {eps}")
        ax_a.axhline(50, color="grey", lw=0.5, alpha=0.5)
        ax_a.set(ylim=(-3, 103), title=f"{m['label']}  (α̂ = {m['alpha_hat']['mean']:.2f})")
        ax_h.set(xlabel="λ", yscale="symlog")
        ax_h.set_yscale("symlog", linthresh=1e-2)
        ax_h.set_ylim(bottom=0.0)
        if j == 0:
            ax_a.set_ylabel("test accuracy (%)")
            ax_h.set_ylabel("test hinge loss (symlog)")
    _legend(fig, axes)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def figures(metrics: dict) -> dict:
    """The harness's figures step for one run: {"task_pair": its one-column figure}."""
    return {"task_pair": task_pair_figure([metrics])}
