"""Coloured-digits compression curves: edit scores against the rank of SVD-truncated and the kept
fraction of magnitude-pruned ViT task vectors (Corollaries 1–2)."""

from __future__ import annotations

from plots.style import apply_style, plt


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


def figures(m: dict) -> dict:
    return {"cdigits_compress": compress_figure(m)}
