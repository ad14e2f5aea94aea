"""Timing and FLOP counting shared by ``make bench``'s modules (``bench``, ``bench_large``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after ``warmup`` (synchronised on CUDA)."""

    def run() -> None:
        fn()
        sync(device)

    return median_time(run, repeats, warmup)


def train_step_flops(S: int, B: int, P: int, d: int, m: int) -> int:
    """Matmul FLOPs of one SGD step of S "wv" models: forward + the backward products autograd runs.

    forward (``forward_stacked``): X Wᵀ (BPd²), logits (BP²d), A X (BP²d), (A X) Vᵀ (BPdm), readout (BPm);
    backward: ∂V = ∂Hᵀ(A X) and ∂(A X) = ∂H V (2·BPdm), ∂A = ∂(A X) Xᵀ (BP²d), ∂q = ∂S X (BP²d),
    ∂W (BPd²). No gradient flows to X.
    """
    fwd = B * P * (d * d + 2 * P * d + d * m + m)
    bwd = B * P * (2 * d * m + 2 * P * d + d * d)
    return 2 * S * (fwd + bwd)


def profile(fn: Callable[[], object], rows: int = 6) -> list[dict]:
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [
        {"op": e.key, "share": e.self_cpu_time_total / total, "calls_per_run": e.count // 5}
        for e in events[:rows]
    ]


def sgd_step(params: dict, readout: torch.Tensor, X: torch.Tensor, y: torch.Tensor):
    """One plain SGD step (hinge loss) of the stacked one-layer models ``params``, as a closure."""
    from models.training import hinge
    from models.transformer import forward_stacked

    def step() -> None:
        loss = hinge(y * forward_stacked(params, readout, X)).mean(1).sum()
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():
            for p, g in zip(params.values(), grads, strict=True):
                p.sub_(1e-3 * g)

    return step
