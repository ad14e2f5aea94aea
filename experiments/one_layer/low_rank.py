"""Experiment ``low_rank``: Corollary 1, task vectors truncated to rank r.

ΔW and ΔV of every task vector are truncated by SVD to rank r (``experiment.ranks``), each matrix
alone ("W", "V") and both ("both"), and the edits of ``experiments.one_layer.edits`` (addition: irrelevant and
aligned; negation: irrelevant and contradictory; the out-of-domain best point) are rerun with the
truncated vectors, coefficients chosen again. Also measured: the singular-value spectra of ΔW and ΔV
and the relative Frobenius residual ‖Δ − Δ_r‖_F / ‖Δ‖_F against r.

Corollary 1 (theory.md §5.6): rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3
(``experiments.theory.corollaries``; claims in ``experiments.claims.compression``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from experiments.config import Setup, to_container
from experiments.one_layer.edits import (
    EDITS,
    compressed_edits,
    series,
    suite_record,
)
from experiments.theory.corollaries import EDIT_LABELS, smallest_keeping_all
from models.cache import ModelCache
from models.task_vectors import TaskVector
from models.transforms import low_rank

MODES = {"W": ("W",), "V": ("V",), "both": ("W", "V")}


def truncate(tv: TaskVector, rank: int, params: tuple[str, ...]) -> TaskVector:
    """τ with the matrices in ``params`` replaced by their best rank-``rank`` approximations."""
    return TaskVector({k: (low_rank({k: v}, rank)[k] if k in params else v) for k, v in tv.items()})


def spectra(vectors: dict[str, TaskVector]) -> dict[str, dict[str, Any]]:
    """Per group of vectors (name before "/seed"): mean ± std singular values and relative residuals."""
    groups: dict[str, dict[str, list]] = {}
    for name, tv in vectors.items():
        g = groups.setdefault(name.split("/")[0], {"W": [], "V": []})
        for k in ("W", "V"):
            g[k].append(torch.linalg.svdvals(tv[k].double()).cpu().numpy())
    out = {}
    for name, g in groups.items():
        out[name] = {}
        for k, svs in g.items():
            s = np.stack(svs)
            tail = np.sqrt(np.cumsum((s**2)[:, ::-1], axis=1)[:, ::-1])  # tail[:, r] = ‖s[r:]‖
            rel = np.concatenate([tail[:, 1:], np.zeros((s.shape[0], 1))], axis=1) / tail[:, :1]
            out[name][k] = {
                "singular_values": s.mean(0).tolist(),
                "singular_values_std": s.std(0).tolist(),
                "relative_residual": rel.mean(0).tolist(),  # index r-1: rank r
                "relative_residual_std": rel.std(0).tolist(),
                "rank1_residual_per_seed": rel[:, 0].tolist(),
            }
    return out


def _edit_table(results: dict, ranks: list[int]) -> dict[str, Any]:
    return {
        "edits": {
            "columns": ["matrices", "rank", "edit", "lambda", "acc", "hinge", "success"],
            "rows": [
                [mode, r, e, v.get("lambda", v.get("lambda1")), v["acc"], v["hinge"], v["success"]]
                for mode in MODES
                for r in ranks
                for e, v in results[mode][str(r)].items()
            ],
        }
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    ranks = sorted(set(int(r) for r in c["experiment"]["ranks"]))
    suite, full, results = compressed_edits(
        setup,
        c,
        cache,
        list(MODES),
        ranks,
        lambda tv, mode, r, psi0: truncate(tv, r, MODES[mode]),
        desc="low rank: edits",
        progress=progress,
    )
    out: dict[str, Any] = {
        "experiment": "low_rank",
        "config": c,
        "ranks": ranks,
        "modes": list(MODES),
        "edits": list(EDITS),
        "full": full,
        "results": results,
        "accuracy": series(results, ranks, "acc"),
        "hinge": series(results, ranks, "hinge"),
        "spectra": spectra(suite.vectors()),
        **suite_record(suite, c),
        "tables": _edit_table(results, ranks),
        "line_plots": [],
        "smallest_rank_keeping_all": {
            mode: smallest_keeping_all(full, results[mode], ranks, EDITS) for mode in MODES
        },
    }
    out["wall_seconds"] = time.perf_counter() - t0
    out["one_line"] = (
        f"low rank: smallest rank keeping every edit {out['smallest_rank_keeping_all']}; "
        f"{suite.models_trained}/{suite.models_requested} models trained; {out['wall_seconds']:.1f}s"
    )
    return out


def figures(m: dict) -> dict[str, Any]:
    """The figure of ``low_rank``; the edits' labels come from ``experiments.theory.corollaries``."""
    from plots.one_layer.compression import low_rank_figure

    return {"low_rank": low_rank_figure(m, EDIT_LABELS)}
