"""The rows of ``ood`` besides Theorem 3's region, on planted inputs where each must flip: Table 2's
combination, γ̂, the κ sweep and the γ map (every comparison on a seed interval)."""

import pytest

from experiments.claims.ood import _combination, _gamma_hat, _gamma_map, _kappa_sweep

EPS, FORGET = 0.05, 0.5


def _s(mean, std=0.01, n=5):
    return {"mean": mean, "std": std, "n": n}


def _pt(hinge, l1=1.0, l2=0.0):
    return {"lambda1": l1, "lambda2": l2, "hinge": hinge, "acc": _s(0.9)}


def _t2(best, t1, t2, single):
    return {
        "label": "p",
        "table2": {
            "best": _pt(best, 3.0, -1.0),
            "psi_T1": _pt(t1),
            "psi_T2": _pt(t2, 0.0, 1.0),
            "best_single": _pt(single, 2.0, 0.0),
        },
    }


@pytest.mark.parametrize(
    ("best", "single", "unit", "expected"),
    [
        (_s(0.0), _s(0.4), _s(0.8), "agrees"),
        (_s(0.0), _s(0.01), _s(0.8), "disagrees"),  # a scaled single vector solves T' too
        (_s(0.2), _s(0.4), _s(0.8), "disagrees"),  # the combination misses ε
        (_s(0.04, std=0.05), _s(0.4), _s(0.8), "inconclusive"),
        (_s(0.0), _s(0.4), _s(0.0), "untested"),  # Ψ*_T1 itself solves T'
    ],
)
def test_combination_row_flips(best, single, unit, expected):
    m = _t2(best, unit, _s(0.8), single)
    assert _combination(m, EPS)["verdict"] == expected


def _gh(g1, g2, std=0.02):
    return {
        "label": "p",
        "gamma": [0.6, -0.8],
        "gamma_hat": [_s(g1, std), _s(g2, std)],
        "gamma_hat_output": "batch",
        "gamma_hat_by_output": {"batch": [_s(g1), _s(g2)]},
        "task_vector_cosine": [_s(0.5), _s(-0.5)],
    }


@pytest.mark.parametrize(
    ("g", "expected"),
    [
        ((0.55, -0.75, 0.02), "agrees"),
        ((0.2, -0.75, 0.02), "disagrees"),  # γ̂1 too far from γ1
        ((-0.3, -0.75, 0.02), "disagrees"),  # wrong sign
        ((0.5, -0.75, 0.3), "inconclusive"),
    ],
)
def test_gamma_hat_row_flips(g, expected):
    assert _gamma_hat(_gh(*g))["verdict"] == expected


def _sweep(last):
    rows = [{"kappa": k, "best": {"hinge": _s(0.0), "acc": _s(1.0)}} for k in (0.0, 0.5)]
    return {
        "label": "p",
        "kappa_sweep": [*rows, {"kappa": 1.0, "best": {"hinge": last, "acc": _s(0.5)}}],
    }


@pytest.mark.parametrize(
    ("last", "expected"),
    [(_s(0.9), "agrees"), (_s(0.1), "disagrees"), (_s(0.5, std=0.2), "inconclusive")],
)
def test_kappa_sweep_row_flips(last, expected):
    assert _kappa_sweep(_sweep(last), EPS, FORGET)["verdict"] == expected


def _gmap(per_seed_feasible, infeasible=0.4):
    rows = [
        {
            "gamma": [0.1 * i, 0.0],
            "feasible": True,
            "best_hinge": max(h),
            "single_hinge": 1.0,
            "best_hinge_per_seed": list(h),
        }
        for i, h in enumerate(per_seed_feasible)
    ]
    rows.append(
        {
            "gamma": [0.0, 0.1],
            "feasible": False,
            "best_hinge": infeasible,
            "single_hinge": 1.0,
            "best_hinge_per_seed": [infeasible] * len(per_seed_feasible[0]),
        }
    )
    return {"label": "p", "gamma_map": rows}


def test_gamma_map_row_is_one_sided_and_flips():
    ok = [(0.0, 0.0)] * 20
    assert _gamma_map(_gmap(ok), EPS)["verdict"] == "agrees"
    assert (
        _gamma_map(_gmap(ok, infeasible=0.0), EPS)["verdict"] == "agrees"
    )  # success outside: allowed
    assert _gamma_map(_gmap([(0.3, 0.3)] * 20), EPS)["verdict"] == "disagrees"
    assert _gamma_map(_gmap([(0.0, 0.3)] * 20), EPS)["verdict"] == "inconclusive"
