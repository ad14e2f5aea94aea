"""The one-layer model's fast paths of ``models.grid.evaluate_grid`` (see that module's docstring
for the two exact methods, ``affine`` and ``direct``), batched over grid points, in chunks of
samples and of grid points sized from ``memory_mb``: half the budget for what is stored per sample
chunk, half for one chunk of grid points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from models.training import hinge
from models.transformer import OneLayerTransformer, forward_stacked
from synthetic.checks import fail
from synthetic.sampler import TaskBatch

Vector = Mapping[str, torch.Tensor]


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


def _working_set(psi0: OneLayerTransformer, K: int, method: str) -> tuple[int, int]:
    """Bytes stored per sample of a chunk, and bytes per (grid point, sample) of one chunk."""
    cfg = psi0.cfg
    itemsize = torch.finfo(psi0.dtype).bits // 8
    P, d, m = cfg.n_tokens, cfg.d, cfg.width
    if method == "affine":
        per_sample_fixed = (K + 1) * P * P * itemsize  # stored logits
        per_point_sample = (2 * P * P + P * d + 2 * P * m + 2) * itemsize  # S, A, AX, H, relu(H)
        return per_sample_fixed, per_point_sample
    m_b, m_a = cfg.m_b or d, cfg.m_a or d
    per_point_sample = (
        P * d + 2 * P * max(m_b, d) + m_a * P + 2 * P * P + 3 * P * m + 2
    ) * itemsize
    return 0, per_point_sample


def evaluate_onelayer(
    psi0: OneLayerTransformer,
    vectors: Sequence[Vector],
    coefficients,
    data: Mapping[str, TaskBatch],
    method: str,
    memory_mb: float,
    res,
) -> None:
    """Fill ``res`` (a ``GridResult``): accuracy, mean hinge (and margins) of every row per task."""
    param = psi0.cfg.parametrization
    if method == "auto":
        method = "affine" if param == "wv" else "direct"
    if method == "affine" and param != "wv":
        raise fail(
            "grid.method", method, "'affine' needs model.parametrization='wv' (use 'direct')"
        )
    coef = torch.as_tensor(coefficients, dtype=psi0.dtype, device=psi0.device)
    if coef.ndim != 2 or coef.shape[1] != len(vectors) or coef.shape[0] == 0:
        raise ValueError(
            f"coefficients must have shape (G, {len(vectors)}), got {tuple(coef.shape)}"
        )
    res.coefficients, res.method = coef.detach().cpu(), method
    names = list(psi0.cfg.param_names)
    base = {n: psi0.params[n].detach() for n in names}
    stacked = _stack_vectors(vectors, names, base[names[0]])
    sizes = _working_set(psi0, len(vectors), method)
    with torch.no_grad():
        for task_name, batch in data.items():
            _evaluate_task(
                psi0, base, stacked, coef, batch, sizes, memory_mb * 2**20, res, task_name
            )


def _evaluate_task(psi0, base, stacked, coef, batch, sizes, budget, res, task_name) -> None:
    """One task's sums over sample chunks × grid-point chunks, then the means into ``res``."""
    dtype, device, G = psi0.dtype, psi0.device, coef.shape[0]
    X, y = batch.X.to(device=device, dtype=dtype), batch.y.to(device=device, dtype=dtype)
    n = X.shape[0]
    hinge_sum = torch.zeros(G, dtype=torch.float64, device=device)
    correct = torch.zeros(G, dtype=torch.float64, device=device)
    all_margins = torch.empty(G, n, dtype=dtype, device=device) if res.margins is not None else None
    per_sample_fixed, per_point_sample = sizes
    ns = min(n, max(1, int(budget / 2 // per_point_sample)))
    if per_sample_fixed:
        ns = min(ns, max(1, int(budget / 2 // per_sample_fixed)))
    for s0, s1 in _chunks(n, ns):
        Xc, yc = X[s0:s1], y[s0:s1]
        gc = min(G, max(1, int(budget / 2 // (per_point_sample * (s1 - s0)))))
        if res.method == "affine":
            proj = _affine_projections(base, stacked, Xc)
        for g0, g1 in _chunks(G, gc):
            lam = coef[g0:g1]
            if res.method == "affine":
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
    if all_margins is not None:
        res.margins[task_name] = all_margins.cpu()


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
