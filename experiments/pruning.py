"""Experiment ``pruning``: Corollary 2, task vectors with only the largest neuron rows of ΔV kept.

Corollary 2 (theory.md §5.7): the rows u_i of ΔV (hidden neuron i) fall into two groups, a constant
fraction with ‖u_i‖ ≥ Ω(m^{-1/2}) and the rest with ‖u_i‖ ≤ O(m^{-1/2} √(log B / B)); zeroing the small
rows keeps Theorems 1–3. Measured:

* the row norms of every ΔV (histogram), split into two groups by 1-D 2-means on log ‖u_i‖ (the
  split that minimises the within-group variance), with the large fraction and the ratio of the
  group medians (the theory's ratio is about √(log B / B));
* the edits of ``experiments.edits`` with ΔV pruned to the largest rows (kept fraction
  ``experiment.keep``), against entry-wise magnitude pruning of ΔV at the same number of non-zeros;
  ΔW is kept whole in both (the corollary prunes neurons).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.checks import validate_pruning as validate
from experiments.config import seeds_of, to_container
from experiments.edits import EDIT_LABELS, EDITS, evaluate_edits, kept_guarantees, prepare
from experiments.io import save_figure, write_metrics
from models.cache import ModelCache
from models.task_vectors import TaskVector
from models.transforms import prune_magnitude, prune_rows

METHODS = ("rows", "magnitude")


def pruned(tv: TaskVector, keep: float, method: str) -> TaskVector:
    """ΔV pruned to round(keep·m) rows (``rows``) or to as many largest entries (``magnitude``)."""
    m = tv["V"].shape[0]
    k = max(1, round(keep * m))
    if method == "rows":
        return prune_rows(tv, k / m, param="V")
    v = prune_magnitude({"V": tv["V"]}, k / m)["V"]
    return TaskVector({**dict(tv.items()), "V": v})


def two_groups(norms: np.ndarray) -> dict[str, float]:
    """1-D 2-means on log norms (exact: every split of the sorted values); the large group's share."""
    x = np.sort(np.log(np.maximum(norms, 1e-30)))
    best = (np.inf, 1)
    for i in range(1, len(x)):
        a, b = x[:i], x[i:]
        ss = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
        if ss < best[0]:
            best = (ss, i)
    i = best[1]
    small, large = np.exp(x[:i]), np.exp(x[i:])
    return {
        "threshold": float(math.sqrt(small.max() * large.min())),
        "large_fraction": float(large.size / x.size),
        "median_small": float(np.median(small)),
        "median_large": float(np.median(large)),
        "ratio": float(np.median(small) / np.median(large)),
    }


