"""Finite-size predictions for the ``scaling`` experiment, declared before its runs (pure Python).

* ΔV's rank-1 residual is a finite-M effect (the mean irrelevant pattern v̄ that every query averages
  gives ΔV a second direction of relative size ~ M^(−1/2)): its log-log slope against M lies in
  ``RESIDUAL_SLOPE``; with ±-paired irrelevant tokens (v̄ = 0 in expectation) the residual is at most
  ``PAIRED_RESIDUAL_MAX`` (the same constant as Corollary 1's reading, ``corollaries.RANK1_RESIDUAL_MAX``).
* Corollary 2's |L| = Θ(m): the large-row fraction moves by at most ``LARGE_FRACTION_DRIFT`` across
  the widths, at every V0 scale.
* β = poly(ηδ*) + Θ(ε√M) does not depend on m or B: β̂ changes by at most ``FLAT`` per doubling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from experiments.theory.corollaries import RANK1_RESIDUAL_MAX

RESIDUAL_SLOPE = (-0.7, -0.3)
RESIDUAL_REFERENCE = -0.5  # M^(−1/2)
PAIRED_RESIDUAL_MAX = RANK1_RESIDUAL_MAX
LARGE_FRACTION_DRIFT = 0.1
FLAT = 0.02


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x (every value > 0)."""
    lx, ly = [math.log(v) for v in x], [math.log(v) for v in y]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    sxx = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sxx


def per_doubling(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of y against log2 x: the change of y per doubling of x."""
    lx = [math.log2(v) for v in x]
    mx, my = sum(lx) / len(lx), sum(y) / len(y)
    sxx = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, y, strict=True)) / sxx
