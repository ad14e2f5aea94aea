"""Evaluate Ψ0 + Σ_k λ_gk τ_k for a whole grid of coefficient rows g at once.

``evaluate_grid(psi0, vectors, coefficients, data)`` returns a ``GridResult``: for every grid row and
every evaluated task, the accuracy and the mean hinge loss (and optionally every per-sample margin
y·f), whatever the network. The vectors may be anything of the task-vector algebra: dense, low
rank, pruned, in any mix. Each network has its fast path: the ViT's (``models.grid_vit``) stacks
the merged bodies of a chunk of points in one batched forward; the one-layer model's
(``models.grid_onelayer``) has two exact methods, batched over grid points, in chunks sized from
``memory_mb``:

* ``affine`` ("wv" only). W(λ) is affine in λ, and so are the attention logits
  S(λ) = S0 + Σ λ_k S_k with S_k[n, l, s] = x_sᵀ ΔW_k x_l: the K + 1 logit tensors are computed once
  per sample chunk, and each grid point combines them with one small product. The values are taken
  on the other side, H = (A X) V(λ)ᵀ: A X per sample (2nP²d FLOPs) and one large GEMM
  (n·P × d)·(d × m) per point (2nPdm), which dominates. (Combining U(λ) = X V(λ)ᵀ from stored
  projections instead would need fewer FLOPs, 2KnPm + 2nP²m, but its P×P-by-P×m per-sample
  products and the (K+1)·nPm stored values run far below the GEMM rate; measured 2× slower.)
* ``direct`` (any parametrization, the only exact one for "qkvo" where merged attention is not
  affine in λ): build the merged parameters of every point of a chunk as stacked tensors and run
  one ``forward_stacked`` over (points × samples).

``evaluate_grid_naive`` is the reference: for each point, build the merged model and run one
forward over the whole test set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.grid_onelayer import evaluate_onelayer
from models.grid_vit import evaluate_vit
from models.task_vectors import apply
from models.training import hinge
from models.transformer import OneLayerTransformer
from models.vit import ViT
from synthetic.checks import check_choice, check_positive, fail
from synthetic.sampler import TaskBatch

Vector = Mapping[str, torch.Tensor]


@dataclass
class GridResult:
    """Per task name: accuracy (G,), mean hinge (G,), and margins y·f (G, n) when requested."""

    coefficients: torch.Tensor  # (G, K)
    accuracy: dict[str, torch.Tensor]
    hinge: dict[str, torch.Tensor]
    margins: dict[str, torch.Tensor] | None = None
    method: str = ""
    chunks: int = 0

    def __getitem__(self, task: str) -> dict[str, np.ndarray]:
        """One task's accuracy ("acc") and mean hinge ("hinge") per grid row, as float64 arrays."""
        return {"acc": self.accuracy[task].numpy(), "hinge": self.hinge[task].numpy()}

    def reshaped(self, *shape: int) -> dict[str, dict[str, torch.Tensor]]:
        """Accuracy and hinge of each task reshaped to ``shape`` (e.g. (n_λ1, n_λ2) for a 2-D grid)."""
        return {
            name: {
                "accuracy": self.accuracy[name].reshape(shape),
                "hinge": self.hinge[name].reshape(shape),
            }
            for name in self.accuracy
        }


def grid_1d(lams: Sequence[float] | torch.Tensor, *, fixed: Sequence[float] = ()) -> torch.Tensor:
    """Rows (fixed..., λ): e.g. ``grid_1d(lams, fixed=[1.0])`` for Ψ0 + ΔΨ1 + λ ΔΨ2."""
    lam = torch.as_tensor(lams, dtype=torch.float64).reshape(-1, 1)
    lead = torch.tensor(list(fixed), dtype=torch.float64).expand(lam.shape[0], len(fixed))
    return torch.cat([lead, lam], dim=1)


