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


def _rouge_panel(ax, m: dict, kind: str, lams: np.ndarray) -> None:
    """Rouge-L (mean ± std over seeds) of one vector kind against λ, one curve per book."""
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


def _loss_panel(ax, m: dict, lams: np.ndarray) -> None:
    """Held-out per-token loss against λ, full (solid) and LoRA (dashed) vectors, per book."""
    for kind, style, alpha, name in (("full", "o-", 1.0, "full"), ("lora", "s--", 0.6, "LoRA")):
        for b, rows in m["loss"][kind].items():
            ax.plot(
                lams,
                [r["mean"] for r in rows],
                style,
                ms=3,
                color=BOOK_COLORS.get(b),
                alpha=alpha,
                label=f"{b}, {name}",
            )
    ax.set_xlabel("λ")
    ax.set_ylabel("held-out per-token loss")
    ax.set_title("per-token loss")
    ax.invert_xaxis()
    ax.legend(fontsize=7, ncol=2)


def unlearning_figure(m: dict):
    """Rouge-L of the full and LoRA vectors (Tables 3-4 analogues) and the held-out loss."""
    apply_style()
    lams = np.asarray(m["lambdas"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, kind in zip(axes[:2], ("full", "lora"), strict=True):
        _rouge_panel(ax, m, kind, lams)
    _loss_panel(axes[2], m, lams)
    fig.suptitle("Forgetting book A by negating its task vector (mean ± std over seeds)", y=1.03)
    fig.tight_layout()
    return fig


def unlearning_figures(results: dict) -> dict:
    """The figures of ``lm_unlearning``: ``{stem: Figure}``."""
    return {"lm_unlearning": unlearning_figure(results)}
