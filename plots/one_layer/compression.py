"""Figures of the compression experiments: low-rank (Corollary 1) and pruned (Corollary 2) task vectors.

Edits (colours): addition on irrelevant and aligned pairs (worse task's accuracy/hinge), negation on
irrelevant and contradictory pairs (T1, the kept task, solid; T2, the forgotten one, dotted), and the
out-of-domain best point (T'). Coefficients are chosen again for every transformed vector. The
edits come with the results (``m["edits"]``), their legend labels as an argument.
"""

from __future__ import annotations

import math

import numpy as np

from plots.style import THEORY_COLOR, apply_style, plt

EDIT_COLORS = {
    "add_irrelevant": "#1f77b4",
    "add_aligned": "#2ca02c",
    "negate_irrelevant": "#ff7f0e",
    "negate_contradictory": "#d62728",
    "ood": "#9467bd",
}


def _edit_panels(
    ax_acc, ax_h, x, m: dict, results: dict, keys: list[str], labels: dict, ls="-", label=True
):
    eps, forget = m["config"]["eval"]["eps"], m["config"]["eval"]["forget_hinge"]
    for e in m["edits"]:
        col = EDIT_COLORS[e]
        acc = [100 * results[k][e]["acc"] for k in keys]
        h = [max(results[k][e]["hinge"], 1e-4) for k in keys]
        ax_acc.plot(x, acc, ls, marker="o", ms=3, color=col, label=labels[e] if label else None)
        ax_h.plot(x, h, ls, marker="o", ms=3, color=col)
        if e.startswith("negate"):
            ax_acc.plot(x, [100 * results[k][e]["T2_acc"] for k in keys], ":", color=col)
            ax_h.plot(x, [max(results[k][e]["T2_hinge"], 1e-4) for k in keys], ":", color=col)
    ax_h.axhline(m.get("budget", eps), color=THEORY_COLOR, ls="--", lw=1)
    ax_h.axhline(forget, color="0.5", ls="--", lw=0.8)
    ax_h.set_yscale("log")
    ax_acc.set_ylim(-2, 102)
    ax_acc.set_ylabel("accuracy (%)")
    ax_h.set_ylabel("mean hinge (log)")


def _successes(results: dict, keys: list[str], full: dict, edits: list[str]) -> list[int]:
    ok = [e for e in edits if full[e]["success"]]
    return [sum(results[k][e]["success"] for e in ok) for k in keys]


def _kept_panel(ax, m: dict, x, keys: list[str], variants: dict[str, tuple[str, str]]) -> None:
    """(c) edits that still succeed, per transform; ``variants``: results key -> (marker, label)."""
    edits = m["edits"]
    n_ok = sum(m["full"][e]["success"] for e in edits)
    for key, (mk, label) in variants.items():
        ax.plot(x, _successes(m["results"][key], keys, m["full"], edits), mk, label=label)
    ax.axhline(n_ok, color="0.4", lw=0.8, label="full task vectors")
    ax.set_ylim(-0.2, len(edits) + 0.2)
    ax.set_ylabel("edits that succeed on every seed")
    ax.set_title("(c) guarantees kept")
    ax.legend()


