"""Report sections of the one-layer testbed's foundation, task-pair, phase-diagram and gradient runs."""

from __future__ import annotations

from experiments.report.gather import figure1_groups, sort_task_pairs


def _pm(s: dict, fmt: str = ".4f") -> str:
    return f"{s['mean']:{fmt}} ± {s['std']:{fmt}}"


def _per_model(s: dict) -> str:
    per = s.get("seconds_per_trained_model")
    return f"{per:.3f} s each" if per is not None else "none needed"


def foundation_section(m: dict, rel: str) -> list[str]:
    s, c = m["summary"], m["config"]
    d, mo, tr = c["data"], c["model"], c["train"]
    n_seeds = c["experiment"]["n_seeds"]
    lines = [
        "## Foundation: fine-tuning and task-vector structure",
        "",
        f"Configuration: d={d['d']}, P={d['n_tokens']}, m={mo['width']}, δ*={d['delta_star']}, "
        f"δ#={d['delta_conf']}, α={d['alpha']}, counts={d['counts']}; SGD η={tr['lr']}, B={tr['batch_size']}, "
        f"≤{tr['n_steps']} steps, stop at validation hinge ≤ {tr['eps']}; {n_seeds} seeds, device {m['device']}. "
        f"{s['models_requested']} fine-tuned models: {s['models_trained']} trained "
        f"({_per_model(s)}), {s['models_from_cache']} from the model cache; {s['wall_seconds']:.1f} s in all.",
        "",
        f"![foundation]({rel}/foundation.png)",
        "",
        "| task | test hinge | test accuracy | SGD steps | attention on ±μ |",
        "|---|---|---|---|---|",
    ]
    for name, o in s["own_task"].items():
        lines.append(
            f"| {name} | {_pm(o['test_hinge'])} | {_pm(o['test_accuracy'])} | {_pm(o['steps'], '.1f')} | "
            f"{_pm(o['attention_on_discriminative'], '.3f')} |"
        )
    corr = s["correlation"]
    lines += [
        "",
        f"Uniform attention would put {s['uniform_attention_mass']:.3f} of the mass on ±μ tokens.",
        "",
        "Task correlation of the pair, three estimators (mean ± std over seeds):",
        "",
        "| exact α = μ1·μ2 | cos(ΔΨ1, ΔΨ2) | α̂ (output vector over a batch) | α̂ (hidden activations) |",
        "|---|---|---|---|",
        f"| {_pm(corr['alpha_exact'], '.3f')} | {_pm(corr['task_vector_cosine'], '.3f')} | "
        f"{_pm(corr['alpha_hat_batch'], '.3f')} | {_pm(corr['alpha_hat_hidden'], '.3f')} |",
        "",
    ]
    return lines


def _fmt_choice(ch: dict | None) -> str:
    if ch is None:
        return "none (T1 never keeps the required accuracy) | | "
    return (
        f"{ch['lambda']:.1f} | {100 * ch['T1_acc']:.1f}% / {ch['T1_hinge']:.3f} | "
        f"{100 * ch['T2_acc']:.1f}% / {ch['T2_hinge']:.3f}"
    )


def _figure1_links(pairs: list[tuple[str, dict]]) -> list[str]:
    """Links to the Figure 1 analogues that ``experiments.figures`` draws next to REPORT.md."""
    lines = []
    for stem, group in figure1_groups(pairs):
        sigma = group[0]["config"]["data"]["noise_std"]
        noisy = stem.endswith("_noisy")
        what = f"with Gaussian token noise (σ = {sigma:g})" if noisy else "noise-free tokens"
        lines += [
            f"**Figure 1 analogue, {what}.** Mean ± std over seeds of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2.",
            "",
            f"![{stem}]({stem}.png)",
            "",
        ]
    return lines