def grid_2d(
    lam1: Sequence[float] | torch.Tensor, lam2: Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Rows (λ1, λ2) of the product grid, λ1 major: reshape results to (len(lam1), len(lam2))."""
    a = torch.as_tensor(lam1, dtype=torch.float64)
    b = torch.as_tensor(lam2, dtype=torch.float64)
    return torch.cartesian_prod(a, b).reshape(-1, 2)


def grid_flops(
    n: int,
    P: int,
    d: int,
    m: int,
    K: int,
    G: int,
    parametrization: str = "wv",
    m_a: int | None = None,
    m_b: int | None = None,
) -> dict[str, float]:
    """Matmul FLOPs (2 per multiply-add; softmax and elementwise work not counted) of each method."""
    if parametrization == "wv":
        fwd = 2 * n * P * (d * d + P * d + d * m + P * m) + 2 * n * P * m  # + readout
        merge = 2 * K * (d * d + m * d)
        affine = (K + 1) * 2 * n * P * (d * d + P * d) + G * (
            2 * (K + 1) * n * P * P
            + 2 * n * P * P * d
            + 2 * n * P * d * m
            + 2 * n * P * m
            + 2 * K * m * d
        )
        return {"naive": G * (merge + fwd), "direct": G * (merge + fwd), "affine": float(affine)}
    m_a, m_b = m_a or d, m_b or d
    fwd = 2 * n * P * (2 * d * m_b + P * m_b + d * m_a + m_a * m + P * m) + 2 * n * P * m
    merge = 2 * K * (2 * m_b * d + m_a * d + m * m_a)
    return {"naive": float(G * (merge + fwd)), "direct": float(G * (merge + fwd))}


def evaluate_grid(
    psi0,
    vectors: Sequence[Vector],
    coefficients: torch.Tensor | Sequence[Sequence[float]],
    data: Mapping[str, object],
    *,
    method: str = "auto",
    memory_mb: float = 64.0,
    margins: bool = False,
) -> GridResult:
    """Accuracy and mean hinge of Ψ0 + Σ_k c_gk τ_k on each task of ``data`` for every row g.

    ``coefficients`` is (G, K) with K = len(vectors). Per network: the one-layer model takes
    ``TaskBatch`` data and ``method`` "auto" (affine for "wv", direct otherwise), "affine" or
    "direct" (``models.grid_onelayer``); the ViT takes (x, y) pairs and evaluates directly
    (``models.grid_vit``). ``memory_mb`` bounds the working set of one chunk.
    """
    check_choice("grid.method", method, ["auto", "affine", "direct"])
    check_positive("grid.memory_mb", memory_mb)
    res = GridResult(
        coefficients=torch.empty(0), accuracy={}, hinge={}, margins={} if margins else None
    )
    if isinstance(psi0, ViT):
        if method == "affine":
            raise fail("grid.method", method, "'affine' needs the one-layer model (use 'direct')")
        res.method = "direct"
        evaluate_vit(psi0, vectors, coefficients, data, memory_mb, res)
    else:
        evaluate_onelayer(psi0, vectors, coefficients, data, method, memory_mb, res)
    return res


def evaluate_grid_naive(
    psi0: OneLayerTransformer,
    vectors: Sequence[Vector],
    coefficients: torch.Tensor | Sequence[Sequence[float]],
    data: Mapping[str, TaskBatch],
    *,
    margins: bool = False,
) -> GridResult:
    """The reference: for each grid row build the merged model, then one forward over each test set."""
    coef = torch.as_tensor(coefficients, dtype=torch.float64)
    res = GridResult(
        coefficients=coef, accuracy={}, hinge={}, margins={} if margins else None, method="naive"
    )
    outs: dict[str, list] = {name: [] for name in data}
    with torch.no_grad():
        for row in coef.tolist():
            model = apply(psi0, list(zip(row, vectors, strict=True)))
            for name, batch in data.items():
                f = model(batch.X.to(device=model.device, dtype=model.dtype))
                outs[name].append(batch.y.to(f) * f)
    for name, rows in outs.items():
        marg = torch.stack(rows)
        res.hinge[name] = hinge(marg).double().mean(1).cpu()
        res.accuracy[name] = (marg > 0).double().mean(1).cpu()
        if res.margins is not None:
            res.margins[name] = marg.cpu()
    res.chunks = len(coef)
    return res
