"""The gradient paper on the ViT (``gradients_vit`` results): per-epoch norms per task, the epoch ×
epoch cosine maps, merged accuracy against the fraction of training, and the float64 exactness.

Everything drawn comes from the results (the reference values are copied into them under
``reference``) or from the arguments (the tolerance band of the second-order ratio)."""

from __future__ import annotations

import numpy as np

from plots.one_layer.gradients import cosine_image, measured_and_predicted, per_k
from plots.style import THEORY_COLOR, apply_style, plt

OPTS = ("sgd", "adam")
KIND_LABELS = {"1_epoch": "1 epoch", "10_epochs": "10 epochs", "converged": "converged"}


def _bars(ax, per_task: dict[str, list[float]], title: str, ylabel: str) -> None:
    """Grouped bars: per epoch one bar per task."""
    tasks = list(per_task)
    E = len(next(iter(per_task.values())))
    w = 0.8 / len(tasks)
    colors = plt.cm.tab10(np.arange(len(tasks)) % 10)
    for i, (t, col) in enumerate(zip(tasks, colors, strict=True)):
        ax.bar(
            np.arange(1, E + 1) + (i - (len(tasks) - 1) / 2) * w, per_task[t], w, color=col, label=t
        )
    ax.set(xlabel="epoch", ylabel=ylabel, title=title, xticks=range(1, E + 1))


def _reference(ax, ref: dict) -> None:
    for i, r in enumerate(ref.values()):
        v = r["values"]
        ax.plot(
            np.arange(1, len(v) + 1),
            v,
            ":",
            color="#555555",
            lw=0.8,
            marker=".",
            ms=3,
            label="CLIP ref. (a), Adam" if i == 0 else None,
        )


def dominance_figure(m: dict):
    """Update-norm shares and normalised minibatch-gradient norms per task and epoch, SGD and Adam."""
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharey="row")
    tasks = m["tasks"]
    for j, opt in enumerate(OPTS):
        shares = {t: m["epoch_shares"][opt][t] for t in tasks}
        grads = {t: m["normalized_grad_norm"][opt][t] for t in tasks}
        _bars(axes[0, j], shares, f"{opt.upper()}: update-norm share ‖Δ_e‖ / Σ‖Δ‖", "share")
        _bars(axes[1, j], grads, f"{opt.upper()}: normalised minibatch-gradient norm", "share")
        _reference(axes[1, j], m["reference"]["grad_norm"])
    axes[0, 0].legend(fontsize=7, ncol=2)
    for ax in axes[1]:
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("First-epoch dominance on the ViT (mean over seeds)", y=1.0)
    fig.tight_layout()
    return fig


def cosine_figure(m: dict):
    """Epoch × epoch cosines of the updates Δ_e and of the accumulated gradients ĝ_e (mean over
    tasks and seeds), SGD and Adam."""
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(9, 7.5))
    for j, opt in enumerate(OPTS):
        for i, (key, what) in enumerate(
            (("update_cos", "updates Δ_e"), ("grad_cos", "gradients ĝ_e"))
        ):
            ax = axes[i, j]
            im = cosine_image(ax, np.asarray(m["dominance"][opt][key]))
            ax.set(xlabel="epoch", ylabel="epoch", title=f"{opt.upper()}: cos of epoch {what}")
            ax.grid(False)
    fig.colorbar(im, ax=axes, label="cosine", shrink=0.8)
    fig.suptitle("Epoch × epoch cosines on the ViT (mean over tasks and seeds)")
    return fig


FRACTION_LINES = (  # (axis, key, marker, colour, label): panel 0 = accuracy, 1 = normalised
    (0, "merged_acc", "o", THEORY_COLOR, "merged"),
    (0, "individual_acc", "s", "#333333", "individually fine-tuned"),
    (1, "normalized_same", "o", THEORY_COLOR, "by fine-tuned at the same %"),
    (1, "normalized_converged", "s", "#9467bd", "by converged fine-tuned"),
)
REFERENCE_KEYS = {"merged_acc": "merged", "individual_acc": "individual"}


