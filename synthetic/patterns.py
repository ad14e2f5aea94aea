"""Pattern geometry in R^d (theory.md §3 and §8.1).

Every geometry is built in a canonical orthonormal basis e_1..e_d and then, optionally, rotated by
one seeded random orthogonal matrix Q (``rotate=True``), so that nothing depends on coordinate axes:
every pattern p becomes Q p and all inner products are unchanged.

Layout of the canonical basis (the first ``n_span`` directions are reserved for task patterns):

* ``pair_geometry``: μ_T1 = e_1, μ_T2 = α e_1 + √(1−α²) e_2 (so μ_T1·μ_T2 = α exactly); n_span = 2
  whatever α is, so the irrelevant patterns, and hence task T1, do not change with α.
* ``orthonormal_geometry``: μ_Ti = e_i, i = 1..k; n_span = k.
* ``ood_geometry``: μ_Ti = e_i (i = 1..k), μ_T' = Σ γ_i e_i + κ e_{k+1} with μ⊥ = e_{k+1}; n_span = k + 1.

The irrelevant patterns v_1..v_M are the next M basis vectors, orthonormal and orthogonal to every
task pattern in use. By default M = d − n_span (all the remaining directions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from synthetic.checks import ConfigError, check_float, check_int, check_room, fail
from synthetic.runtime import generator, resolve_device, resolve_dtype

NORM_TOL = 1e-6


@dataclass(frozen=True)
class Geometry:
    """Task patterns (unit vectors) and the shared irrelevant patterns, all in R^d."""

    tasks: Mapping[str, torch.Tensor]  # name -> (d,)
    irrelevant: torch.Tensor  # (M, d), orthonormal rows
    basis: torch.Tensor  # (d, d), orthogonal; column i is the image of e_{i+1}
    n_span: int  # number of leading basis directions reserved for task patterns

    @property
    def d(self) -> int:
        return self.basis.shape[0]

    @property
    def n_irrelevant(self) -> int:
        return self.irrelevant.shape[0]

    def mu(self, name: str) -> torch.Tensor:
        if name not in self.tasks:
            raise KeyError(
                f"task {name!r} is not in this geometry; known tasks: {list(self.tasks)}"
            )
        return self.tasks[name]


def random_orthogonal(d: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A Haar-random orthogonal d×d matrix (QR of a Gaussian matrix with the sign fix), seeded.

    Drawn on the CPU in float64 so the same seed gives the same rotation on every device.
    """
    g = generator(seed, "cpu")
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q.to(dtype)


def _build(
    d: int,
    coords: Mapping[str, Sequence[float]],
    n_span: int,
    n_irrelevant: int | None,
    rotate: bool,
    seed: int,
    device: str | torch.device,
    dtype: str | torch.dtype,
) -> Geometry:
    """Place patterns given by their coordinates on the first ``n_span`` canonical directions."""
    n_irrelevant = check_room(d, n_span, n_irrelevant)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    basis = random_orthogonal(d, seed) if rotate else torch.eye(d, dtype=torch.float64)
    tasks = {}
    for name, c in coords.items():
        vec = torch.zeros(d, dtype=torch.float64)
        vec[: len(c)] = torch.tensor([float(x) for x in c], dtype=torch.float64)
        tasks[name] = (basis @ vec).to(device=device, dtype=dtype)
    irrelevant = basis[:, n_span : n_span + n_irrelevant].T.contiguous()
    return Geometry(
        tasks=tasks,
        irrelevant=irrelevant.to(device=device, dtype=dtype),
        basis=basis.to(device=device, dtype=dtype),
        n_span=n_span,
    )


def pair_geometry(
    d: int,
    alpha: float,
    *,
    n_irrelevant: int | None = None,
    rotate: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
) -> Geometry:
    """Two tasks T1, T2 with μ_T1·μ_T2 = α ∈ [−1, 1] (irrelevant α=0, aligned α>0, contradictory α<0)."""
    alpha = check_float("data.alpha", alpha, low=-1.0, high=1.0)
    coords = {"T1": [1.0, 0.0], "T2": [alpha, math.sqrt(max(0.0, 1.0 - alpha * alpha))]}
    return _build(d, coords, 2, n_irrelevant, rotate, seed, device, dtype)


def orthonormal_geometry(
    d: int,
    k: int,
    *,
    n_irrelevant: int | None = None,
    rotate: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
) -> Geometry:
    """k tasks T1..Tk with orthonormal patterns."""
    k = check_int("data.n_tasks", k, minimum=1)
    coords = {f"T{i + 1}": [0.0] * i + [1.0] for i in range(k)}
    return _build(d, coords, k, n_irrelevant, rotate, seed, device, dtype)


def ood_geometry(
    d: int,
    gamma: Sequence[float],
    kappa: float,
    *,
    n_irrelevant: int | None = None,
    rotate: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
) -> Geometry:
    """Known tasks T1..Tk (orthonormal) and an out-of-domain target T' = Σ γ_i μ_i + κ μ⊥.

    μ_T' must be a unit vector: Σ γ_i² + κ² = 1 (to within 1e-6), κ ≥ 0. The target is named ``T'``.
    """
    gamma = [check_float(f"data.gamma[{i}]", g, low=-1.0, high=1.0) for i, g in enumerate(gamma)]
    if not gamma:
        raise fail("data.gamma", gamma, "must list at least one coefficient")
    kappa = check_float("data.kappa", kappa, low=0.0, high=1.0)
    total = sum(g * g for g in gamma) + kappa * kappa
    if abs(total - 1.0) > NORM_TOL:
        raise ConfigError(
            f"data.gamma={gamma!r}, data.kappa={kappa!r} is invalid: Σγ²+κ² = {total:.6g} "
            "must equal 1 (μ_T' is a unit vector)"
        )
    k = len(gamma)
    coords: dict[str, list[float]] = {f"T{i + 1}": [0.0] * i + [1.0] for i in range(k)}
    coords["T'"] = [*gamma, kappa]
    return _build(d, coords, k + 1, n_irrelevant, rotate, seed, device, dtype)
