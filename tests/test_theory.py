"""Theorems 1–2 (``experiments.theory.theorem1``) on planted inputs (the claims rules built on them:
``test_claims_rules.py``).

Everything here is float64 numpy on a handful of values; comparisons are exact where the arithmetic
is exact (sums of numbers with few significant bits) and within 1e-12 otherwise.
"""

import math

import numpy as np
import pytest

from experiments.theory.theorem1 import (
    RETENTION_LOGLOG_SLOPE,
    addition_applies,
    addition_region,
    addition_threshold,
    negation_applies,
    negation_lower_bound,
    negation_range,
    negation_region,
    pair_prediction,
    retention_slope_interval,
    t1_bound,
    threshold_line,
)


def test_threshold_falls_with_alpha_and_rises_with_beta():
    alphas = np.linspace(0.0, 1.0, 11)
    t = addition_threshold(alphas)
    assert np.all(np.diff(t) < 0)  # more aligned tasks need a smaller λ
    assert addition_threshold(0.0) == 1.0 and addition_threshold(1.0) == 0.0
    assert np.all(addition_threshold(alphas, 0.25) - t == pytest.approx(0.25, abs=1e-12))
    assert addition_threshold(0.5) == 1 - 0.5  # scalars stay scalars, same arithmetic


def test_threshold_line_is_slope_minus_one_intercept_one_plus_beta():
    assert threshold_line() == (-1.0, 1.0)
    slope, intercept = threshold_line(0.125)
    assert slope == -1.0 and intercept == 1.125
    alphas = np.array([0.0, 0.3, 0.7])
    assert np.allclose(slope * alphas + intercept, addition_threshold(alphas, 0.125), atol=1e-12)


def test_conditions_split_the_alpha_axis_at_zero():
    assert addition_applies(0.0) and negation_applies(0.0)
    assert addition_applies(0.3) and not negation_applies(0.3)
    assert negation_applies(-0.3) and not addition_applies(-0.3)


def test_t1_bound_grows_linearly_in_abs_lambda():
    lams = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    b = t1_bound(0.05, lams, 0.1)
    assert b[2] == 0.05 and b[0] == b[4] and b[1] == b[3]
    assert np.allclose(np.diff(b[2:]), 0.1, atol=1e-12)


def test_negation_range_narrows_as_tasks_grow_contradictory():
    assert negation_range(0.5) is None
    lo0, hi0 = negation_range(0.0)
    assert lo0 == -math.inf and hi0 == 0.0
    lows = [negation_range(a, c=2.0)[0] for a in (-0.25, -0.5, -1.0)]
    assert lows == [-32.0, -8.0, -2.0]  # −c/α², exact in binary
    a = np.array([-0.5, -0.25])
    slope = np.diff(np.log(np.abs(negation_lower_bound(a)))) / np.diff(np.log(np.abs(a)))
    assert slope[0] == pytest.approx(RETENTION_LOGLOG_SLOPE, abs=1e-12)
    assert retention_slope_interval() == (-3.0, -1.0)


def test_pair_prediction_draws_what_each_theorem_covers():
    assert pair_prediction(0.0) == {"addition_from": 1.0, "negation_up_to": 0.0}
    assert pair_prediction(0.8) == {"addition_from": 1 - 0.8, "negation_up_to": None}
    assert pair_prediction(-0.8) == {"addition_from": None, "negation_up_to": 0.0}


def test_regions_are_the_theorems_conditions():
    lams = np.array([-3.0, -1.5, -0.5, 0.0, 0.5, 1.0, 1.5])
    assert addition_region(0.0, lams).tolist() == [False] * 5 + [True, True]
    assert addition_region(0.5, lams, beta=0.25).tolist() == [False] * 5 + [True, True]
    assert not addition_region(-0.5, lams).any()
    assert negation_region(-0.5, lams, c=0.5).tolist() == [
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert negation_region(0.0, lams).tolist() == [True] * 4 + [False] * 3  # −∞ at α = 0
    assert not negation_region(0.5, lams).any()
