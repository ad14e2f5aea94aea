"""The ViT's fast path of ``models.grid.evaluate_grid``: merged bodies of a chunk of grid points,
stacked along a leading axis, evaluated in one batched forward (merged attention is not affine in λ).

The chunk size keeps the activations of one chunk under ``memory_mb``; when a single grid point
over all samples is already too big, the samples are split as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from models.vit import ViT, logits


def _bytes_per_sample(psi0: ViT) -> int:
    """Activation bytes of one sample through one merged model (float32)."""
    cfg = psi0.cfg
    return cfg.n_patches * cfg.dim * (6 + 2 * cfg.mlp_ratio) * 4 + cfg.n_patches**2 * cfg.heads * 4


def _outputs(
    psi0: ViT, stacked: dict, coef: torch.Tensor, x: torch.Tensor, memory_mb: float
) -> tuple[torch.Tensor, int]:
    """f = z_odd − z_even of every grid row on x, (G, n), and the number of chunks it took."""
    cfg, per, n = psi0.cfg, _bytes_per_sample(psi0), len(x)
    g_chunk = max(1, int(memory_mb * 2**20 // (per * n)))
    f_all = []
    for g0 in range(0, coef.shape[0], g_chunk):
        lam = coef[g0 : g0 + g_chunk]
        body = {
            k: psi0.body[k].unsqueeze(0) + torch.tensordot(lam, stacked[k], dims=([1], [0]))
            for k in psi0.body
        }
        if n * len(lam) * per > memory_mb * 2**20 and n > 1:  # one point is too big: split samples
            s_chunk = max(1, int(memory_mb * 2**20 // (per * len(lam))))
            z = torch.cat(
                [logits(cfg, body, psi0.head, x[s : s + s_chunk]) for s in range(0, n, s_chunk)],
                dim=1,
            )
        else:
            z = logits(cfg, body, psi0.head, x)
        f_all.append(z[..., 1] - z[..., 0])
    return torch.cat(f_all), len(f_all)


@torch.no_grad()
def evaluate_vit(
    psi0: ViT,
    vectors: Sequence[Mapping[str, torch.Tensor]],
    coefficients,
    data: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    memory_mb: float,
    res,
) -> None:
    """Fill ``res`` (a ``GridResult``) with accuracy and mean hinge of every row on each (x, y)."""
    dev = psi0.device
    coef = torch.as_tensor(coefficients, dtype=torch.float32, device=dev)
    if coef.ndim != 2 or coef.shape[1] != len(vectors):
        raise ValueError(
            f"coefficients must have shape (G, {len(vectors)}), got {tuple(coef.shape)}"
        )
    res.coefficients = coef.detach().cpu()
    stacked = {n: torch.stack([v[n].to(dev) for v in vectors]) for n in psi0.body}
    for name, (x, y) in data.items():
        x, yf = x.to(dev), y.to(dev).float()
        f, chunks = _outputs(psi0, stacked, coef, x, memory_mb)  # (G, n)
        res.chunks += chunks
        res.accuracy[name] = (torch.sign(f) == yf).double().mean(1).cpu()
        res.hinge[name] = (1 - yf * f).clamp_min(0).double().mean(1).cpu()
        if res.margins is not None:
            res.margins[name] = (yf * f).cpu()