def _hinge_panel(ax, m: dict, x, keys: list[str], styles: dict[str, str], title: str) -> None:
    """(f) the hinge of every edit for the other transforms; ``styles``: results key -> line style."""
    for key, ls in styles.items():
        for e in m["edits"]:
            h = [max(m["results"][key][k][e]["hinge"], 1e-4) for k in keys]
            ax.plot(x, h, ls, color=EDIT_COLORS[e], marker=".", ms=3)
    ax.axhline(m.get("budget", m["config"]["eval"]["eps"]), color=THEORY_COLOR, ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_ylabel("mean hinge (log)")
    ax.set_title(title)


def _spectra_panels(ax_sv, ax_res, m: dict) -> None:
    """(a) normalised singular values and (b) relative Frobenius residual of every ΔW and ΔV."""
    for ax, field, scale in (
        (ax_sv, "singular_values", lambda v: v / v[0]),
        (ax_res, "relative_residual", lambda v: np.maximum(v, 1e-6)),
    ):
        for name, sp in m["spectra"].items():
            for k, ls in (("W", "-"), ("V", "--")):
                v = np.asarray(sp[k][field])
                lw, alpha = (2.0, 1.0) if name == "T1" else (0.8, 0.5)
                label = f"Δ{k} of {name}" if name == "T1" else None
                ax.plot(np.arange(1, len(v) + 1), scale(v), ls, lw=lw, alpha=alpha, label=label)
        ax.set_yscale("log")
        ax.legend()
    ax_sv.set_xlabel("index k")
    ax_sv.set_ylabel("σ_k / σ_1")
    ax_sv.set_title("(a) spectra (bold: Ψ*_T1; thin: the other task vectors)")
    ax_res.set_xscale("log", base=2)
    ax_res.set_xlabel("rank r")
    ax_res.set_ylabel("‖Δ − Δ_r‖_F / ‖Δ‖_F")
    ax_res.set_title("(b) relative Frobenius residual")


def _finish(fig, axes, title_d: str, title_e: str, xaxis: tuple[str, dict], suptitle: str) -> None:
    """Titles, log x axes (``xaxis``: label, ``set_xscale`` keywords) and layout of the bottom row."""
    axes[1, 0].set_title(title_d)
    axes[1, 1].set_title(title_e)
    for ax in axes[1]:
        ax.set_xscale("log", **xaxis[1])
        ax.set_xlabel(xaxis[0])
    axes[1, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(suptitle, y=1.0)
    fig.tight_layout()


def low_rank_figure(m: dict, labels: dict[str, str]):
    """Corollary 1's figure; ``labels``: the legend label of every edit."""
    apply_style()
    eps, forget = m["config"]["eval"]["eps"], m["config"]["eval"]["forget_hinge"]
    ranks = m["ranks"]
    keys = [str(r) for r in ranks]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    _spectra_panels(axes[0, 0], axes[0, 1], m)
    modes = {"W": ("s--", "truncate W"), "V": ("^:", "truncate V"), "both": ("o-", "truncate both")}
    _kept_panel(axes[0, 2], m, ranks, keys, modes)
    axes[0, 2].set_xscale("log", base=2)
    axes[0, 2].set_xlabel("rank r")
    _edit_panels(axes[1, 0], axes[1, 1], ranks, m, m["results"]["both"], keys, labels)
    title = "(f) ΔW only (dashed), ΔV only (dotted)"
    _hinge_panel(axes[1, 2], m, ranks, keys, {"W": "--", "V": ":"}, title)
    _finish(
        fig,
        axes,
        "(d) accuracy, ΔW and ΔV truncated (dotted: forgotten T2)",
        f"(e) hinge (green: budget {m.get('budget', eps):g}, grey: forget = {forget})",
        ("rank r", {"base": 2}),
        "Corollary 1: low-rank task vectors (seed means; (λ1, λ2) chosen per seed on validation)",
    )
    return fig


def _row_norm_panels(ax_hist, ax_sorted, m: dict) -> None:
    """(a) histogram of Ψ*_T1's ΔV row norms with the 2-means split; (b) sorted norms of every ΔV."""
    root_m = math.sqrt(m["width"])
    x = np.asarray(m["row_norms"]["T1"]) * root_m
    g = m["groups"]["T1"]
    ax_hist.hist(x, bins=40, color="#1f77b4", alpha=0.8)
    ax_hist.axvline(
        g["threshold"] * root_m,
        color="#d62728",
        ls="--",
        label=f"2-means split: {100 * g['large_fraction']:.0f}% large",
    )
    ax_hist.set_xlabel("√m · ‖u_i‖ (rows of ΔV, Ψ*_T1, all seeds)")
    ax_hist.set_ylabel("rows")
    ax_hist.set_title("(a) row norms of ΔV")
    ax_hist.legend()
    for name, v in m["row_norms"].items():
        vals = np.sort(np.asarray(v))[::-1] * root_m
        lw = 2.0 if name == "T1" else 0.9
        ax_sorted.plot(np.linspace(0, 1, len(vals)), vals, lw=lw, label=name)
    ax_sorted.set_yscale("log")
    ax_sorted.set_xlabel("rank of the row (fraction of rows)")
    ax_sorted.set_ylabel("√m · ‖u_i‖ (log)")
    ax_sorted.set_title("(b) sorted row norms of every task vector")
    ax_sorted.legend(fontsize=7)


def pruning_figure(m: dict, labels: dict[str, str]):
    """Corollary 2's figure; ``labels``: the legend label of every edit."""
    apply_style()
    eps = m["config"]["eval"]["eps"]
    keeps = m["keep"]
    keys = [str(k) for k in keeps]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    _row_norm_panels(axes[0, 0], axes[0, 1], m)
    methods = {"rows": ("o-", "rows pruning"), "magnitude": ("s--", "magnitude pruning")}
    _kept_panel(axes[0, 2], m, keeps, keys, methods)
    axes[0, 2].set_xlabel("kept fraction of ΔV")
    _edit_panels(axes[1, 0], axes[1, 1], keeps, m, m["results"]["rows"], keys, labels)
    title = "(f) hinge, entry-wise magnitude pruning"
    _hinge_panel(axes[1, 2], m, keeps, keys, {"magnitude": "--"}, title)
    _finish(
        fig,
        axes,
        "(d) accuracy, row pruning (dotted: forgotten T2)",
        f"(e) hinge, rows kept per readout sign (green: budget {m.get('budget', eps):g})",
        ("kept fraction of ΔV", {}),
        "Corollary 2: pruned task vectors (seed means; (λ1, λ2) chosen per seed on validation)",
    )
    return fig
