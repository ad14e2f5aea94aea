"""Report sections of the coloured-digits ViT testbed: Figure 1 / Table 1, Table 2 / Figure 2, compression."""

from __future__ import annotations

from experiments.report.gather import PAIR_ORDER


def _cell(ch: dict | None, pp: list | None) -> str:
    """λ, T1 and T2 accuracy of one Table 1 choice, the paper's values in brackets."""
    if ch is None:
        return "none | | "
    ref = f" [{pp[0]}]" if pp else ""
    r1 = f" [{pp[1]}]" if pp else ""
    r2 = f" [{pp[2]}]" if pp else ""
    return f"{ch['lambda']:.1f}{ref} | {100 * ch['T1_acc']:.1f}{r1} | {100 * ch['T2_acc']:.1f}{r2}"


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
    for pair, p in sorted(m["pairs"].items(), key=lambda kv: PAIR_ORDER.get(kv[0].split()[0], 9)):
        t1 = p["table1"]
        paper = PAPER_TABLE1.get(pair.split()[0], {})
        mt, un = t1["multi_task"], t1["unlearning"]
        pm, pu = paper.get("multi_task"), paper.get("unlearning")
        a = p["alpha_hat"]
        lines.append(
            f"| {pair} | {a['batch']['mean']:.3f} / {a['features']['mean']:.3f} [{p['paper_alpha']}] | "
            f"{_cell(mt, pm)} | {_cell(un, pu)} |"
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
        f"[paper ({m['paper_gamma'][0]}, {m['paper_gamma'][1]})]; Theorem 3's wedge fitted on the held-out "
        f"seeds {m['calibration']['seeds']} (IoU there {m['region']['shape']['iou']:.2f}), judged here by "
        "its precision (claims table).",
        "",
    ]


def cdigits_compress_section(m: dict, rel: str) -> list[str]:
    edits = list(m["full"])
    lines = [
        "## Coloured digits: low-rank and pruned ViT task vectors (`cdigits_compress`)",
        "",
        f"![cdigits compress]({rel}/cdigits_compress.png)",
        "",
        "Edit test scores (addition: worse task accuracy; negation: T1 − T2 accuracy), mean over seeds; "
        "(λ1, λ2) chosen per seed and version on the validation split:",
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
