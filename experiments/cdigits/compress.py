"""Experiment ``cdigits_compress``: Corollaries 1–2 on the ViT task vectors of ``cdigits_pair``.

Every matrix of every task vector is truncated by SVD to rank min(r, its rank) (``experiment.ranks``;
vectors and biases are kept), or every tensor is magnitude-pruned to its largest entries
(``experiment.keep``, per tensor). Per seed and per version of the task vectors (dense, each rank,
each kept fraction), the pair edits Ψ0 + λ1 τ1 + λ2 τ2 are chosen on the *validation* split over
the 2-D grid λ1 ∈ ``experiment.t1_lam`` × λ2 ∈ ``eval.lam`` by the Table 1 rules
(``experiments.cdigits.choose``; an axis is widened when the choice lies on its open edge) and
reported on the *test* split (``experiment.n_eval`` digits per task and split):

* addition (each pair): score = the worse of T1's and T2's test accuracy at the chosen point;
* negation (irrelevant and contradictory pairs): score = T1's − T2's test accuracy at the point
  chosen among λ2 < 0 where T1 keeps ``eval.retain_fraction`` of Ψ*_T1's validation accuracy
  (0 when no point keeps T1).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.cdigits.choose import Grid, Measure, choose, score
from experiments.cdigits.common import bookkeeping, prepare, task_vector
from experiments.config import CSetup, lam_grid, pair_tasks, to_container
from models.grid import evaluate_grid
from models.transforms import low_rank, prune_magnitude
from models.vit_train import evaluate
from synthetic.cdigits import ColourTask


def val_measure(psi0, tvs: list, data: dict, memory_mb: float) -> Measure:
    """The validation grid of one seed and version of the task vectors, each point evaluated once
    (a widened grid evaluates only its new points)."""
    seen: dict[tuple[float, float], list[float]] = {}

    def measure(l1: np.ndarray, l2: np.ndarray) -> Grid:
        pts = [(round(float(a), 10), round(float(b), 10)) for a in l1 for b in l2]
        new = [p for p in dict.fromkeys(pts) if p not in seen]
        if new:
            res = evaluate_grid(psi0, tvs, [list(p) for p in new], data, memory_mb=memory_mb)
            for k, p in enumerate(new):
                seen[p] = [float(res[t][m][k]) for t in ("T1", "T2") for m in ("acc", "hinge")]
        a = np.asarray([seen[p] for p in pts]).reshape(len(l1), len(l2), 4)
        return {
            "T1": {"acc": a[..., 0], "hinge": a[..., 1]},
            "T2": {"acc": a[..., 2], "hinge": a[..., 3]},
        }

    return measure


def seed_edits(world, tvs: list, val: dict, test: dict, kinds: list, keep: float, grid: dict):
    """One seed and version of the task vectors: each edit's validation choice and test score."""
    measure = val_measure(world.psi0, tvs, val, grid["memory_mb"])
    args = (grid["widen"], grid["widen_steps"], grid["step"])
    chosen = {k: choose(k, grid["axes"], measure, keep, *args) for k in kinds}
    pts = [c for c in chosen.values() if c["lambda1"] is not None]
    if pts:
        coef = [[c["lambda1"], c["lambda2"]] for c in pts]
        res = evaluate_grid(world.psi0, tvs, coef, test, memory_mb=grid["memory_mb"])
        for k, c in enumerate(pts):
            c["T1_acc"], c["T2_acc"] = (float(res[t]["acc"][k]) for t in ("T1", "T2"))
    out = {}
    for kind, c in chosen.items():
        none = c["lambda1"] is None
        t1, t2 = (None, None) if none else (c["T1_acc"], c["T2_acc"])
        out[kind] = {**c, "T1_acc": t1, "T2_acc": t2, "score": 0.0 if none else score(kind, t1, t2)}
    return out


def versions(exp: dict) -> list[tuple[str, Any, Any]]:
    """(family, value, transform) of every version of the task vectors: dense, ranks, kept fractions."""
    ranks = sorted({int(r) for r in exp["ranks"]})
    keep = sorted({float(k) for k in exp["keep"]}, reverse=True)
    return (
        [("full", None, lambda tv: tv)]
        + [("low_rank", r, lambda tv, r=r: low_rank(tv, r, clip=True)) for r in ranks]
        + [("magnitude", k, lambda tv, k=k: prune_magnitude(tv, k)) for k in keep]
    )


