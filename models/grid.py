"""Evaluate Ψ0 + Σ_k λ_gk τ_k for a whole grid of coefficient rows g at once.

``evaluate_grid(psi0, vectors, coefficients, data)`` returns, for every grid row and every evaluated
task, the accuracy and the mean hinge loss (and optionally every per-sample margin y·f). The vectors
may be anything of the task-vector algebra: dense, low rank, pruned, in any mix.

Two exact methods, batched over grid points, in chunks sized from ``memory_mb``:

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

import torch

from models.task_vectors import apply
from models.training import hinge
from models.transformer import OneLayerTransformer, forward_stacked
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


def _stack_vectors(
    vectors: Sequence[Vector], names: Sequence[str], like: torch.Tensor
) -> dict[str, torch.Tensor]:
    out = {}
    for n in names:
        for i, v in enumerate(vectors):
            if n not in v or set(v) != set(names):
                raise KeyError(
                    f"task vector {i} has keys {sorted(v)}, the model has {sorted(names)}"
                )
        out[n] = torch.stack([v[n].to(like) for v in vectors])  # (K, ...)
    return out


def _chunks(total: int, size: int):
    for start in range(0, total, size):
        yield start, min(total, start + size)


def evaluate_grid(
    psi0: OneLayerTransformer,
    vectors: Sequence[Vector],
    coefficients: torch.Tensor | Sequence[Sequence[float]],
    data: Mapping[str, TaskBatch],
    *,
    method: str = "auto",
    memory_mb: float = 64.0,
    margins: bool = False,
) -> GridResult:
    """Accuracy and mean hinge of Ψ0 + Σ_k c_gk τ_k on each task of ``data`` for every row g.

    ``coefficients`` is (G, K) with K = len(vectors). ``method``: "auto" (affine for "wv", direct
    otherwise), "affine" or "direct". ``memory_mb`` bounds the working set of one chunk.
    """
    check_choice("grid.method", method, ["auto", "affine", "direct"])
    check_positive("grid.memory_mb", memory_mb)
    param = psi0.cfg.parametrization
    if method == "auto":
        method = "affine" if param == "wv" else "direct"
    if method == "affine" and param != "wv":
        raise fail(
            "grid.method", method, "'affine' needs model.parametrization='wv' (use 'direct')"
        )
    dtype, device = psi0.dtype, psi0.device
    coef = torch.as_tensor(coefficients, dtype=dtype, device=device)
    if coef.ndim != 2 or coef.shape[1] != len(vectors) or coef.shape[0] == 0:
        raise ValueError(
            f"coefficients must have shape (G, {len(vectors)}), got {tuple(coef.shape)}"
        )
    names = list(psi0.cfg.param_names)
    base = {n: psi0.params[n].detach() for n in names}
    stacked = _stack_vectors(vectors, names, base[names[0]])
    budget = memory_mb * 2**20
    itemsize = torch.finfo(dtype).bits // 8
    cfg = psi0.cfg
    P, d, m, K = cfg.n_tokens, cfg.d, cfg.width, len(vectors)
    G = coef.shape[0]
    res = GridResult(
        coefficients=coef.detach().cpu(),
        accuracy={},
        hinge={},
        margins={} if margins else None,
        method=method,
    )

    with torch.no_grad():
        for task_name, batch in data.items():
            X, y = batch.X.to(device=device, dtype=dtype), batch.y.to(device=device, dtype=dtype)
            n = X.shape[0]
            hinge_sum = torch.zeros(G, dtype=torch.float64, device=device)
            correct = torch.zeros(G, dtype=torch.float64, device=device)
            all_margins = torch.empty(G, n, dtype=dtype, device=device) if margins else None
            if method == "affine":
                per_sample_fixed = (K + 1) * P * P * itemsize  # stored logits
                per_point_sample = (
                    2 * P * P + P * d + 2 * P * m + 2
                ) * itemsize  # S, A, AX, H, relu(H)
            else:
                m_b, m_a = cfg.m_b or d, cfg.m_a or d
                per_sample_fixed = 0
                per_point_sample = (
                    P * d + 2 * P * max(m_b, d) + m_a * P + 2 * P * P + 3 * P * m + 2
                ) * itemsize
            # Half the budget for what is stored per sample chunk, half for one chunk of grid points.
            ns = min(n, max(1, int(budget / 2 // per_point_sample)))
            if per_sample_fixed:
                ns = min(ns, max(1, int(budget / 2 // per_sample_fixed)))
            for s0, s1 in _chunks(n, ns):
                Xc, yc = X[s0:s1], y[s0:s1]
                nc = s1 - s0
                gc = min(G, max(1, int(budget / 2 // (per_point_sample * nc))))
                if method == "affine":
                    proj = _affine_projections(base, stacked, Xc)
                for g0, g1 in _chunks(G, gc):
                    lam = coef[g0:g1]
                    if method == "affine":
                        f = _affine_outputs(proj, lam, psi0.readout)
                    else:
                        f = _direct_outputs(base, stacked, lam, psi0.readout, Xc)
                    marg = yc * f  # (g, nc)
                    hinge_sum[g0:g1] += hinge(marg).sum(1, dtype=torch.float64)
                    correct[g0:g1] += (torch.sign(f) == yc).sum(1, dtype=torch.float64)
                    if all_margins is not None:
                        all_margins[g0:g1, s0:s1] = marg
                    res.chunks += 1
            res.hinge[task_name] = (hinge_sum / n).cpu()
            res.accuracy[task_name] = (correct / n).cpu()
            if res.margins is not None:
                res.margins[task_name] = all_margins.cpu()
    return res


def _affine_projections(base: dict, stacked: dict, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """Attention logits of Ψ0 and of each vector on X: S (K+1, n, P, P), S_k[n, l, s] = x_sᵀ W_k x_l."""
    W = torch.cat([base["W"].unsqueeze(0), stacked["W"]])  # (K+1, d, d)
    n, P, d = X.shape
    flat = X.reshape(1, n * P, d).expand(W.shape[0], n * P, d)
    q = torch.bmm(flat, W.mT).reshape(-1, n, P, d)  # rows (W x_l)ᵀ
    return {"S": torch.matmul(q, X.mT), "X": X, "V0": base["V"], "dV": stacked["V"]}


def _affine_outputs(proj: dict, lam: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """f for each row of lam (g, K) from the stored logits: (g, n).

    Logits: S(λ) = S0 + Σ λ_k S_k, a (g×(K+1))·((K+1)×nP²) product. Values: H = (A X) V(λ)ᵀ, with
    A X per sample (2nP²d) and then one large (n·P × d)·(d × m) product per point (2nPdm, the
    dominant term, run as a batched GEMM over points with good arithmetic intensity).
    """
    S, X = proj["S"], proj["X"]
    k1, n, P, _ = S.shape
    d = X.shape[-1]
    g = lam.shape[0]
    c = torch.cat(
        [torch.ones(g, 1, dtype=lam.dtype, device=lam.device), lam], dim=1
    )  # Ψ0 has weight 1
    attn = torch.softmax((c @ S.reshape(k1, -1)).reshape(g, n, P, P), dim=-1)
    ax = torch.matmul(attn, X)  # (g, n, P, d): Σ_s A[l, s] x_s
    V = proj["V0"].unsqueeze(0) + torch.tensordot(lam, proj["dV"], dims=([1], [0]))  # (g, m, d)
    h = torch.bmm(ax.reshape(g, n * P, d), V.mT).relu_()  # (g, n·P, m), ReLU in place
    m = V.shape[1]
    return (h.reshape(g, n, P * m) @ readout.reshape(P * m)) / P


def _direct_outputs(
    base: dict, stacked: dict, lam: torch.Tensor, readout: torch.Tensor, X: torch.Tensor
) -> torch.Tensor:
    """f for each row of lam by building the merged parameters as (g, ...) stacks: (g, n)."""
    g = lam.shape[0]
    params = {
        name: base[name].unsqueeze(0) + torch.tensordot(lam, stacked[name], dims=([1], [0]))
        for name in base
    }
    ro = readout.unsqueeze(0).expand(g, *readout.shape)
    return forward_stacked(params, ro, X.unsqueeze(0).expand(g, *X.shape))


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
