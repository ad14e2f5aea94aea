"""Task vectors as gradients: (a) multi-epoch error against the second-order prediction and the
smoothness bound, (b) per-epoch update-norm shares (SGD vs Adam), (c) epoch × epoch cosines of SGD
updates, (d) normalised accuracy of one-epoch versus converged merges."""

from __future__ import annotations

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt


def gradients_figure(m: dict):
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 7.0))
    (ax_e, ax_s), (ax_c, ax_m) = axes
    table = m["multi_epoch"]
    ks = sorted({r["k"] for r in table})
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(ks)))
    for k, col in zip(ks, colors, strict=True):
        rows = sorted((r for r in table if r["k"] == k), key=lambda r: r["lr"])
        lr = [r["lr"] for r in rows]
        ax_e.plot(lr, [r["error"] for r in rows], "o-", color=col, ms=3, label=f"measured, k = {k}")
        ax_e.plot(lr, [r["predicted"] for r in rows], "--", color=col, lw=0.9)
        ax_e.plot(lr, [r["bound"] for r in rows], ":", color=col, lw=0.9)
    ax_e.plot([], [], "k--", lw=0.9, label="η² k(k−1)/2 ‖H∇L‖")
    ax_e.plot([], [], "k:", lw=0.9, label="bound η² β̂ G k(k−1)/2")
    ax_e.set(
        xscale="log",
        yscale="log",
        xlabel="η",
        ylabel="‖τ_k + kη∇L(θ0)‖",
        title=f"(a) multi-epoch error (slope {m['multi_epoch_loglog_slope']:.2f}, theory 2)",
    )
    ax_e.legend(fontsize=7)
    styles = {"sgd": ("o-", THEORY_COLOR), "adam": ("s--", "#9467bd")}
    for key, dom in m["dominance"].items():
        opt, loss = key.split("/")
        share = dom["norm_share"]
        ax_s.plot(
            np.arange(1, len(share) + 1),
            share,
            styles[opt][0],
            color=styles[opt][1],
            ms=3,
            alpha=1.0 if loss == "hinge" else 0.5,
            label=f"{opt.upper()}, {loss}",
        )
    ax_s.set(xlabel="epoch", ylabel="share of Σ‖update‖", title="(b) per-epoch update norm")
    ax_s.legend()
    first_loss = m["config"]["experiment"]["dominance_losses"][0]
    cm = np.asarray(m["dominance"][f"sgd/{first_loss}"]["cos_matrix"])
    im = ax_c.imshow(
        cm,
        vmin=-1,
        vmax=1,
        cmap="RdBu_r",
        origin="lower",
        extent=(0.5, cm.shape[0] + 0.5, 0.5, cm.shape[0] + 0.5),
    )
    fig.colorbar(im, ax=ax_c, label="cosine")
    ax_c.set(
        xlabel="epoch", ylabel="epoch", title=f"(c) cosines of SGD epoch updates ({first_loss})"
    )
    keys = [k for k in m["merging"] if k.endswith("/ one_epoch")]
    labels = [k.rsplit(" / ", 1)[0] for k in keys]
    x = np.arange(len(keys))
    for off, kind, col in ((-0.2, "one_epoch", THEORY_COLOR), (0.2, "converged", "#555555")):
        vals = [m["merging"][k.replace("one_epoch", kind)]["normalised_accuracy"] for k in keys]
        ax_m.bar(
            x + off,
            [v["mean"] for v in vals],
            0.4,
            yerr=[v["std"] for v in vals],
            color=col,
            label=kind.replace("_", "-"),
            capsize=2,
        )
    ax_m.set_xticks(x, labels, rotation=20, ha="right", fontsize=7)
    ax_m.set(ylabel="merged acc / fine-tuned acc", title="(d) merging task vectors", ylim=(0, 1.1))
    ax_m.legend(loc="lower right")
    fig.tight_layout()
    return fig
