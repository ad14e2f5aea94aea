"""Theorems 1–2 (``experiments.theory.theorem1``) and the claims rules built on them, on planted inputs.

Everything here is float64 numpy on a handful of values; comparisons are exact where the arithmetic
is exact (sums of numbers with few significant bits) and within 1e-12 otherwise.
"""

import math

import numpy as np
import pytest

from experiments.claims.phase_diagram import claims as phase_claims
from experiments.claims.task_pair import claims_for_pair
from experiments.theory.theorem1 import (
    RETENTION_LOGLOG_SLOPE,
    addition_applies,
    addition_threshold,
    negation_applies,
    negation_lower_bound,
    negation_range,
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


LAMS = np.round(np.arange(-3.0, 3.01, 0.25), 2)
EV = {"eps": 0.05, "forget_hinge": 0.5}


def _curves(success_from: float, unlearn_below: float | None = None) -> dict:
    """T2's hinge ≤ ε from ``success_from`` on; T1 always ε-good; T2 forgotten below ``unlearn_below``."""
    h2 = np.where(LAMS >= success_from, 0.0, 0.3)
    if unlearn_below is not None:
        h2 = np.where(LAMS <= unlearn_below, 1.0, h2)
    return {"T1": {"hinge_mean": np.zeros_like(LAMS)}, "T2": {"hinge_mean": h2}}


@pytest.mark.parametrize(
    ("success_from", "expected"), [(1.25, "agrees"), (1.5, "partly"), (0.75, "agrees")]
)
def test_addition_rule_flips_at_the_tolerance(success_from, expected):
    """α = 0: agrees while λ* is within 0.25 of 1 − α = 1, partly (a λ exists) beyond."""
    row = claims_for_pair(0.0, LAMS, _curves(success_from), EV, "p")[0]
    assert row["verdict"] == expected and row["source"] == "Theorem 1"


def test_addition_rule_for_contradictory_tasks_flips_when_some_lambda_works():
    never = claims_for_pair(-0.8, LAMS, _curves(10.0), EV, "p")[0]
    some = claims_for_pair(-0.8, LAMS, _curves(2.0), EV, "p")[0]
    assert never["verdict"] == "agrees" and some["verdict"] == "disagrees"


def test_negation_rule_flips_with_forgetting_at_minus_one():
    at = claims_for_pair(0.0, LAMS, _curves(1.0, unlearn_below=-1.0), EV, "p")[1]
    further = claims_for_pair(0.0, LAMS, _curves(1.0, unlearn_below=-2.0), EV, "p")[1]
    never = claims_for_pair(0.0, LAMS, _curves(1.0), EV, "p")[1]
    assert (at["verdict"], further["verdict"], never["verdict"]) == (
        "agrees",
        "partly",
        "disagrees",
    )
    aligned = claims_for_pair(0.8, LAMS, _curves(1.0, unlearn_below=-1.0), EV, "p")[1]
    assert aligned["verdict"] == "disagrees"  # Theorem 2 says an aligned T2 cannot be forgotten


def _analysis(slope: float, intercept: float, loglog: float) -> dict:
    return {
        "lambda_star_fit": {"slope": slope, "intercept": intercept, "n_points": 5},
        "alphas_with_T2_success_below_lambda_star": [],
        "beta": None,
        "retention_shape": {
            "loglog_slope": loglog,
            "c_hat": 1.0,
            "alphas": [-0.5, -1.0],
            "loglog_slope_alpha_le_minus_half": None,
        },
        "lambda_min_censored": [False],
    }


@pytest.mark.parametrize(
    ("slope", "intercept", "expected"),
    [
        (-1.0, 1.0, "agrees"),
        (-1.25, 1.25, "agrees"),
        (-1.0, 1.5, "partly"),
        (-1.75, 1.0, "disagrees"),
    ],
)
def test_phase_threshold_rule_flips_at_the_criterion(slope, intercept, expected):
    rows = phase_claims({"analysis": _analysis(slope, intercept, -2.0), "config": {"eval": EV}})
    assert rows[0]["verdict"] == expected
    assert "slope within 0.25 of −1, intercept within 0.25 of 1" in rows[0]["criterion"]


@pytest.mark.parametrize(
    ("loglog", "expected"), [(-2.0, "agrees"), (-1.0, "agrees"), (-0.9, "disagrees")]
)
def test_retention_rule_flips_at_the_slope_interval(loglog, expected):
    rows = phase_claims({"analysis": _analysis(-1.0, 1.0, loglog), "config": {"eval": EV}})
    assert rows[-1]["verdict"] == expected
    assert rows[-1]["criterion"].endswith("in [−3, −1] (theory −2)")
