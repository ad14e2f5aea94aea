"""Test tolerances that follow from the dtype and the size of the computation (portable tests).

Two evaluations of the same quantity that round differently (another summation order, BLAS kernel,
blocking, thread count, chunk or batch shape, or a chain of elementwise operations) differ by at most
about n · eps · scale: n roundings, or a sum over n terms whose absolute values add up to ``scale``
(recursive summation, Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2). Every call
names its n and its scale, so the reason for a tolerance stands next to it.
"""

from __future__ import annotations

import torch


def eps(dtype: torch.dtype) -> float:
    """Machine epsilon of ``dtype`` (2⁻²³ for float32, 2⁻⁵² for float64)."""
    return torch.finfo(dtype).eps


def tol(dtype: torch.dtype, n: int, scale: float | torch.Tensor) -> float:
    """n · eps(dtype) · scale: the rounding bound of n operations on values of size ``scale``."""
    if isinstance(scale, torch.Tensor):
        scale = scale.detach()
    return n * eps(dtype) * float(scale)


def reductions(d: int, P: int, m: int) -> int:
    """Terms summed along the one-layer transformer's forward: logits W x and xᵀ(W x) (d each), the
    attention average (P), the values V(A X) (d) and the readout (P·m)."""
    return 3 * d + P + P * m


def forward_scale(model, X: torch.Tensor) -> float:
    """Σ|aⱼ hⱼ|/P of the readout sum, the largest over the batch: the size of f's rounding errors."""
    with torch.no_grad():
        h = model.hidden(X.to(model.dtype))  # (n, P, m)
    return float((h.abs() * model.readout.abs()).sum((-2, -1)).max() / X.shape[-2])
