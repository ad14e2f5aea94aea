"""Experiment ``low_rank``: Corollary 1, task vectors truncated to rank r.

ΔW and ΔV of every task vector are truncated by SVD to rank r (``experiment.ranks``), each matrix
alone ("W", "V") and both ("both"), and the edits of ``experiments.edits`` (addition: irrelevant and
aligned; negation: irrelevant and contradictory; the out-of-domain best point) are rerun with the
truncated vectors, coefficients chosen again. Also measured: the singular-value spectra of ΔW and ΔV
and the relative Frobenius residual ‖Δ − Δ_r‖_F / ‖Δ‖_F against r.

Corollary 1 (theory.md §5.6): rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.checks import validate_low_rank as validate
from experiments.config import seeds_of, to_container
from experiments.edits import EDIT_LABELS, EDITS, evaluate_edits, kept_guarantees, prepare
from experiments.io import save_figure, write_metrics
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
            }
    return out


def claims(m: dict, eps: float) -> list[dict[str, Any]]:
    full = m["full"]
    rows = []
    r1 = m["results"]["both"].get("1")
    if r1 is not None:
        ok_full, kept = kept_guarantees(full, r1)
        lost = [e for e in ok_full if e not in kept]
        detail = "; ".join(
            f"{EDIT_LABELS[e]} hinge {full[e]['hinge']:.3f} → {r1[e]['hinge']:.3f}" for e in EDITS
        )
        rows.append(
            {
                "claim": "Rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3",
                "source": "Corollary 1",
                "criterion": "every edit that succeeds with full task vectors also succeeds with rank-1 ΔW and ΔV (λ re-chosen)",
                "measured": f"{len(kept)}/{len(ok_full)} kept"
                + (f" (lost: {', '.join(EDIT_LABELS[e] for e in lost)})" if lost else "")
                + f"; {detail}",
                "verdict": "agrees" if not lost else ("partly" if kept else "disagrees"),
            }
        )
    sp = m["spectra"]["T1"]
    rw, rv = sp["W"]["relative_residual"][0], sp["V"]["relative_residual"][0]
    rows.append(
        {
            "claim": "Task vectors are approximately rank 1 (‖Δ − Δ_LR‖_F small)",
            "source": "Corollary 1",
            "criterion": "rank-1 relative residual ‖Δ − Δ_1‖_F / ‖Δ‖_F ≤ 0.3 for ΔW and ΔV of Ψ*_T1",
            "measured": f"ΔW {rw:.3f}, ΔV {rv:.3f}; rank 2: ΔW {sp['W']['relative_residual'][1]:.3f}, "
            f"ΔV {sp['V']['relative_residual'][1]:.3f}",
            "verdict": "agrees"
            if max(rw, rv) <= 0.3
            else ("partly" if min(rw, rv) <= 0.3 else "disagrees"),
        }
    )
    for mode in ("W", "V", "both"):
        ranks = sorted(int(r) for r in m["results"][mode])
        smallest = next(
            (
                r
                for r in ranks
                if kept_guarantees(full, m["results"][mode][str(r)])[1]
                == kept_guarantees(full, full)[0]
            ),
            None,
        )
        m.setdefault("smallest_rank_keeping_all", {})[mode] = smallest
    return rows


def run(
    cfg: Any,
    out_dir: str | Path,
    *,
    progress: bool = False,
    cache: ModelCache | None = None,
    job_key: str | None = None,
) -> dict[str, Any]:
    setup = validate(cfg)
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    seeds = seeds_of(exp)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    suite = prepare(
        setup, exp, ev, seeds, cache, batched=c.get("batched", "auto"), progress=progress
    )
    full = evaluate_edits(suite, lambda tv: tv, ev)
    ranks = sorted(set(int(r) for r in exp["ranks"]))
    results: dict[str, dict[str, Any]] = {mode: {} for mode in MODES}
    todo = [(mode, r) for mode in MODES for r in ranks]
    for mode, r in tqdm(todo, desc="low rank: edits", disable=not progress):
        results[mode][str(r)] = evaluate_edits(
            suite, lambda tv, r=r, p=MODES[mode]: truncate(tv, r, p), ev
        )
    metrics: dict[str, Any] = {
        "experiment": "low_rank",
        "job_key": job_key,
        "config": c,
        "ranks": ranks,
        "modes": list(MODES),
        "edits": list(EDITS),
        "full": full,
        "results": results,
        "accuracy": {
            mode: {e: [results[mode][str(r)][e]["acc"] for r in ranks] for e in EDITS}
            for mode in MODES
        },
        "hinge": {
            mode: {e: [results[mode][str(r)][e]["hinge"] for r in ranks] for e in EDITS}
            for mode in MODES
        },
        "spectra": spectra(suite.vectors()),
        "models_requested": suite.models_requested,
        "models_trained": suite.models_trained,
        "figures": ["low_rank.png", "low_rank.pdf"],
        "tables": {
            "edits": {
                "columns": ["matrices", "rank", "edit", "lambda", "acc", "hinge", "success"],
                "rows": [
                    [
                        mode,
                        r,
                        e,
                        v.get("lambda", v.get("lambda1")),
                        v["acc"],
                        v["hinge"],
                        v["success"],
                    ]
                    for mode in MODES
                    for r in ranks
                    for e, v in results[mode][str(r)].items()
                ],
            }
        },
        "line_plots": [],
    }
    metrics["claims"] = claims(metrics, ev["eps"])
    metrics["wall_seconds"] = time.perf_counter() - t0
    metrics["one_line"] = (
        f"low rank: smallest rank keeping every edit {metrics['smallest_rank_keeping_all']}; "
        f"{suite.models_trained}/{suite.models_requested} models trained; {metrics['wall_seconds']:.1f}s"
    )

    from plots.compression import low_rank_figure
    from plots.style import plt

    fig = low_rank_figure(metrics)
    save_figure(fig, out_dir, "low_rank")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
