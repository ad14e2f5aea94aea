"""Report section of ``gradients_vit``: the gradient paper on the ViT, with the reference tables of
gradients.md §5 (CLIP ViT-B/16, the authors' earlier runs) beside ours."""

from __future__ import annotations

OPTS = ("sgd", "adam")
KINDS = ("1_epoch", "10_epochs", "converged")


def _setup(m: dict) -> list[str]:
    e = m["config"]["experiment"]
    rules = "; ".join(f"`{t}` ({m['task_rules'][t]['why']})" for t in m["tasks"])
    return [
        f"Tasks on shared digits, each with its own frozen head: {rules}. {m['split_sizes']['train']} "
        f"training digits, {m['split_sizes']['val']} validation and {m['split_sizes']['test']} test digits "
        f"per task; {e['epochs']} epochs of batch {e['batch_size']}, plain SGD (η = {e['sgd_lr']:g}) and "
        f"Adam (η = {e['adam_lr']:g}), logistic loss, {e['n_seeds']} seeds from {e['first_seed']}; "
        f"converged = the first epoch within {e['conv_tol']:g} of the best validation accuracy.",
        "",
    ]


def _dominance(m: dict) -> list[str]:
    lines = [
        "**First-epoch dominance** (mean over seeds; s_1/max: seed interval):",
        "",
        "| optimizer | task | update share s_1 | s_1/s_2 | s_1/max_(e≥2) s_e | grad norm ep1 | ep1/ep2 | "
        "cos(Δ_1, τ) | converged epoch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for opt in OPTS:
        for t in m["tasks"]:
            d = m["dominance"][opt]["tasks"][t]
            r = d["ratio"]
            lines.append(
                f"| {opt} | {t} | {d['shares'][0]:.3f} | {d['first_over_second']['mean']:.2f} | "
                f"{r['mean']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] | {d['grad_norm'][0]:.3f} | "
                f"{d['grad_first_over_second']['mean']:.2f} | {d['cos_first_final']['mean']:.2f} | "
                f"{d['converged_epoch']['mean']:.1f} |"
            )
    lines += [
        "",
        "Reference (a), CLIP ViT-B/16, Adam lr 1e-5, batch 32 (normalised gradient norm):",
        "",
        "| dataset | epochs | ep1 | ep2 | ep1/ep2 |",
        "|---|---|---|---|---|",
    ]
    for name, r in m["reference"]["grad_norm"].items():
        v = r["values"]
        lines.append(f"| {name} | {r['epochs']} | {v[0]:.3f} | {v[1]:.3f} | {v[0] / v[1]:.2f} |")
    return [*lines, ""]


def _merging(m: dict) -> list[str]:
    opt = m["merge_optimizer"]
    mg, ref = m["merging"][opt], m["reference"]["merge_avg"]
    lines = [
        f"**Merging** ({opt} vectors; means over task sets and seeds; normalised = merged / individually "
        "fine-tuned accuracy at the same checkpoint, or at convergence; reference (b): CLIP, 8 tasks, "
        "AdamW, mean merge):",
        "",
        "| vectors | aggregation | accuracy | normalised (same) | normalised (converged) | loss | "
        "reference (b) accuracy % |",
        "|---|---|---|---|---|---|---|",
        f"| zero-shot θ0 | — | {mg['zero_shot_acc_mean']:.3f} | | | | {ref['zero_shot']} |",
    ]
    for agg in ("mean", "tuned"):
        for k in KINDS:
            if k in mg[agg]:
                v = mg[agg][k]
                lines.append(
                    f"| {k} | {agg} | {v['acc_mean']:.3f} | {v['normalized_acc_same_mean']:.3f} | "
                    f"{v['normalized_acc_mean']:.3f} | {v['loss_mean']:.3f} | "
                    f"{ref[k] if agg == 'mean' else ''} |"
                )
    lines += [
        "",
        "Checkpoints at a fraction of fine-tuning, mean merge (reference (c), 8 tasks, in brackets):",
        "",
        "| fraction | merged | individually fine-tuned | normalised (same) | normalised (converged) |",
        "|---|---|---|---|---|",
    ]
    rc = m["reference"]["merge_fractions"]
    for r in m["merge_fractions"][opt]:
        j = rc["fractions"].index(r["fraction"]) if r["fraction"] in rc["fractions"] else None
        cells = [
            f"{100 * r[k]:.1f}" + (f" [{rc[ref][j]}]" if j is not None else "")
            for k, ref in (
                ("merged_acc", "merged"),
                ("individual_acc", "individual"),
                ("normalized_same", "normalized_same"),
                ("normalized_converged", "normalized_converged"),
            )
        ]
        lines.append(f"| {100 * r['fraction']:g}% | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _num(x, fmt: str) -> str:
    """A number of metrics.json (null where it was NaN, e.g. the ratio at k = 1)."""
    return "—" if x is None or x != x else f"{x:{fmt}}"


def _exactness(m: dict) -> list[str]:
    ex = m["exactness"]
    lines = [
        f"**Exactness** (float64, {m['config']['experiment']['exact_n']} training digits): one full-batch "
        f"GD epoch, τ vs −η∇L(θ0): max relative error {max(e['one_task_rel_error'] for e in ex):.1e}; mean "
        f"of the one-step vectors vs one GD step on the mean loss: "
        f"{max(e['mean_of_tasks_rel_error'] for e in ex):.1e}.",
        "",
        "Multi-epoch error (mean over seeds): ratio = measured / predicted norm; vector residual = "
        "‖τ_k + kη∇L − η² k(k−1)/2 H∇L‖ / ‖η² k(k−1)/2 H∇L‖ (not judged); H∇L drift = "
        "‖H(θ^(kmax))∇L(θ0) − H(θ0)∇L(θ0)‖ / ‖H(θ0)∇L(θ0)‖.",
        "",
        "| η | k | ‖τ_k + kη∇L‖ | η² k(k−1)/2 ‖H∇L‖ | ratio | vector residual | relative first-order "
        "error | H∇L drift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in m["multi_epoch"]:
        cells = [_num(r.get(k), f) for k, f in (("ratio", ".3f"), ("residual", ".3f"))]
        lines.append(
            f"| {r['lr']:g} | {r['k']} | {r['error']:.3e} | {r['predicted']:.3e} | "
            f"{cells[0]} | {cells[1]} | {r['relative']:.4f} | {r['hg_drift']:.2f} |"
        )
    return [*lines, ""]


def gradients_vit_section(m: dict, rel: str) -> list[str]:
    wall = m.get("wall_seconds")
    return [
        "## Task vectors as gradients on the ViT (`gradients_vit`)",
        "",
        *_setup(m),
        f"![dominance]({rel}/gradients_vit_dominance.png)",
        "",
        f"![cosines]({rel}/gradients_vit_cosines.png)",
        "",
        *_dominance(m),
        f"![merging]({rel}/gradients_vit_merging.png)",
        "",
        *_merging(m),
        f"![exactness]({rel}/gradients_vit_exactness.png)",
        "",
        *_exactness(m),
        f"Wall time: {wall:.0f} s." if isinstance(wall, int | float) else "",
        "",
    ]
