"""Full-batch losses, gradients, Hessian-vector products and GD trajectories of a ViT body with a
fixed head (gradients.md §3 on the ViT): the ViT counterpart of ``models.gradients``.

Every function takes the body as a dict (unstacked), the head ``{"w": (2, D), "b": (2,)}`` and the
whole set (x, y ∈ ±1); run it in float64 for the exactness checks (the body, head and x in float64).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from models.vit_multi import model_losses, outputs

Params = dict[str, torch.Tensor]


def full_batch_loss(cfg, body: Mapping[str, torch.Tensor], head, x, y, kind: str) -> torch.Tensor:
    """Mean loss of the body (with ``head``) over the whole set."""
    stacked = {k: v.unsqueeze(0) for k, v in body.items()}
    heads = {k: v.unsqueeze(0) for k, v in head.items()}
    return model_losses(outputs(cfg, stacked, heads, x), y.unsqueeze(0), kind)[0]


def multitask_loss(cfg, body, heads: Sequence[Mapping], x, Y, kind: str) -> torch.Tensor:
    """L̄ = (1/T) Σ_t L_t: the mean over tasks (task t: head t, labels Y[t]) on shared inputs."""
    return sum(full_batch_loss(cfg, body, h, x, Y[t], kind) for t, h in enumerate(heads)) / len(
        heads
    )


def _grad(closure, body: Mapping[str, torch.Tensor]) -> Params:
    p = {k: v.detach().requires_grad_(True) for k, v in body.items()}
    g = torch.autograd.grad(closure(p), list(p.values()))
    return {k: gi.detach() for k, gi in zip(p, g, strict=True)}


def gradient(cfg, body, head, x, y, kind: str) -> Params:
    """∇L(θ) of one task, by autograd on the full-batch loss."""
    return _grad(lambda p: full_batch_loss(cfg, p, head, x, y, kind), body)


def multitask_gradient(cfg, body, heads, x, Y, kind: str) -> Params:
    """∇L̄(θ), by autograd on the multitask loss itself (not assembled from per-task gradients)."""
    return _grad(lambda p: multitask_loss(cfg, p, heads, x, Y, kind), body)


def hvp(cfg, body, vec: Mapping[str, torch.Tensor], head, x, y, kind: str) -> Params:
    """H v at ``body`` by double back-propagation (exact; LayerNorm, GELU and softmax are smooth)."""
    p = {k: v.detach().requires_grad_(True) for k, v in body.items()}
    g = torch.autograd.grad(
        full_batch_loss(cfg, p, head, x, y, kind), list(p.values()), create_graph=True
    )
    dot = sum((gi * vec[k]).sum() for k, gi in zip(p, g, strict=True))
    hv = torch.autograd.grad(dot, list(p.values()))
    return {k: h.detach() for k, h in zip(p, hv, strict=True)}


def gd_trajectory(cfg, body, head, x, y, lr: float, steps: int, kind: str) -> list[Params]:
    """θ^(0), ..., θ^(steps) of full-batch GD with a constant step (one step = one epoch)."""
    traj = [{k: v.detach().clone() for k, v in body.items()}]
    for _ in range(steps):
        g = gradient(cfg, traj[-1], head, x, y, kind)
        traj.append({k: traj[-1][k] - lr * g[k] for k in g})
    return traj