def claims(m: dict, eps: float, batch: int) -> list[dict[str, Any]]:
    rows = []
    g = m["groups"]["T1"]
    predicted = math.sqrt(math.log(batch) / batch)
    rows.append(
        {
            "claim": "ΔV's neuron rows split into a Θ(m^−1/2) group and a near-zero group",
            "source": "Corollary 2",
            "criterion": (
                f"2-means on log ‖u_i‖ (Ψ*_T1, all seeds): median ratio small/large ≤ √(log B / B) = {predicted:.2f} "
                "and a large group holding 10–90% of the rows"
            ),
            "measured": (
                f"ratio {g['ratio']:.2f}, large group {100 * g['large_fraction']:.0f}% of rows; "
                f"√m · median ‖u_i‖: large {g['median_large'] * math.sqrt(m['width']):.2f}, "
                f"small {g['median_small'] * math.sqrt(m['width']):.2f}"
            ),
            "verdict": (
                "agrees"
                if g["ratio"] <= predicted and 0.1 <= g["large_fraction"] <= 0.9
                else (
                    "partly"
                    if 0.1 <= g["large_fraction"] <= 0.9 and g["ratio"] <= 2 * predicted
                    else "disagrees"
                )
            ),
        }
    )
    full = m["full"]
    keeps = m["keep"]
    ok_full = kept_guarantees(full, full)[0]

    def smallest(method):
        good = [
            k for k in keeps if kept_guarantees(full, m["results"][method][str(k)])[1] == ok_full
        ]
        return min(good) if good else None

    s_rows, s_mag = smallest("rows"), smallest("magnitude")
    above = [k for k in keeps if k >= 0.5 - 1e-9]
    k_ref = min(above) if above else max(keeps)
    at = m["results"]["rows"][str(k_ref)]
    lost = [e for e in ok_full if not at[e]["success"]]
    rows.append(
        {
            "claim": "Keeping only the large rows of ΔV keeps the guarantees of Theorems 1–3",
            "source": "Corollary 2",
            "criterion": (
                "keeping the largest 50% of the rows (theory.md §8.1; the smallest listed fraction ≥ 0.5): "
                "every edit that succeeds with full vectors still succeeds (λ re-chosen)"
            ),
            "measured": (
                f"kept {k_ref:g}: {len(ok_full) - len(lost)}/{len(ok_full)} edits kept"
                + (f" (lost: {', '.join(EDIT_LABELS[e] for e in lost)})" if lost else "")
                + f"; smallest kept fraction keeping every edit: rows {s_rows}, magnitude {s_mag}"
            ),
            "verdict": "agrees"
            if not lost
            else ("partly" if len(lost) < len(ok_full) else "disagrees"),
        }
    )
    worse = [
        (k, e)
        for k in keeps
        for e in ok_full
        if m["results"]["magnitude"][str(k)][e]["success"]
        and not m["results"]["rows"][str(k)][e]["success"]
    ]
    better = [
        (k, e)
        for k in keeps
        for e in ok_full
        if m["results"]["rows"][str(k)][e]["success"]
        and not m["results"]["magnitude"][str(k)][e]["success"]
    ]
    rows.append(
        {
            "claim": "Neuron (row) pruning is at least as good as entry-wise magnitude pruning at equal non-zeros",
            "source": "Corollary 2 (comparison)",
            "criterion": "over every kept fraction and edit: no case where magnitude pruning succeeds and row pruning fails",
            "measured": f"rows only: {len(better)} (fraction, edit) cases; magnitude only: {len(worse)}",
            "verdict": "agrees"
            if not worse
            else ("partly" if len(better) >= len(worse) else "disagrees"),
        }
    )
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
    vectors = suite.vectors()
    norms: dict[str, list[float]] = {}
    for name, tv in vectors.items():
        norms.setdefault(name.split("/")[0], []).extend(tv["V"].double().norm(dim=1).cpu().tolist())
    groups = {k: two_groups(np.asarray(v)) for k, v in norms.items()}
    full = evaluate_edits(suite, lambda tv: tv, ev)
    keeps = sorted({float(k) for k in exp["keep"]}, reverse=True)
    results: dict[str, dict[str, Any]] = {meth: {} for meth in METHODS}
    todo = [(meth, k) for meth in METHODS for k in keeps]
    for meth, k in tqdm(todo, desc="pruning: edits", disable=not progress):
        results[meth][str(k)] = evaluate_edits(
            suite, lambda tv, k=k, meth=meth: pruned(tv, k, meth), ev
        )
    metrics: dict[str, Any] = {
        "experiment": "pruning",
        "job_key": job_key,
        "config": c,
        "width": setup.model.width,
        "row_norms": norms,
        "groups": groups,
        "keep": keeps,
        "methods": list(METHODS),
        "edits": list(EDITS),
        "full": full,
        "results": results,
        "accuracy": {
            meth: {e: [results[meth][str(k)][e]["acc"] for k in keeps] for e in EDITS}
            for meth in METHODS
        },
        "hinge": {
            meth: {e: [results[meth][str(k)][e]["hinge"] for k in keeps] for e in EDITS}
            for meth in METHODS
        },
        "models_requested": suite.models_requested,
        "models_trained": suite.models_trained,
        "figures": ["pruning.png", "pruning.pdf"],
        "tables": {
            "edits": {
                "columns": ["method", "keep", "edit", "acc", "hinge", "success"],
                "rows": [
                    [meth, k, e, v["acc"], v["hinge"], v["success"]]
                    for meth in METHODS
                    for k in keeps
                    for e, v in results[meth][str(k)].items()
                ],
            }
        },
        "line_plots": [],
    }
    metrics["claims"] = claims(metrics, ev["eps"], setup.train.batch_size)
    metrics["wall_seconds"] = time.perf_counter() - t0
    g = groups["T1"]
    metrics["one_line"] = (
        f"pruning: ΔV rows large group {100 * g['large_fraction']:.0f}%, median ratio {g['ratio']:.2f}; "
        f"{suite.models_trained}/{suite.models_requested} models trained; {metrics['wall_seconds']:.1f}s"
    )

    from plots.compression import pruning_figure
    from plots.style import plt

    fig = pruning_figure(metrics)
    save_figure(fig, out_dir, "pruning")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