def _fraction_panels(ax_a, ax_n, m: dict) -> None:
    """Ours (solid) and reference (c) (dashed, in % in the results) against the fraction."""
    ref, axes = m["reference"]["merge_fractions"], (ax_a, ax_n)
    for i, key, marker, col, label in FRACTION_LINES:
        for opt, rows in m["merge_fractions"].items():
            x = [r["fraction"] for r in rows]
            axes[i].plot(
                x, [r[key] for r in rows], f"{marker}-", color=col, ms=4, label=f"{label} ({opt})"
            )
        y = np.asarray(ref[REFERENCE_KEYS.get(key, key)]) / 100
        axes[i].plot(
            ref["fractions"],
            y,
            f"{marker}--",
            color=col,
            alpha=0.4,
            ms=3,
            label=f"CLIP ref. (c), {label}",
        )
    ax_a.set(
        xlabel="fraction of fine-tuning", ylabel="test accuracy", title="(a) mean merge, all sets"
    )
    ax_n.set(
        xlabel="fraction of fine-tuning",
        ylabel="normalised accuracy",
        title="(b) mean merge, normalised",
    )
    for ax in axes:
        ax.legend(fontsize=6)


def _kind_panel(ax, m: dict) -> None:
    merging = m["merging"][m["merge_optimizer"]]
    sizes = list(merging["mean"]["converged"]["by_size"])
    kinds = [k for k in KIND_LABELS if k in merging["mean"]]
    w = 0.8 / (2 * len(kinds))
    for i, (agg, kind) in enumerate((a, k) for a in ("mean", "tuned") for k in kinds):
        vals = [merging[agg][kind]["by_size"][s]["normalized_acc_mean"] for s in sizes]
        ax.bar(
            np.arange(len(sizes)) + (i - len(kinds) + 0.5) * w,
            vals,
            w,
            color=plt.cm.tab20(i),
            label=f"{KIND_LABELS[kind]}, {agg}",
        )
    ax.set_xticks(range(len(sizes)), [f"{s} tasks" for s in sizes])
    ax.set(
        ylabel="normalised accuracy (converged denominator)",
        ylim=(0, 1.3),
        title=f"(c) merges per set size ({m['merge_optimizer']} vectors)",
    )
    ax.legend(fontsize=6, loc="upper center", ncol=2)


def merging_figure(m: dict):
    apply_style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    _fraction_panels(axes[0], axes[1], m)
    _kind_panel(axes[2], m)
    fig.tight_layout()
    return fig


def exactness_figure(m: dict, *, ratio_tol: float):
    """(a) the multi-epoch error against η per k with the second-order prediction; (b) their ratio."""
    apply_style()
    fig, (ax_e, ax_r) = plt.subplots(1, 2, figsize=(10, 4))
    for k, col, lr, rows in per_k(m["multi_epoch"]):
        measured_and_predicted(ax_e, k, col, lr, rows)
        ax_r.plot(lr, [r["ratio"] for r in rows], "o-", color=col, ms=3, label=f"k = {k}")
        ax_r.plot(lr, [r.get("residual") for r in rows], "x:", color=col, ms=4)
    ax_e.plot([], [], "k--", lw=0.9, label="η² k(k−1)/2 ‖H∇L‖")
    ax_r.plot([], [], "kx:", label="vector residual (not judged)")
    ax_r.axhspan(
        1 - ratio_tol, 1 + ratio_tol, color=THEORY_COLOR, alpha=0.15, label=f"1 ± {ratio_tol:g}"
    )
    ax_e.set(
        xscale="log",
        yscale="log",
        xlabel="η (full-batch GD, float64)",
        ylabel="‖τ_k + kη∇L(θ0)‖",
        title=f"(a) multi-epoch error; one epoch: τ = −η∇L to {m['exactness_rel_err']:.1e}",
    )
    ax_r.set(
        xscale="log",
        xlabel="η",
        ylabel="measured / predicted norm; residual",
        title="(b) the second-order constant",
    )
    ax_e.legend(fontsize=7)
    ax_r.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figures(m: dict, *, ratio_tol: float) -> dict:
    return {
        "gradients_vit_dominance": dominance_figure(m),
        "gradients_vit_cosines": cosine_figure(m),
        "gradients_vit_merging": merging_figure(m),
        "gradients_vit_exactness": exactness_figure(m, ratio_tol=ratio_tol),
    }
