"""Task vectors as gradients (gradients.md §3): what the gradient paper predicts, as pure functions.

No torch: each function works on floats, numpy arrays, or any array type with ``*``, ``+`` and ``/``
(a parameter tensor), so an experiment applies it to its own tensors without a copy.

* Theorem 1 (§3.2), one epoch of full-batch GD with step η:   τ^(1) = −η ∇L(θ0), exactly.
* Corollary (§3.3), T tasks from one θ0:   (1/T) Σ_t τ_t^(1) = −η ∇L̄(θ0), one GD step on the mean
  loss; the merge coefficient α = 1/T ("mean") gives that step, α = 1 ("sum") a step of Tη.
* Multi-epoch expansion (§3.6), k epochs:   τ^(k) = −kη g0 + η² k(k−1)/2 H g0 + O(η³), so the error
  ‖τ^(k) + kη g0‖ is second order in η (log-log slope 2) and 0 at k = 1.
* Smoothness bound (§3.7), ‖H‖₂ ≤ β and ‖∇L‖ ≤ G along the path:   ‖τ^(k) + kη g0‖ ≤ η² β G k(k−1)/2.
* First-epoch dominance (§4.2): the update-norm shares s_e = ‖Δ_e‖ / Σ_e' ‖Δ_e'‖ whose first entry
  the claim says is the largest.

The expansion needs a twice-differentiable loss along the path (§8): with ReLU units that switch on
or off, the Hessian at θ0 misses the kinks, so the slope is fitted only where no unit switched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PREDICTED_LOGLOG_SLOPE = 2.0  # the error of §3.6 is second order in η


def one_epoch_task_vector(grad: Any, lr: float) -> Any:
    """Theorem 1: the task vector of one full-batch GD epoch, −η ∇L(θ0) (per parameter tensor)."""
    return -lr * grad


def mean_task_step(grads: Sequence[Any], lr: float) -> Any:
    """Corollary §3.3: the mean of T one-epoch task vectors, = one GD step of size η on the mean loss,
    −η Σ_t ∇L_t(θ0) / T (one parameter tensor per entry of ``grads``)."""
    return -lr * sum(grads) / len(grads)


def merge_coefficient(aggregation: str, n_tasks: int) -> float:
    """α of θ0 + α Σ_t τ_t: 1/T for the mean merge (one step η on L̄), 1 for the sum (a step of Tη)."""
    if aggregation not in ("mean", "sum"):
        raise ValueError(f"aggregation={aggregation!r} is invalid: must be 'mean' or 'sum'")
    return 1.0 / n_tasks if aggregation == "mean" else 1.0


def first_order_step(k: int, lr: float) -> float:
    """§3.6: to first order, k epochs move θ0 by −kη g0; this is the step length kη."""
    return k * lr


def pair_count(k: int) -> float:
    """k(k−1)/2, the number of (earlier, later) epoch pairs behind the second-order term."""
    return k * (k - 1) / 2


def second_order_error(lr: float, k: int, hg_norm: float) -> float:
    """§3.6: the predicted ‖τ^(k) + kη g0‖ ≈ η² k(k−1)/2 ‖H g0‖."""
    return lr**2 * pair_count(k) * hg_norm


def smoothness_bound(lr: float, k: int, beta: float, grad_max: float) -> float:
    """§3.7: ‖τ^(k) + kη g0‖ ≤ η² β G k(k−1)/2 (β bounds ‖H‖₂, G the gradient norms on the path)."""
    return lr**2 * beta * grad_max * pair_count(k)


def loglog_slope(lrs: Sequence[float], errors: Sequence[float]) -> float:
    """Slope of log(error) against log(η) (NaN with fewer than two points); §3.6 predicts 2."""
    if len(lrs) < 2:
        return float("nan")
    return float(np.polyfit(np.log(lrs), np.log(errors), 1)[0])


def update_norm_shares(norms: Sequence[float]) -> np.ndarray:
    """§4.2: s_e = ‖Δ_e‖ / Σ_e' ‖Δ_e'‖, the share of each epoch's update in the path length."""
    norms = np.asarray(norms)
    return norms / norms.sum()


def first_epoch_dominates(shares: Sequence[float]) -> bool:
    """Claim 4 (norm part): epoch 1 has the largest update-norm share."""
    return shares[0] >= max(shares[1:])


def normalized_epoch_norms(mean_norms: Sequence[float]) -> np.ndarray:
    """§4.2 / §5(a), the authors' "normalized gradient norm": each epoch's mean minibatch-gradient
    norm over the sum across the run's epochs (the same normalisation as ``update_norm_shares``)."""
    return update_norm_shares(mean_norms)


def dominance_ratio(shares: Sequence[float]) -> float:
    """Claim 4 (norm part) as one number: s_1 / max_{e ≥ 2} s_e; the claim says > 1 (epoch 1 is the
    largest, hence also larger than epoch 2)."""
    return float(shares[0] / max(shares[1:]))


def checkpoint_epoch(fraction: float, epochs: int) -> int:
    """The epoch-end checkpoint at ``fraction`` of an ``epochs``-epoch run (§5(c)): round(f·E), ≥ 1."""
    return max(1, round(fraction * epochs))


def second_order_term(hg: Any, lr: float, k: int) -> Any:
    """§3.6 as a vector: τ^(k) + kη g0 ≈ η² k(k−1)/2 H g0 (per parameter tensor of H g0)."""
    return lr**2 * pair_count(k) * hg
