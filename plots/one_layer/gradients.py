"""Task vectors as gradients: (a) multi-epoch error against the second-order prediction and the
smoothness bound, (b) per-epoch update-norm shares (SGD vs Adam), (c) epoch × epoch cosines of SGD
updates, (d) normalised accuracy of one-epoch versus converged merges.

Everything drawn comes from the results (the predicted error and bound are rows of
``multi_epoch``) or from the arguments (the predicted slope)."""

from __future__ import annotations

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt


def per_k(table: list[dict]):
    """(k, colour, η values, rows sorted by η) for each epoch count k of a ``multi_epoch`` table."""
    ks = sorted({r["k"] for r in table})
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(ks)))
    for k, col in zip(ks, colors, strict=True):
        rows = sorted((r for r in table if r["k"] == k), key=lambda r: r["lr"])
        yield k, col, [r["lr"] for r in rows], rows


def measured_and_predicted(ax, k: int, col, lr: list, rows: list[dict]) -> None:
    """The measured multi-epoch error of k epochs and its second-order prediction."""
    ax.plot(lr, [r["error"] for r in rows], "o-", color=col, ms=3, label=f"measured, k = {k}")
    ax.plot(lr, [r["predicted"] for r in rows], "--", color=col, lw=0.9)


def error_panel(ax, m: dict, predicted_slope: float) -> None:
    """(a) ‖τ_k + kη∇L(θ0)‖ against η per k, with the second-order prediction and the bound."""
    for k, col, lr, rows in per_k(m["multi_epoch"]):
        measured_and_predicted(ax, k, col, lr, rows)
        ax.plot(lr, [r["bound"] for r in rows], ":", color=col, lw=0.9)
    ax.plot([], [], "k--", lw=0.9, label="η² k(k−1)/2 ‖H∇L‖")
    ax.plot([], [], "k:", lw=0.9, label="bound η² β̂ G k(k−1)/2")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="η",
        ylabel="‖τ_k + kη∇L(θ0)‖",
        title=f"(a) multi-epoch error (slope {m['multi_epoch_loglog_slope']:.2f}, "
        f"theory {predicted_slope:g})",
    )
    ax.legend(fontsize=7)


def share_panel(ax, m: dict) -> None:
    """(b) each epoch's share of the summed update norms, per optimiser and loss."""
    styles = {"sgd": ("o-", THEORY_COLOR), "adam": ("s--", "#9467bd")}
    for key, dom in m["dominance"].items():
        opt, loss = key.split("/")
        share = dom["norm_share"]
        ax.plot(
            np.arange(1, len(share) + 1),
            share,
            styles[opt][0],
            color=styles[opt][1],
            ms=3,
            alpha=1.0 if loss == "hinge" else 0.5,
            label=f"{opt.upper()}, {loss}",
        )
    ax.set(xlabel="epoch", ylabel="share of Σ‖update‖", title="(b) per-epoch update norm")
    ax.legend()


def cosine_image(ax, cm: np.ndarray):
    """An epoch × epoch cosine matrix on [−1, 1] (epochs numbered from 1 on both axes)."""
    n = cm.shape[0]
    return ax.imshow(
        cm, vmin=-1, vmax=1, cmap="RdBu_r", origin="lower", extent=(0.5, n + 0.5, 0.5, n + 0.5)
    )


def cosine_panel(fig, ax, m: dict) -> None:
    """(c) epoch × epoch cosines of the SGD updates (first loss of ``dominance_losses``)."""
    first_loss = m["config"]["experiment"]["dominance_losses"][0]
    im = cosine_image(ax, np.asarray(m["dominance"][f"sgd/{first_loss}"]["cos_matrix"]))
    fig.colorbar(im, ax=ax, label="cosine")
    ax.set(xlabel="epoch", ylabel="epoch", title=f"(c) cosines of SGD epoch updates ({first_loss})")


def merge_panel(ax, m: dict) -> None:
    """(d) normalised accuracy of the one-epoch and converged merges, per setting."""
    keys = [k for k in m["merging"] if k.endswith("/ one_epoch")]
    labels = [k.rsplit(" / ", 1)[0] for k in keys]
    x = np.arange(len(keys))
    for off, kind, col in ((-0.2, "one_epoch", THEORY_COLOR), (0.2, "converged", "#555555")):
        vals = [m["merging"][k.replace("one_epoch", kind)]["normalised_accuracy"] for k in keys]
        ax.bar(
            x + off,
            [v["mean"] for v in vals],
            0.4,
            yerr=[v["std"] for v in vals],
            color=col,
            label=kind.replace("_", "-"),
            capsize=2,
        )
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=7)
    ax.set(ylabel="merged acc / fine-tuned acc", title="(d) merging task vectors", ylim=(0, 1.1))
    ax.legend(loc="lower right")


def gradients_figure(m: dict, *, predicted_slope: float):
    """The four panels from a ``gradients`` results dict."""
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 7.0))
    (ax_e, ax_s), (ax_c, ax_m) = axes
    error_panel(ax_e, m, predicted_slope)
    share_panel(ax_s, m)
    cosine_panel(fig, ax_c, m)
    merge_panel(ax_m, m)
    fig.tight_layout()
    return fig
