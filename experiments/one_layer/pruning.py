"""Experiment ``pruning``: Corollary 2, task vectors with only the largest neuron rows of ΔV kept.

Corollary 2 (theory.md §5.7): the rows u_i of ΔV (hidden neuron i) fall into two groups, a constant
fraction with ‖u_i‖ ≥ Ω(m^{-1/2}) and the rest with ‖u_i‖ ≤ O(m^{-1/2} √(log B / B)); zeroing the small
rows keeps Theorems 1–3. Measured:

* the row norms of every ΔV (histogram), split into two groups by 1-D 2-means on log ‖u_i‖ (the
  split that minimises the within-group variance), with the large fraction and the ratio of the
  group medians (the theory's ratio is about √(log B / B));
* the edits of ``experiments.one_layer.edits`` with ΔV pruned to its largest rows, the kept fraction
  ``experiment.keep`` of the neurons of each readout sign (the lucky set of the proof holds neurons of
  both signs; keeping the largest rows overall can drop one sign: seed 0 kept 4 of 32 neurons with
  a > 0 at 50%, and lost the task), against entry-wise magnitude pruning of ΔV at the same number of
  non-zeros; ΔW is kept whole in both (the corollary prunes neurons).

The prediction is in ``experiments.theory.corollaries``, the claims in ``experiments.claims.compression``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from experiments.config import Setup, to_container
from experiments.one_layer.edits import (
    EDITS,
    EditSuite,
    compressed_edits,
    series,
    suite_record,
)
from experiments.theory.corollaries import EDIT_LABELS
from models.cache import ModelCache
from models.task_vectors import TaskVector
from models.transforms import prune_magnitude, prune_rows

METHODS = ("rows", "magnitude")


def pruned(tv: TaskVector, keep: float, method: str, readout: torch.Tensor) -> TaskVector:
    """ΔV pruned to its largest rows, ``keep`` of the neurons of each readout sign (``rows``), or to
    as many largest entries (``magnitude``). ``readout``: (P, m) or (m,); a neuron's sign is that of
    its readout summed over positions (the sign of a_i with the shared readout)."""
    signs = torch.sign(readout.reshape(-1, readout.shape[-1]).sum(0))
    if method == "rows":
        return prune_rows(tv, keep, param="V", groups=signs)
    n_rows = sum(max(1, round(keep * int((signs == g).sum()))) for g in torch.unique(signs))
    v = prune_magnitude({"V": tv["V"]}, n_rows / tv["V"].shape[0])["V"]
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


def _row_norms(suite: EditSuite) -> dict[str, list[list[float]]]:
    """‖u_i‖ of every row of ΔV, one list per seed, per group of task vectors."""
    norms: dict[str, list[list[float]]] = {}
    for name, tv in suite.vectors().items():
        norms.setdefault(name.split("/")[0], []).append(tv["V"].double().norm(dim=1).cpu().tolist())
    return norms


def _edit_table(results: dict, keeps: list[float]) -> dict[str, Any]:
    return {
        "edits": {
            "columns": ["method", "keep", "edit", "acc", "hinge", "success"],
            "rows": [
                [meth, k, e, v["acc"], v["hinge"], v["success"]]
                for meth in METHODS
                for k in keeps
                for e, v in results[meth][str(k)].items()
            ],
        }
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    keeps = sorted({float(k) for k in c["experiment"]["keep"]}, reverse=True)
    suite, full, results = compressed_edits(
        setup,
        c,
        cache,
        METHODS,
        keeps,
        lambda tv, meth, k, psi0: pruned(tv, k, meth, psi0.readout),
        desc="pruning: edits",
        progress=progress,
    )
    per_seed = _row_norms(suite)
    norms = {k: [x for seed in v for x in seed] for k, v in per_seed.items()}  # pooled over seeds
    groups = {k: two_groups(np.asarray(v)) for k, v in norms.items()}
    out: dict[str, Any] = {
        "experiment": "pruning",
        "config": c,
        "width": setup.model.width,
        "row_norms": norms,
        "groups": groups,
        "groups_per_seed": {
            k: [two_groups(np.asarray(seed)) for seed in v] for k, v in per_seed.items()
        },
        "keep": keeps,
        "methods": list(METHODS),
        "edits": list(EDITS),
        "full": full,
        "results": results,
        "accuracy": series(results, keeps, "acc"),
        "hinge": series(results, keeps, "hinge"),
        **suite_record(suite, c),
        "tables": _edit_table(results, keeps),
        "line_plots": [],
    }
    out["wall_seconds"] = time.perf_counter() - t0
    g = groups["T1"]
    out["one_line"] = (
        f"pruning: ΔV rows large group {100 * g['large_fraction']:.0f}%, median ratio {g['ratio']:.2f}; "
        f"{suite.models_trained}/{suite.models_requested} models trained; {out['wall_seconds']:.1f}s"
    )
    return out


def figures(m: dict) -> dict[str, Any]:
    """The figure of ``pruning``; the edits' labels come from ``experiments.theory.corollaries``."""
    from plots.one_layer.compression import pruning_figure

    return {"pruning": pruning_figure(m, EDIT_LABELS)}
