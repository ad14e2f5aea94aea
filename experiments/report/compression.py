"""Report sections of Corollaries 1–2: edits with low-rank and with pruned task vectors."""

from __future__ import annotations


def _edit_table(m: dict, keys: list, key_label: str, variants: dict[str, str]) -> list[str]:
    from experiments.theory.corollaries import EDIT_LABELS, EDITS

    def cells(r: dict) -> str:  # mean hinge of each edit, ✗ where the edit fails
        return " | ".join(f"{r[e]['hinge']:.3f}{'' if r[e]['success'] else ' ✗'}" for e in EDITS)

    lines = [
        f"| {key_label} | " + " | ".join(EDIT_LABELS[e] for e in EDITS) + " |",
        "|---|" + "---|" * len(EDITS),
        f"| full | {cells(m['full'])} |",
    ]
    for variant, label in variants.items():
        for k in keys:
            lines.append(f"| {label} {k} | {cells(m['results'][variant][str(k)])} |")
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
