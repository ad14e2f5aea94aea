"""Report section of the language-model testbed: unlearning by negation (Tables 3–4 analogues)."""

from __future__ import annotations


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
