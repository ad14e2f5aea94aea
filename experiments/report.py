"""Build ``results/REPORT.md`` from every ``results/*/metrics.json`` (never from retraining).

python -m experiments.report [--results results]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.io import atomic_write_text, load_metrics


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


def claims_table(rows: list[tuple[str, dict]]) -> list[str]:
    lines = [
        "## Claims",
        "",
        "| experiment | claim | source | criterion | measured | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def cell(text: object) -> str:  # "|λ|" would otherwise end a Markdown table cell
        return str(text).replace("|", "\\|")

    for exp, c in rows:
        cells = [
            exp,
            *(cell(c[k]) for k in ("claim", "source", "criterion", "measured")),
            f"**{c['verdict']}**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _fmt_choice(ch: dict | None) -> str:
    if ch is None:
        return "none (T1 never keeps the required accuracy) | | "
    return (
        f"{ch['lambda']:.1f} | {100 * ch['T1_acc']:.1f}% / {ch['T1_hinge']:.3f} | "
        f"{100 * ch['T2_acc']:.1f}% / {ch['T2_hinge']:.3f}"
    )


def task_pair_section(pairs: list[tuple[str, dict]], results: Path) -> list[str]:
    """Figure 1 analogue (noise-free and noisy presets side by side) and the Table 1 analogue."""
    from experiments.io import save_figure
    from plots.one_layer.task_pair import task_pair_figure
    from plots.style import plt

    order = {"irrelevant": 0, "aligned": 1, "contradictory": 2}
    pairs = sorted(
        pairs,
        key=lambda fm: (
            fm[1]["config"]["data"]["noise_std"],
            order.get(fm[1]["label"].split()[0].strip(","), 9),
        ),
    )
    lines = ["## Theorems 1–2: task addition and negation (`task_pair`)", ""]
    for noisy in (False, True):
        group = [m for _, m in pairs if (m["config"]["data"]["noise_std"] > 0) == noisy]
        if not group:
            continue
        stem = "figure1_noisy" if noisy else "figure1"
        fig = task_pair_figure(group)
        save_figure(fig, results, stem)
        plt.close(fig)
        sigma = group[0]["config"]["data"]["noise_std"]
        what = f"with Gaussian token noise (σ = {sigma:g})" if noisy else "noise-free tokens"
        lines += [
            f"**Figure 1 analogue, {what}.** Mean ± std over seeds of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2.",
            "",
            f"![{stem}]({stem}.png)",
            "",
        ]
    lines += [
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
    lines += [
        "",
        "Own-task precondition (hinge ≤ ε after fine-tuning): "
        + (
            "every run passes."
            if not parts
            else "; ".join(parts) + ". Their theorem rows are marked untested."
        ),
        "",
    ]
    return lines


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


def _ah(row: dict) -> str:
    """accuracy % / mean hinge, mean ± std over seeds."""
    return (
        f"{100 * row['acc']['mean']:.1f} ± {100 * row['acc']['std']:.1f}% / "
        f"{row['hinge']['mean']:.3f} ± {row['hinge']['std']:.3f}"
    )


def ood_section(m: dict, rel: str) -> list[str]:
    t2, reg = m["table2"], m["region"]
    g, gh = m["gamma"], m["gamma_hat"]
    tgt = m["target"]
    norm = (
        f" (given γ = ({tgt['gamma_input'][0]:g}, {tgt['gamma_input'][1]:g}), Σγ² + κ² = {tgt['norm2_input']:.3f}, "
        f"divided by {1 / tgt['scale']:.4f})"
        if abs(tgt["scale"] - 1) > 1e-9
        else ""
    )
    cols = ["finetuned", "psi_T1", "psi_T2", "best_single", "best"]
    names = {
        "finetuned": "fine-tuning on T'",
        "psi_T1": "Ψ*_T1",
        "psi_T2": "Ψ*_T2",
        "best_single": "best single scaled vector",
        "best": "searching (λ1, λ2)",
    }
    cols = [k for k in cols if k in t2]

    def lam(k):
        r = t2[k]
        return "N/A" if k == "finetuned" else f"({r['lambda1']:.1f}, {r['lambda2']:.1f})"

    lit, shp, ctl = reg["literal"], reg["shape"], reg["half_planes"]
    lines = [
        f"## Theorem 3: out-of-domain target, {m['label']} (`ood`)",
        "",
        f"γ = ({g[0]:.3f}, {g[1]:.3f}), κ = {m['kappa']:.3f}{norm}.",
        "",
        f"![ood]({rel}/ood.png)",
        "",
        "**Table 2 analogue** (T' test accuracy / mean hinge, mean ± std over seeds; points chosen on a separate "
        "validation split):",
        "",
        "| | " + " | ".join(names[k] for k in cols) + " |",
        "|---|" + "---|" * len(cols),
        "| (λ1, λ2) | " + " | ".join(lam(k) for k in cols) + " |",
        "| T' | " + " | ".join(_ah(t2[k]) for k in cols) + " |",
        "",
        f"* γ̂ (output-cosine estimator, output = {m['gamma_hat_output']}): ({gh[0]['mean']:.3f} ± {gh[0]['std']:.3f}, "
        f"{gh[1]['mean']:.3f} ± {gh[1]['std']:.3f}); with hidden activations: "
        f"({m['gamma_hat_by_output']['hidden'][0]['mean']:.3f}, {m['gamma_hat_by_output']['hidden'][1]['mean']:.3f}); "
        f"task-vector cosines ({m['task_vector_cosine'][0]['mean']:.3f}, {m['task_vector_cosine'][1]['mean']:.3f}); "
        f"true γ ({g[0]:.3f}, {g[1]:.3f}).",
        f"* Measured region {{mean test hinge ≤ ε}}: {100 * reg['measured_fraction']:.1f}% of the grid. Theorem 3 literal "
        f"(β̂ = {lit['beta']:.4f}, best c = {lit['c']}): IoU {lit['iou']:.2f}. Fitted shape (t = {shp['threshold']:.2f}, "
        f"box {shp['box']:.1f}): IoU {shp['iou']:.2f}. Controls: value half-plane alone {ctl['value_only']['iou']:.2f} "
        f"(t = {ctl['value_only']['threshold']:.2f}), attention half-plane alone {ctl['attention_only']['iou']:.2f}.",
    ]
    sweep = m.get("kappa_sweep") or []
    if sweep:
        lines += [
            "",
            "κ sweep (γ(κ) = √(1 − κ²) γ/‖γ‖; best on a coarser grid, accuracy / hinge):",
            "",
            "| κ | " + " | ".join(f"{r['kappa']:.1f}" for r in sweep) + " |",
            "|---|" + "---|" * len(sweep),
            "| best (λ1, λ2) | "
            + " | ".join(
                f"{100 * r['best']['acc']['mean']:.0f}% / {r['best']['hinge']['mean']:.3f}"
                for r in sweep
            )
            + " |",
            "| best single | "
            + " | ".join(
                f"{100 * r['best_single']['acc']['mean']:.0f}% / {r['best_single']['hinge']['mean']:.3f}"
                if "best_single" in r
                else "–"
                for r in sweep
            )
            + " |",
        ]
    if m.get("gamma_map"):
        lines += ["", f"![γ map]({rel}/ood_gamma_map.png)"]
    return [*lines, ""]


def _edit_table(m: dict, keys: list, key_label: str, variants: dict[str, str]) -> list[str]:
    from experiments.theory.corollaries import EDIT_LABELS, EDITS

    lines = [
        f"| {key_label} | " + " | ".join(EDIT_LABELS[e] for e in EDITS) + " |",
        "|---|" + "---|" * len(EDITS),
        "| full | "
        + " | ".join(
            f"{m['full'][e]['hinge']:.3f}{'' if m['full'][e]['success'] else ' ✗'}" for e in EDITS
        )
        + " |",
    ]
    for variant, label in variants.items():
        for k in keys:
            r = m["results"][variant][str(k)]
            lines.append(
                f"| {label} {k} | "
                + " | ".join(f"{r[e]['hinge']:.3f}{'' if r[e]['success'] else ' ✗'}" for e in EDITS)
                + " |"
            )
    return lines


def low_rank_section(m: dict, rel: str) -> list[str]:
    lines = [
        "## Corollary 1: low-rank task vectors (`low_rank`)",
        "",
        f"![low rank]({rel}/low_rank.png)",
        "",
        "Mean hinge of each edit (addition: the worse task; negation: the kept T1; ✗: the edit's success criterion "
        "fails), λ re-chosen for every rank; ΔW and ΔV both truncated:",
        "",
        *_edit_table(m, m["ranks"], "rank", {"both": "rank"}),
        "",
        f"Smallest rank keeping every edit that succeeds at full rank: {m['smallest_rank_keeping_all']}.",
    ]
    return [*lines, ""]


def pruning_section(m: dict, rel: str) -> list[str]:
    g = m["groups"]["T1"]
    lines = [
        "## Corollary 2: pruned task vectors (`pruning`)",
        "",
        f"![pruning]({rel}/pruning.png)",
        "",
        f"Row norms of ΔV (Ψ*_T1, all seeds): 2-means split at {g['threshold']:.4f}, large group "
        f"{100 * g['large_fraction']:.0f}% of the rows, median ratio small/large {g['ratio']:.2f}.",
        "",
        "Mean hinge of each edit with ΔV pruned (λ re-chosen; ✗: the edit fails):",
        "",
        *_edit_table(m, m["keep"], "kept", {"rows": "rows", "magnitude": "magnitude"}),
    ]
    return [*lines, ""]


def cdigits_pair_section(m: dict, rel: str) -> list[str]:
    from experiments.paper import CDIGITS_TABLE1 as PAPER_TABLE1

    sizes = m["split_sizes"]
    c = m["config"]
    lines = [
        "## Coloured digits with a small ViT: Figure 1 and Table 1 (`cdigits_pair`)",
        "",
        f"Data: {c['data']['source']} digits, split train {sizes['train']} / validation {sizes['val']} / test "
        f"{sizes['test']}; ViT dim {c['model']['dim']}, depth {c['model']['depth']}, {c['model']['heads']} heads, "
        f"patch {c['model']['patch']}; Ψ0 pre-trained on 10-way digit identity (train accuracy "
        f"{100 * m['pretrain']['train_accuracy']:.1f}%), parity head frozen; {len(m['own_task']) // (len(m['pairs']) + 1)} seeds.",
        "",
        f"![cdigits pair]({rel}/cdigits_pair.png)",
        "",
        "**Table 1 analogue** (accuracy %, mean over seeds; paper in brackets):",
        "",
        "| pair | α̂ (batch / features) [paper] | multi-task λ | T1 | T2 | unlearning λ | T1 | T2 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = {"irrelevant": 0, "aligned": 1, "contradictory": 2}
    for pair, p in sorted(m["pairs"].items(), key=lambda kv: order.get(kv[0].split()[0], 9)):
        t1 = p["table1"]
        paper = PAPER_TABLE1.get(pair.split()[0], {})
        mt, un = t1["multi_task"], t1["unlearning"]
        pm, pu = paper.get("multi_task"), paper.get("unlearning")

        def cell(ch, pp):
            if ch is None:
                return "none | | "
            ref = f" [{pp[0]}]" if pp else ""
            r1 = f" [{pp[1]}]" if pp else ""
            r2 = f" [{pp[2]}]" if pp else ""
            return f"{ch['lambda']:.1f}{ref} | {100 * ch['T1_acc']:.1f}{r1} | {100 * ch['T2_acc']:.1f}{r2}"

        a = p["alpha_hat"]
        lines.append(
            f"| {pair} | {a['batch']['mean']:.3f} / {a['features']['mean']:.3f} [{p['paper_alpha']}] | "
            f"{cell(mt, pm)} | {cell(un, pu)} |"
        )
    own = m["own_task"]
    lines += [
        "",
        f"Own-task test accuracy of the fine-tuned ViTs: {100 * min(o['accuracy'] for o in own):.1f}–"
        f"{100 * max(o['accuracy'] for o in own):.1f}% ({len(m['flagged_runs'])} of {len(own)} below the 90% bar).",
        "",
    ]
    return lines


TP = "T'"


def cdigits_ood_section(m: dict, rel: str) -> list[str]:
    t2, pt = m["table2"], m["paper_table2"]
    b = m["best"]
    g = m["gamma_hat"]
    r = m["rates"]
    return [
        "## Coloured digits with a small ViT: Table 2 and Figure 2 (`cdigits_ood`)",
        "",
        f"(r_o, r_e): T1 ({r['T1'][0]:g}, {r['T1'][1]:g}), T2 ({r['T2'][0]:g}, {r['T2'][1]:g}), "
        f"T' ({r[TP][0]:g}, {r[TP][1]:g}).",
        "",
        f"![cdigits ood]({rel}/cdigits_ood.png)",
        "",
        "| | fine-tuning on T' | Ψ*_T1 (1, 0) | Ψ*_T2 (0, 1) | searching (λ1, λ2) |",
        "|---|---|---|---|---|",
        f"| (λ1, λ2) | N/A | (1, 0) | (0, 1) | ({b['lambda1']:.1f}, {b['lambda2']:.1f}) [paper (1.2, −0.6)] |",
        "| T' accuracy % (paper) | "
        + " | ".join(
            f"{100 * t2[k]['acc']['mean']:.1f} ± {100 * t2[k]['acc']['std']:.1f} ({pt[k]})"
            for k in ("finetuned", "psi_T1", "psi_T2", "best")
        )
        + " |",
        "",
        f"γ̂ = ({g[0]['mean']:.3f} ± {g[0]['std']:.3f}, {g[1]['mean']:.3f} ± {g[1]['std']:.3f}) "
        f"[paper ({m['paper_gamma'][0]}, {m['paper_gamma'][1]})]; wedge IoU {m['region']['shape']['iou']:.2f}.",
        "",
    ]


def cdigits_compress_section(m: dict, rel: str) -> list[str]:
    edits = list(m["full"])
    lines = [
        "## Coloured digits: low-rank and pruned ViT task vectors (`cdigits_compress`)",
        "",
        f"![cdigits compress]({rel}/cdigits_compress.png)",
        "",
        "Edit scores (addition: worse task accuracy; negation: T1 − T2 accuracy), λ re-chosen:",
        "",
        "| | " + " | ".join(edits) + " |",
        "|---|" + "---|" * len(edits),
        "| dense | " + " | ".join(f"{m['full'][e]['score']:.3f}" for e in edits) + " |",
    ]
    for i, r in enumerate(m["ranks"]):
        lines.append(
            f"| rank {r} | "
            + " | ".join(f"{m['low_rank'][e][i]['score']:.3f}" for e in edits)
            + " |"
        )
    for i, k in enumerate(m["keep"]):
        lines.append(
            f"| keep {k:g} | "
            + " | ".join(f"{m['magnitude'][e][i]['score']:.3f}" for e in edits)
            + " |"
        )
    return [*lines, ""]


def lm_section(m: dict, rel: str) -> list[str]:
    lams = m["lambdas"]
    names = {"A": "A (like HP1)", "B": "B (like HP2)", "C": "C (like PP)"}
    lines = [
        "## Language-model unlearning by negation (`lm_unlearning`)",
        "",
        f"![lm unlearning]({rel}/lm_unlearning.png)",
        "",
    ]
    for kind, title in (
        ("full", "Table 3 analogue: full task vector"),
        ("lora", "Table 4 analogue: LoRA task vector"),
    ):
        lines += [
            f"**{title}** (Rouge-L, mean ± std over seeds; last column: relative drop at λ = {min(lams):g}, paper in brackets):",
            "",
            "| book | " + " | ".join(f"λ = {x:g}" for x in lams) + " | drop |",
            "|---|" + "---|" * (len(lams) + 1),
        ]
        for b, rows in m["rouge"][kind].items():
            lines.append(
                f"| {names.get(b, b)} | "
                + " | ".join(f"{r['mean']:.4f} ± {r['std']:.4f}" for r in rows)
                + f" | {m['drop_percent'][kind][b]:.1f}% [{m['paper_drop_percent'][kind][b]}%] |"
            )
        lines.append("")
    a = m["alpha_hat"]
    lines += [
        f"α̂(A, B) = {a['B']['logits']['mean']:.3f}, α̂(A, C) = {a['C']['logits']['mean']:.3f} (next-token logits; paper "
        f"{m['paper_alpha']['B']}, {m['paper_alpha']['C']}); logit changes from Ψ0′: {a['B']['logit_change']['mean']:.3f}, "
        f"{a['C']['logit_change']['mean']:.3f}; task-vector cosines {a['B']['task_vector']['mean']:.3f}, "
        f"{a['C']['task_vector']['mean']:.3f}.",
        "",
    ]
    return lines


def build_report(results: Path) -> str:
    found = sorted(
        p
        for p in results.rglob("metrics.json")
        if not any(part.startswith(".") for part in p.parts)
    )
    metrics = [(p.parent.relative_to(results).as_posix(), load_metrics(p)) for p in found]
    lines = [
        "# Task arithmetic: measurements against the theory",
        "",
        "Generated by `make reproduce` from the `metrics.json` of each experiment under "
        f"`{results.name}/`. Every verdict follows the criterion printed next to it.",
        "",
    ]
    claims = [(m["experiment"], c) for _, m in metrics for c in m.get("claims", [])]
    if claims:
        lines += claims_table(claims)
    sections = (
        ("foundation", foundation_section),
        ("task_pair", None),  # all pairs together: one Figure 1 and one Table 1
        ("phase_diagram", phase_section),
        ("ood", ood_section),
        ("low_rank", low_rank_section),
        ("pruning", pruning_section),
        ("gradients", gradients_section),
        ("cdigits_pair", cdigits_pair_section),
        ("cdigits_ood", cdigits_ood_section),
        ("cdigits_compress", cdigits_compress_section),
        ("lm_unlearning", lm_section),
    )
    for name, section in sections:
        mine = [(f, m) for f, m in metrics if m.get("experiment") == name]
        if section is None and mine:
            lines += task_pair_section(mine, results)
        elif section is not None:
            for folder, m in mine:
                lines += section(m, folder)
    if not metrics:
        lines.append("No results yet: run `make reproduce`.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results"))
    args = ap.parse_args(argv)
    path = args.results / "REPORT.md"
    atomic_write_text(path, build_report(args.results))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