def _table1(pairs: list[tuple[str, dict]]) -> list[str]:
    lines = [
        "**Table 1 analogue** (on the mean curves; accuracy / mean hinge loss). Multi-task: the λ maximising the "
        "worse accuracy, ties by hinge. Unlearning: the λ minimising T2's accuracy while T1 keeps "
        f"≥ {pairs[0][1]['config']['eval']['retain_fraction']:.0%} of its fine-tuned accuracy, ties by T2 hinge.",
        "",
        "| pair | α̂ (batch) | multi-task λ | T1 | T2 | unlearning λ | T1 | T2 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, m in pairs:
        t1 = m["table1"]
        lines.append(
            f"| {m['label']} | {m['alpha_hat']['mean']:.3f} ± {m['alpha_hat']['std']:.3f} | "
            f"{_fmt_choice(t1['multi_task'])} | {_fmt_choice(t1['unlearning'])} |"
        )
    return lines


def _precondition(pairs: list[tuple[str, dict]]) -> list[str]:
    parts = []
    for _, m in pairs:
        fl = m["flagged_runs"]
        if fl:
            h = [f["hinge"] for f in fl]
            acc = [f["accuracy"] for f in fl]
            parts.append(
                f"{m['label']}: {len(fl)}/{len(m['own_task'])} runs miss it (hinge {min(h):.3f}–{max(h):.3f}, "
                f"accuracy {100 * min(acc):.1f}–{100 * max(acc):.1f}%)"
            )
    return [
        "",
        "Own-task precondition (hinge ≤ ε after fine-tuning): "
        + (
            "every run passes."
            if not parts
            else "; ".join(parts) + ". Their theorem rows are marked untested."
        ),
        "",
    ]


def task_pair_section(pairs: list[tuple[str, dict]]) -> list[str]:
    """Figure 1 analogue (noise-free and noisy presets side by side) and the Table 1 analogue."""
    pairs = sort_task_pairs(pairs)
    return [
        "## Theorems 1–2: task addition and negation (`task_pair`)",
        "",
        *_figure1_links(pairs),
        *_table1(pairs),
        *_precondition(pairs),
    ]


def phase_section(m: dict, rel: str) -> list[str]:
    an = m["analysis"]
    fit, beta, shape = an["lambda_star_fit"], an["beta"], an["retention_shape"]
    lines = [
        "## Phase diagram over (α, λ) (`phase_diagram`)",
        "",
        f"![phase diagram]({rel}/phase_diagram.png)",
        "",
    ]
    if fit:
        lines.append(
            f"* Multi-task threshold: λ*(α) ≈ {fit['slope']:.2f} α + {fit['intercept']:.2f} over α ≥ 0 "
            "(theory: −α + 1 + β)."
        )
    if beta:
        lines.append(
            f"* T1's hinge against |λ| at α = 0: β̂ = {beta['beta_hat']:.4f} (R² {beta['r2']:.2f})."
        )
    if shape:
        lines.append(
            f"* Contradictory retention limit: log-log slope {shape['loglog_slope']:.2f} (theory −2), ĉ = {shape['c_hat']:.2f}."
        )
    return [*lines, ""]


def gradients_section(m: dict, rel: str) -> list[str]:
    lines = [
        "## Task vectors as gradients (`gradients`)",
        "",
        f"![gradients]({rel}/gradients.png)",
        "",
        "Multi-epoch error (mean over seeds):",
        "",
        "| η | k | measured ‖τ_k + kη∇L‖ | η² k(k−1)/2 ‖H∇L‖ | bound η² β̂ G k(k−1)/2 | ReLU units switched |",
        "|---|---|---|---|---|---|",
    ]
    for r in m["multi_epoch"]:
        lines.append(
            f"| {r['lr']:g} | {r['k']} | {r['error']:.3e} | {r['predicted']:.3e} | {r['bound']:.3e} | "
            f"{100 * r['flipped_units']:.3f}% |"
        )
    lines += [
        "",
        "Merging (normalised accuracy = merged / converged single-task accuracy; mean hinge):",
        "",
        "| setting | normalised accuracy | mean hinge |",
        "|---|---|---|",
    ]
    for key, v in m["merging"].items():
        hinge = sum(h["mean"] for h in v["hinge"].values()) / len(v["hinge"])
        lines.append(
            f"| {key} | {v['normalised_accuracy']['mean']:.3f} ± {v['normalised_accuracy']['std']:.3f} | {hinge:.3f} |"
        )
    return [*lines, ""]
