"""Steps shared by the one-layer out-of-domain measurements (``ood``, its sweeps, and the edits of
``low_rank``/``pruning``): the geometry of T1, T2 and T', T''s validation split, and the (λ1, λ2)
grid maps of Ψ0 + λ1 τ1 + λ2 τ2."""

from __future__ import annotations

import numpy as np

from experiments.config import Setup
from models.grid import evaluate_grid, grid_2d
from models.task_vectors import TaskVector
from synthetic.patterns import ood_geometry
from synthetic.runtime import derive_seed, resolve_device
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task, make_tasks

TARGET = "T'"


def geometry_for(setup: Setup, gamma: list[float], kappa: float):
    """T1, T2 (orthonormal) and T' in one geometry; T1 and T2 do not depend on (γ, κ)."""
    return ood_geometry(
        setup.d,
        gamma,
        kappa,
        n_irrelevant=setup.n_irrelevant,
        rotate=setup.rotate,
        seed=setup.basis_seed,
        device=resolve_device(setup.device),
        dtype=setup.dtype,
    )


def target_task(setup: Setup, gamma, kappa) -> Task:
    """T' alone, for the target μ_T' = γ1 μ1 + γ2 μ2 + κ μ⊥."""
    return make_tasks(geometry_for(setup, list(gamma), float(kappa)), setup.tokens)[TARGET]


def val_set(task: Task, n: int, seed: int) -> TaskBatch:
    return task.sample_seeded(n, derive_seed("val", task.name, seed))


def grid_maps(
    psi0, tvs: list[TaskVector], l1: np.ndarray, l2: np.ndarray, data: dict, memory_mb: float
) -> dict[str, dict[str, np.ndarray]]:
    """Accuracy and hinge of Ψ0 + λ1 τ1 + λ2 τ2 on each data set, shaped (len(l1), len(l2))."""
    res = evaluate_grid(psi0, tvs, grid_2d(l1, l2), data, memory_mb=memory_mb)
    shaped = res.reshaped(len(l1), len(l2))
    return {
        n: {"acc": v["accuracy"].numpy(), "hinge": v["hinge"].numpy()} for n, v in shaped.items()
    }
