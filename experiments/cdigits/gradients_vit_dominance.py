"""``gradients_vit`` part 2: first-epoch dominance on the ViT (gradients.md §4.2), per task and seed.

From one side-by-side run (``models.vit_multi.Run``): per task, the update-norm shares
s_e = ‖Δ_e‖ / Σ_e' ‖Δ_e'‖, the authors' normalised minibatch-gradient norm (the epoch's mean
minibatch-gradient norm over its sum across epochs), s_1/max_{e≥2} s_e and s_1/s_2 of both,
cos(Δ_1, τ) with τ the whole run's vector, the epoch × epoch cosine maps of the updates Δ_e and of the
accumulated gradients ĝ_e, and the convergence epoch by the stated rule (``converged_epoch``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from experiments.claims import interval
from experiments.theory.gradients import dominance_ratio, normalized_epoch_norms, update_norm_shares
from models.vit_multi import Run


def converged_epoch(val_acc: np.ndarray, tol: float) -> int:
    """The stated convergence rule: the first epoch e ≥ 1 whose validation accuracy is within ``tol``
    of the best validation accuracy of the whole budget (the checkpoint early stopping keeps)."""
    acc = np.asarray(val_acc)[1:]
    return int(np.argmax(acc >= acc.max() - tol)) + 1


def _cos_map(v: torch.Tensor) -> list[list[float]]:
    """Cosines between the rows of v (E, P), float64."""
    u = v.double() / v.double().norm(dim=1, keepdim=True).clamp_min(1e-300)
    return (u @ u.T).tolist()


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-300))


def run_dominance(run: Run, names: list[str], tol: float) -> dict[str, dict[str, Any]]:
    """Per task (``names``, in the run's order): every quantity of one seed's run."""
    out = {}
    for g, name in enumerate(names):
        traj = run.flat[:, g]  # (E + 1, P)
        ups = traj[1:] - traj[:-1]
        shares = update_norm_shares(ups.double().norm(dim=1).numpy())
        gn = normalized_epoch_norms(run.grad_norm[:, g].double().numpy())
        val = run.val_acc[:, g].numpy()
        k = converged_epoch(val, tol)
        out[name] = {
            "shares": shares.tolist(),
            "grad_norm": gn.tolist(),
            "ratio": dominance_ratio(shares),
            "first_over_second": float(shares[0] / shares[1]),
            "grad_ratio": dominance_ratio(gn),
            "grad_first_over_second": float(gn[0] / gn[1]),
            "cos_first_final": _cos(ups[0], traj[-1] - traj[0]),
            "cos_first_converged": _cos(ups[0], traj[k] - traj[0]),
            "update_cos": _cos_map(ups),
            "grad_cos": _cos_map(run.grad_sum[:, g]),
            "converged_epoch": k,
            "val_acc": val.tolist(),
            "train_loss": run.train_loss[:, g].tolist(),
            "first_step_cos": float(run.first_step_cos[g]),
        }
    return out


SCALARS = (
    "ratio",
    "first_over_second",
    "grad_ratio",
    "grad_first_over_second",
    "cos_first_final",
    "cos_first_converged",
    "converged_epoch",
    "first_step_cos",
)
CURVES = ("shares", "grad_norm", "val_acc", "train_loss")


def dominance_summary(per_seed: list[dict[str, dict]], epochs: int) -> dict[str, Any]:
    """One optimiser over seeds: per task the mean curves, each scalar's per-seed values and t
    interval, the mean cosine maps; and the maps averaged over tasks too."""
    tasks = list(per_seed[0])
    out: dict[str, Any] = {"tasks": {}}
    for t in tasks:
        runs = [s[t] for s in per_seed]
        row: dict[str, Any] = {c: np.mean([r[c] for r in runs], axis=0).tolist() for c in CURVES}
        for key in SCALARS:
            vals = [float(r[key]) for r in runs]
            row[key] = {"per_seed": vals, **interval(vals)}
        for key in ("update_cos", "grad_cos"):
            row[key] = np.mean([r[key] for r in runs], axis=0).tolist()
        row["converged_at_budget_end"] = sum(r["converged_epoch"] == epochs for r in runs)
        out["tasks"][t] = row
    for key in ("update_cos", "grad_cos"):
        out[key] = np.mean([out["tasks"][t][key] for t in tasks], axis=0).tolist()
    holds = [
        r["ratio"] > 1 and r["shares"][0] > r["shares"][1] for s in per_seed for r in s.values()
    ]
    out["holds_fraction"] = float(np.mean(holds))
    holds_g = [r["grad_ratio"] > 1 for s in per_seed for r in s.values()]
    out["grad_holds_fraction"] = float(np.mean(holds_g))
    return out