def summary(per_seed: list[dict]) -> dict[str, Any]:
    """An edit's per-seed choices with its mean score, per-seed scores and the on-edge flag."""
    scores = [p["score"] for p in per_seed]
    return {
        "score": float(np.mean(scores)),
        "scores": scores,
        "on_edge": any(p["on_edge"] for p in per_seed),
        "per_seed": per_seed,
    }


def pair_seed(world, models, tasks, pair: str, s: int, vs: list, grid: dict, exp: dict, ev: dict):
    """Every version's edits of one pair and seed: {(family, value): {edit kind: choice}}."""
    n = exp.get("n_eval")
    split = {
        part: {"T1": world.data(tasks["T1"], part, s, n), "T2": world.data(tasks[pair], part, s, n)}
        for part in ("val", "test")
    }
    own = evaluate(models[("T1", s)][0], *split["val"]["T1"])["accuracy"]
    kinds = ["add"] if pair.startswith("aligned") else ["add", "negate"]
    tvs = [task_vector(world, models[(t, s)][0]) for t in ("T1", pair)]
    keep = ev["retain_fraction"] * own
    return {
        (fam, v): seed_edits(world, [f(tv) for tv in tvs], split["val"], split["test"], kinds,
                             keep, grid)
        for fam, v, f in vs
    }  # fmt: skip


def measure_all(world, models, tasks, seeds, vs, grid, exp, ev, progress) -> dict[str, Any]:
    """{family: {edit: summary}} ("full") or {family: {edit: [{key: value, **summary}]}}."""
    pairs = [n for n in tasks if n != "T1"]
    runs = {
        (p, s): pair_seed(world, models, tasks, p, s, vs, grid, exp, ev)
        for p, s in tqdm(
            [(p, s) for p in pairs for s in seeds], desc="cdigits compress", disable=not progress
        )
    }
    out: dict[str, Any] = {"full": {}, "low_rank": {}, "magnitude": {}}
    key = {"low_rank": "rank", "magnitude": "keep"}
    for p in pairs:
        for kind in runs[(p, seeds[0])][("full", None)]:
            e = f"{kind} {p}"
            for fam, v, _ in vs:
                sm = summary([runs[(p, s)][(fam, v)][kind] for s in seeds])
                if fam == "full":
                    out["full"][e] = sm
                else:
                    out[fam].setdefault(e, []).append({key[fam]: v, **sm})
    return out


def compute(cfg: Any, setup: CSetup, *, progress: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    tasks = {n: ColourTask(n, *r) for n, r in pair_tasks(exp).items()}
    world, models = prepare(
        setup, c, tasks, progress=progress, desc="cdigits compress: fine-tuning"
    )
    grid = {
        "axes": [np.asarray(lam_grid(exp["t1_lam"])), np.asarray(lam_grid(ev["lam"]))],
        "step": [float(exp["t1_lam"]["step"]), float(ev["lam"]["step"])],
        "widen": exp["max_widen"],
        "widen_steps": exp["widen_steps"],
        "memory_mb": ev["memory_mb"],
    }
    vs = versions(exp)
    res = measure_all(world, models, tasks, list(setup.seeds), vs, grid, exp, ev, progress)
    ranks = [v for fam, v, _ in vs if fam == "low_rank"]
    keep = [v for fam, v, _ in vs if fam == "magnitude"]
    full, low, mag = res["full"], res["low_rank"], res["magnitude"]
    wall = time.perf_counter() - t0
    return {
        "experiment": "cdigits_compress",
        "config": c,
        "ranks": ranks,
        "keep": keep,
        "full": full,
        "low_rank": low,
        "magnitude": mag,
        "accuracy_vs_rank": {e: [r["score"] for r in low[e]] for e in full},
        "accuracy_vs_keep": {e: [r["score"] for r in mag[e]] for e in full},
        **bookkeeping(world),
        "tables": {},
        "line_plots": [],
        "wall_seconds": wall,
        "one_line": f"{len(ranks)} ranks, {len(keep)} kept fractions; {wall:.1f}s",
    }
