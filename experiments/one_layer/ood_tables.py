"""The tables of ``ood``: the Table 2 analogue (from the per-seed measurements and the best points)
and the wandb tables / line plots of the results."""

from __future__ import annotations

from typing import Any

from experiments.analysis import mean_std
from experiments.one_layer.ood_common import TARGET


def table2_of(per_seed: list[dict], pts: dict[str, dict]) -> dict[str, dict]:
    """Ψ*_T' itself, Ψ*_T1 = (1, 0), Ψ*_T2 = (0, 1) on T''s test split, then the best points."""
    own = [o for r in per_seed for o in r["own"] if o["task"] == TARGET]
    units = {
        key: {
            "lambda1": float(k == 0),
            "lambda2": float(k == 1),
            **{m: mean_std([float(r["unit"][m][k]) for r in per_seed]) for m in ("acc", "hinge")},
        }
        for k, key in enumerate(("psi_T1", "psi_T2"))
    }
    return {
        "finetuned": {
            "acc": mean_std([o["accuracy"] for o in own]),
            "hinge": mean_std([o["hinge"] for o in own]),
        },
        **units,
        **pts,
    }


def ood_tables(table2: dict, sweep: list[dict], label: str) -> dict[str, Any]:
    """``tables`` (Table 2 analogue, κ sweep) and ``line_plots`` for wandb."""
    columns = ["model", "lambda1", "lambda2", "acc_mean", "acc_std", "hinge_mean", "hinge_std"]
    rows = [
        [
            name,
            row.get("lambda1"),
            row.get("lambda2"),
            row["acc"]["mean"],
            row["acc"]["std"],
            row["hinge"]["mean"],
            row["hinge"]["std"],
        ]
        for name, row in table2.items()
    ]
    sweep_rows = [
        [
            r["kappa"],
            r["best"]["acc"]["mean"],
            r["best"]["hinge"]["mean"],
            r.get("best_single", {}).get("acc", {}).get("mean"),
            r.get("best_single", {}).get("hinge", {}).get("mean"),
        ]
        for r in sweep
    ]
    plot = {
        "table": "kappa_sweep",
        "x": "kappa",
        "y": "best_hinge",
        "stroke": None,
        "title": f"{label}: κ sweep",
    }
    return {
        "tables": {
            "table2": {"columns": columns, "rows": rows},
            "kappa_sweep": {
                "columns": ["kappa", "best_acc", "best_hinge", "single_acc", "single_hinge"],
                "rows": sweep_rows,
            },
        },
        "line_plots": [plot] if sweep else [],
    }
