"""``gradients_vit`` part 3: merging task vectors taken at different points of fine-tuning (gradients.md
§4.3, §5(b)-(c)) for one seed's run.

Vector kinds: "1_epoch", "10_epochs" (when the budget has 10 epochs), "converged" (each task's epoch by
the convergence rule) and one per fraction of the budget ("10%", …, "100%": the epoch-end checkpoint
at round(f·E)). Task sets: ``sets_per_size`` sets drawn per size of ``set_sizes`` (every set when there
are fewer), then all tasks. Aggregations: "mean", θ0 + (1/|S|) Σ τ_t (one GD step on the mean loss at
one epoch, §3.3), and "tuned", θ0 + α Σ τ_t with α of ``alphas`` chosen per set on the validation split
(mean accuracy over the set's tasks; the smallest α on ties), for the three main kinds. Each task is
scored on its test digits with the merged body and its own frozen head: accuracy and the logistic loss.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from experiments.theory.gradients import checkpoint_epoch
from models.vit_config import ViTConfig
from models.vit_multi import Run, outputs_all_heads, unflatten
from synthetic.runtime import derive_seed

MAIN_KINDS = ("1_epoch", "10_epochs", "converged")


def fraction_kind(f: float) -> str:
    return f"{100 * f:g}%"


def task_sets(n_tasks: int, sizes: list[int], per_size: int, seed: int) -> list[tuple[int, ...]]:
    """``per_size`` sets of each size (seeded; all when fewer exist), then all tasks."""
    out = []
    for k in sizes:
        combos = list(itertools.combinations(range(n_tasks), k))
        if len(combos) > per_size:
            rng = np.random.default_rng(derive_seed("gradients_vit-sets", k, seed))
            combos = [combos[i] for i in sorted(rng.choice(len(combos), per_size, replace=False))]
        out += combos
    return [*out, tuple(range(n_tasks))]


def kinds_of(epochs: int, converged: list[int], fractions: list[float]) -> dict[str, list[int]]:
    """Vector kind -> the checkpoint epoch of each task."""
    T = len(converged)
    kinds = {"1_epoch": [1] * T}
    if epochs >= 10:
        kinds["10_epochs"] = [10] * T
    kinds["converged"] = list(converged)
    return kinds | {fraction_kind(f): [checkpoint_epoch(f, epochs)] * T for f in fractions}


@dataclass
class Scorer:
    """Accuracy and logistic loss of flat bodies under every task's head, on one split."""

    cfg: ViTConfig
    like: dict[str, torch.Tensor]
    heads: dict[str, torch.Tensor]
    x: torch.Tensor
    Y: torch.Tensor  # (T, n) in ±1

    @torch.no_grad()
    def __call__(self, flats: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(M, T) accuracy and (M, T) mean loss of the M bodies ``flats`` (M, P)."""
        f = outputs_all_heads(self.cfg, unflatten(flats, self.like), self.heads, self.x)
        m = self.Y.to(f.dtype)[None] * f
        return (m > 0).double().mean(-1).cpu().numpy(), F.softplus(-m).double().mean(
            -1
        ).cpu().numpy()


def _per_set(sets, acc: np.ndarray, loss: np.ndarray, rows=None) -> list[dict[str, list]]:
    rows = range(len(sets)) if rows is None else rows
    return [
        {"acc": acc[r, list(s)].tolist(), "loss": loss[r, list(s)].tolist()}
        for r, s in zip(rows, sets, strict=True)
    ]


def _tuned(theta0, tau, sets, alphas, val: Scorer, test: Scorer) -> list[dict[str, Any]]:
    """Per set: α chosen on validation (mean accuracy over the set's tasks), then test scores."""
    sums = torch.stack([tau[list(s)].sum(0) for s in sets])  # (S, P)
    a = torch.as_tensor(alphas, dtype=sums.dtype, device=sums.device)
    grid = theta0 + a[None, :, None] * sums[:, None]  # (S, A, P)
    vacc, _ = val(grid.reshape(-1, grid.shape[-1]))
    vacc = vacc.reshape(len(sets), len(alphas), -1)
    best = [int(np.argmax(vacc[i][:, list(s)].mean(1))) for i, s in enumerate(sets)]
    acc, loss = test(torch.stack([grid[i, b] for i, b in enumerate(best)]))
    return [
        {"alpha": float(alphas[b]), **r}
        for b, r in zip(best, _per_set(sets, acc, loss), strict=True)
    ]


def merge_seed(run: Run, converged: list[int], exp: dict, seed: int, val: Scorer, test: Scorer):
    """Every kind's individual and merged scores for one seed's run (tasks in the run's order)."""
    E, T = run.flat.shape[0] - 1, run.flat.shape[1]
    theta0 = run.flat[0, 0]
    sets = task_sets(T, exp["set_sizes"], exp["sets_per_size"], seed)
    z_acc, z_loss = test(theta0[None])
    out: dict[str, Any] = {
        "sets": [list(s) for s in sets],
        "zero_shot": {"acc": z_acc[0].tolist(), "loss": z_loss[0].tolist()},
        "kinds": {},
    }
    done: dict[tuple, dict] = {}
    for kind, ep in kinds_of(E, converged, exp["fractions"]).items():
        if tuple(ep) not in done:
            tau = run.flat[ep, torch.arange(T)] - theta0  # (T, P)
            i_acc, i_loss = test(theta0 + tau)
            mean = torch.stack([theta0 + tau[list(s)].mean(0) for s in sets])
            done[tuple(ep)] = {
                "tau": tau,
                "individual": {"acc": np.diag(i_acc).tolist(), "loss": np.diag(i_loss).tolist()},
                "mean": _per_set(sets, *test(mean)),
            }
        rec = done[tuple(ep)]
        out["kinds"][kind] = {"epochs": ep, "individual": rec["individual"], "mean": rec["mean"]}
        if kind in MAIN_KINDS:
            out["kinds"][kind]["tuned"] = _tuned(theta0, rec["tau"], sets, exp["alphas"], val, test)
    return out
