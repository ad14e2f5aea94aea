"""``gradients_vit`` part 3 over seeds: merged accuracy, normalised accuracy (both denominators) and
loss per aggregation and vector kind, per set size, and the per-set gaps the merging claim reads.

Normalised accuracy of a task in a merge = merged accuracy / the task's individually fine-tuned
accuracy, either at the same checkpoint as the merged vectors ("same") or at convergence
("converged"); a set's value is the mean over its tasks, a seed's the mean over its sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.cdigits.gradients_vit_merge import MAIN_KINDS


def _set_rows(rec: dict, kind: str, agg: str) -> list[dict[str, float]]:
    """One seed, one kind and aggregation: per task set its size, accuracy, both normalised
    accuracies and loss (means over the set's tasks)."""
    ind = np.asarray(rec["kinds"][kind]["individual"]["acc"])
    conv = np.asarray(rec["kinds"]["converged"]["individual"]["acc"])
    rows = []
    for s, r in zip(rec["sets"], rec["kinds"][kind][agg], strict=True):
        acc = np.asarray(r["acc"])
        rows.append(
            {
                "size": len(s),
                "acc": float(acc.mean()),
                "loss": float(np.mean(r["loss"])),
                "normalized_acc_same": float(np.mean(acc / np.maximum(ind[s], 1e-12))),
                "normalized_acc": float(np.mean(acc / np.maximum(conv[s], 1e-12))),
            }
        )
    return rows


KEYS = ("acc", "normalized_acc", "normalized_acc_same", "loss")


def _means(rows_per_seed: list[list[dict]]) -> dict[str, Any]:
    """Per key: the per-seed means over sets and their mean over seeds (``<key>_mean``)."""
    out: dict[str, Any] = {"per_seed": {}}
    for k in KEYS:
        vals = [float(np.mean([r[k] for r in rows])) for rows in rows_per_seed]
        out["per_seed"][k] = vals
        out[f"{k}_mean"] = float(np.mean(vals))
    return out


def kind_summary(per_seed: list[dict], kind: str, agg: str) -> dict[str, Any]:
    rows = [_set_rows(rec, kind, agg) for rec in per_seed]
    out = _means(rows)
    sizes = sorted({r["size"] for r in rows[0]})
    out["by_size"] = {
        str(k): _means([[r for r in rs if r["size"] == k] for rs in rows]) for k in sizes
    }
    if agg == "tuned":
        out["alphas"] = [[r["alpha"] for r in rec["kinds"][kind]["tuned"]] for rec in per_seed]
    out["individual_acc_mean"] = float(
        np.mean([rec["kinds"][kind]["individual"]["acc"] for rec in per_seed])
    )
    return out


def gaps(per_seed: list[dict], agg: str) -> dict[str, Any]:
    """Points of normalised accuracy (converged denominator), converged minus one-epoch merge, per
    set and seed; the per-seed mean over sets."""
    per_set = []
    for rec in per_seed:
        one, conv = _set_rows(rec, "1_epoch", agg), _set_rows(rec, "converged", agg)
        per_set.append(
            [
                100 * (c["normalized_acc"] - o["normalized_acc"])
                for o, c in zip(one, conv, strict=True)
            ]
        )
    return {
        "per_set": per_set,
        "per_seed": [float(np.mean(g)) for g in per_set],
        "sizes": [len(s) for s in per_seed[0]["sets"]],
    }


def merge_summary(per_seed: list[dict]) -> dict[str, Any]:
    """One optimiser's merges over seeds (``merge_seed`` records)."""
    kinds = list(per_seed[0]["kinds"])
    out: dict[str, Any] = {"mean": {k: kind_summary(per_seed, k, "mean") for k in kinds}}
    out["tuned"] = {k: kind_summary(per_seed, k, "tuned") for k in kinds if k in MAIN_KINDS}
    out["gap"] = {agg: gaps(per_seed, agg) for agg in ("mean", "tuned")}
    out["zero_shot_acc_mean"] = float(np.mean([rec["zero_shot"]["acc"] for rec in per_seed]))
    out["converged_epochs"] = [rec["kinds"]["converged"]["epochs"] for rec in per_seed]
    return out


def fraction_table(summary: dict, fractions: list[float], kind_of) -> list[dict[str, float]]:
    """The §5(c) analogue: per fraction of the budget, the mean merge's accuracy, the individually
    fine-tuned accuracy and both normalised accuracies (means over seeds)."""
    rows = []
    for f in fractions:
        m = summary["mean"][kind_of(f)]
        rows.append(
            {
                "fraction": f,
                "merged_acc": m["acc_mean"],
                "individual_acc": m["individual_acc_mean"],
                "normalized_same": m["normalized_acc_same_mean"],
                "normalized_converged": m["normalized_acc_mean"],
                "loss": m["loss_mean"],
            }
        )
    return rows
