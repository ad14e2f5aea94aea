"""Language-model unlearning: Rouge-L and per-token loss of Ψ0′ + λ ΔΨ_A against λ, per book."""

from __future__ import annotations

import numpy as np

from plots.style import apply_style, plt

BOOK_COLORS = {"A": "#c0392b", "B": "#e67e22", "C": "#2c3e50"}
BOOK_NAMES = {
    "A": "A (forgotten, like HP1)",
    "B": "B (aligned, like HP2)",
    "C": "C (less aligned, like PP)",
}


def unlearning_figure(m: dict):
    apply_style()
    lams = np.asarray(m["lambdas"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, kind in zip(axes[:2], ("full", "lora"), strict=True):
        for b, rows in m["rouge"][kind].items():
            mean = np.asarray([r["mean"] for r in rows])
            std = np.asarray([r["std"] for r in rows])
            ax.plot(
                lams,
                mean,
                "o-",
                ms=3,
                color=BOOK_COLORS.get(b),
                label=f"{BOOK_NAMES.get(b, b)}: {-m['drop_percent'][kind][b]:+.0f}% at λ = {lams.min():g}",
            )
            ax.fill_between(lams, mean - std, mean + std, color=BOOK_COLORS.get(b), alpha=0.2, lw=0)
        ax.set_xlabel("λ (Ψ0′ + λ ΔΨ_A)")
        ax.set_ylabel("Rouge-L of greedy continuations")
        ax.set_title(
            f"{'full' if kind == 'full' else 'LoRA'} task vector (Table {'3' if kind == 'full' else '4'} analogue)"
        )
        ax.legend(fontsize=7)
        ax.invert_xaxis()
    ax = axes[2]
    for b, rows in m["loss"]["full"].items():
        ax.plot(
            lams,
            [r["mean"] for r in rows],
            "o-",
            ms=3,
            color=BOOK_COLORS.get(b),
            label=f"{b}, full",
        )
    for b, rows in m["loss"]["lora"].items():
        ax.plot(
            lams,
            [r["mean"] for r in rows],
            "s--",
            ms=3,
            color=BOOK_COLORS.get(b),
            alpha=0.6,
            label=f"{b}, LoRA",
        )
    ax.set_xlabel("λ")
    ax.set_ylabel("held-out per-token loss")
    ax.set_title("per-token loss")
    ax.invert_xaxis()
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle("Forgetting book A by negating its task vector (mean ± std over seeds)", y=1.03)
    fig.tight_layout()
    return fig
