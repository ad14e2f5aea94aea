"""Experiment ``cdigits_compress``: Corollaries 1–2 on the ViT task vectors of ``cdigits_pair``.

Every matrix of every task vector is truncated by SVD to rank min(r, its rank) (``experiment.ranks``;
vectors and biases are kept), or every tensor is magnitude-pruned to its largest entries
(``experiment.keep``, per tensor). The pair edits are rerun with λ re-chosen on the mean curves by the
Table 1 rules (``experiments.task_pair.table1``) over the ``eval`` λ grid:

* addition (each pair): score = the worse of T1's and T2's accuracy at the multi-task λ;
* negation (irrelevant and contradictory pairs): score = T1's accuracy − T2's accuracy at the
  unlearning λ (T1 kept, T2 forgotten: high is good; 0 when no λ keeps T1).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.cdigits_common import build_world, task_vector
from experiments.cdigits_config import pair_tasks
from experiments.cdigits_config import validate_cdigits_compress as validate
from experiments.config import lambda_grid, to_container
from experiments.io import save_figure, write_metrics
from experiments.task_pair import table1
from models.grid import evaluate_grid
from models.transforms import low_rank, prune_magnitude
from models.vit_train import evaluate
from synthetic.cdigits import ColourTask


def edits(
    world, models, tasks, pairs, seeds, lams, ev, n_eval, ft1, transform
) -> dict[str, dict[str, Any]]:
    """Every pair edit with the task vectors passed through ``transform``; ``ft1`` is Ψ*_T1's own
    accuracy (the retention reference of the unlearning rule)."""
    out = {}
    for pair in pairs:
        per = []
        for s in seeds:
            data = {
                "T1": world.data(tasks["T1"], "test", s, n_eval),
                "T2": world.data(tasks[pair], "test", s, n_eval),
            }
            tvs = [transform(task_vector(world, models[(n, s)][0])) for n in ("T1", pair)]
            per.append(
                evaluate_grid(
                    world.psi0,
                    tvs,
                    [[1.0, float(x)] for x in lams],
                    data,
                    memory_mb=ev["memory_mb"],
                )
            )
        curves = {
            n: {
                "acc_mean": np.mean([p[n]["acc"] for p in per], 0),
                "hinge_mean": np.mean([p[n]["hinge"] for p in per], 0),
            }
            for n in ("T1", "T2")
        }
        t1 = table1(lams, curves, ft1, ev)
        mt, un = t1["multi_task"], t1["unlearning"]
        out[f"add {pair}"] = {
            "lambda": mt["lambda"],
            "score": min(mt["T1_acc"], mt["T2_acc"]),
            "T1_acc": mt["T1_acc"],
            "T2_acc": mt["T2_acc"],
        }
        if not pair.startswith("aligned"):
            out[f"negate {pair}"] = (
                {
                    "lambda": un["lambda"],
                    "score": un["T1_acc"] - un["T2_acc"],
                    "T1_acc": un["T1_acc"],
                    "T2_acc": un["T2_acc"],
                }
                if un
                else {"lambda": None, "score": 0.0, "T1_acc": None, "T2_acc": None}
            )
    return out


def run(
    cfg: Any, out_dir: str | Path, *, progress: bool = False, cache=None, job_key: str | None = None
) -> dict[str, Any]:
    setup = validate(cfg)
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    tasks = {n: ColourTask(n, *r) for n, r in pair_tasks(exp).items()}
    pairs = [n for n in tasks if n != "T1"]
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    world = build_world(setup, c.get("cache_dir"), progress=progress)
    lams = np.asarray(lambda_grid(ev))
    models = {
        (n, s): world.finetuned(t, s, progress=progress)
        for s in setup.seeds
        for n, t in tasks.items()
    }
    n_eval = exp.get("n_eval")
    ft1 = float(
        np.mean(
            [
                evaluate(models[("T1", s)][0], *world.data(tasks["T1"], "test", s, n_eval))[
                    "accuracy"
                ]
                for s in setup.seeds
            ]
        )
    )
    args = (world, models, tasks, pairs, setup.seeds, lams, ev, n_eval, ft1)
    full = edits(*args, lambda tv: tv)
    ranks = sorted({int(r) for r in exp["ranks"]})
    keep = sorted({float(k) for k in exp["keep"]}, reverse=True)
    low, mag = {e: [] for e in full}, {e: [] for e in full}
    for r in tqdm(ranks, desc="cdigits: low rank", disable=not progress):
        res = edits(*args, lambda tv, r=r: low_rank(tv, r, clip=True))
        for e in full:
            low[e].append({"rank": r, **res[e]})
    for k in tqdm(keep, desc="cdigits: pruning", disable=not progress):
        res = edits(*args, lambda tv, k=k: prune_magnitude(tv, k))
        for e in full:
            mag[e].append({"keep": k, **res[e]})
    tol = exp["tolerance"]

    def kept(rows):
        return [e for e in full if rows[e]["score"] >= full[e]["score"] - tol]

    r1 = {e: low[e][0] for e in full}
    kmin = {e: mag[e][-1] for e in full}
    claims = [
        {
            "claim": f"coloured digits: rank-{ranks[0]} ViT task vectors keep the pair edits",
            "source": "Corollary 1",
            "criterion": f"every edit score ≥ its full-rank score − {tol:.2f} (λ re-chosen)",
            "measured": "; ".join(
                f"{e} {full[e]['score']:.3f} → {r1[e]['score']:.3f}" for e in full
            ),
            "verdict": "agrees"
            if len(kept(r1)) == len(full)
            else ("partly" if kept(r1) else "disagrees"),
        },
        {
            "claim": f"coloured digits: magnitude-pruned ViT task vectors ({keep[-1]:g} of the entries) keep the pair edits",
            "source": "Corollary 2",
            "criterion": f"every edit score ≥ its dense score − {tol:.2f} (λ re-chosen)",
            "measured": "; ".join(
                f"{e} {full[e]['score']:.3f} → {kmin[e]['score']:.3f}" for e in full
            )
            + "; smallest kept fraction keeping every edit: "
            + str(
                min(
                    (
                        k
                        for i, k in enumerate(keep)
                        if all(mag[e][i]["score"] >= full[e]["score"] - tol for e in full)
                    ),
                    default=None,
                )
            ),
            "verdict": "agrees"
            if len(kept(kmin)) == len(full)
            else ("partly" if kept(kmin) else "disagrees"),
        },
    ]
    metrics: dict[str, Any] = {
        "experiment": "cdigits_compress",
        "job_key": job_key,
        "config": c,
        "ranks": ranks,
        "keep": keep,
        "full": full,
        "low_rank": low,
        "magnitude": mag,
        "accuracy_vs_rank": {e: [r["score"] for r in low[e]] for e in full},
        "accuracy_vs_keep": {e: [r["score"] for r in mag[e]] for e in full},
        "claims": claims,
        "models_trained": world.cache.trained,
        "models_from_cache": world.cache.hits,
        "figures": ["cdigits_compress.png", "cdigits_compress.pdf"],
        "tables": {},
        "line_plots": [],
    }
    metrics["wall_seconds"] = time.perf_counter() - t0
    metrics["one_line"] = (
        f"{len(ranks)} ranks, {len(keep)} kept fractions; {metrics['wall_seconds']:.1f}s"
    )

    from plots.cdigits import compress_figure
    from plots.style import plt

    fig = compress_figure(metrics)
    save_figure(fig, out_dir, "cdigits_compress")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
