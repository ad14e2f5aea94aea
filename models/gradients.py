"""Task vectors as gradients (gradients.md §3): full-batch losses, gradients, Hessian-vector products,
power iteration and a plain full-batch GD trajectory, on parameter dicts of the one-layer model."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from models.training import loss_fn
from models.transformer import forward

Params = dict[str, torch.Tensor]


def full_batch_loss(
    params: Mapping[str, torch.Tensor],
    readout: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    loss: str = "logistic",
) -> torch.Tensor:
    """Mean loss of the model with ``params`` over the whole set (X, y)."""
    return loss_fn(loss)(y * forward(params, readout, X)).mean()


def gradient(params: Mapping[str, torch.Tensor], readout, X, y, loss: str = "logistic") -> Params:
    p = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    g = torch.autograd.grad(full_batch_loss(p, readout, X, y, loss), list(p.values()))
    return {k: gi.detach() for k, gi in zip(p, g, strict=True)}


def hessian_operator(
    params: Mapping[str, torch.Tensor], readout, X, y, loss: str = "logistic"
) -> Callable[[Mapping[str, torch.Tensor]], Params]:
    """v ↦ H v at ``params`` by double back-propagation (exact, no finite differences).

    The gradient's graph is built once and kept, so each product costs one backward pass through it
    (the forward pass and the first backward are not repeated: power iteration calls it many times).
    """
    p = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    g = torch.autograd.grad(
        full_batch_loss(p, readout, X, y, loss), list(p.values()), create_graph=True
    )

    def matvec(vec: Mapping[str, torch.Tensor]) -> Params:
        dot = sum((gi * vec[k]).sum() for k, gi in zip(p, g, strict=True))
        hv = torch.autograd.grad(dot, list(p.values()), retain_graph=True)
        return {k: h.detach() for k, h in zip(p, hv, strict=True)}

    return matvec


def hvp(
    params: Mapping[str, torch.Tensor],
    vec: Mapping[str, torch.Tensor],
    readout,
    X,
    y,
    loss: str = "logistic",
) -> Params:
    """H v at ``params`` (one product: ``hessian_operator`` for many)."""
    return hessian_operator(params, readout, X, y, loss)(vec)


def norm(v: Mapping[str, torch.Tensor]) -> float:
    return float(sum((t.double() ** 2).sum() for t in v.values()) ** 0.5)


def power_iteration(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    *,
    iters: int = 100,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    tol: float = 1e-10,
) -> float:
    """Largest-magnitude eigenvalue of a symmetric operator given by ``matvec`` on flat vectors."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(dim, generator=g, dtype=dtype)
    v = v / v.norm()
    lam = 0.0
    for _ in range(iters):
        w = matvec(v)
        new = float(v @ w)
        n = w.norm()
        if n == 0:
            return 0.0
        v = w / n
        if abs(new - lam) <= tol * max(1.0, abs(new)):
            return abs(new)
        lam = new
    return abs(lam)


def flat(v: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in v.values()])


def unflat(x: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Params:
    out, i = {}, 0
    for k, t in like.items():
        out[k] = x[i : i + t.numel()].reshape(t.shape).to(t)
        i += t.numel()
    return out


def hessian_norm(
    params, readout, X, y, loss: str = "logistic", iters: int = 50, seed: int = 0
) -> float:
    """‖H‖₂ at ``params`` by power iteration on Hessian-vector products."""
    hv = hessian_operator(params, readout, X, y, loss)
    return power_iteration(
        lambda v: flat(hv(unflat(v, params))).to(torch.float64),
        sum(t.numel() for t in params.values()),
        iters=iters,
        seed=seed,
    )


def gd_trajectory_with_gradients(
    params: Mapping[str, torch.Tensor], readout, X, y, lr: float, steps: int, loss: str = "logistic"
) -> tuple[list[Params], list[Params]]:
    """θ^(0..steps) of full-batch GD with a constant step, and the gradients ∇L(θ^(0..steps−1)) it used."""
    traj, grads = [{k: v.detach().clone() for k, v in params.items()}], []
    for _ in range(steps):
        grads.append(gradient(traj[-1], readout, X, y, loss))
        traj.append({k: traj[-1][k] - lr * grads[-1][k] for k in grads[-1]})
    return traj, grads


def gd_trajectory(
    params: Mapping[str, torch.Tensor], readout, X, y, lr: float, steps: int, loss: str = "logistic"
) -> list[Params]:
    """θ^(0), ..., θ^(steps) of full-batch GD with a constant step (each step = one epoch)."""
    return gd_trajectory_with_gradients(params, readout, X, y, lr, steps, loss)[0]
