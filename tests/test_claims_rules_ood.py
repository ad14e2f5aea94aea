"""Theorem 3's precision rule and the gradient paper's merging rule on planted inputs, where they flip."""

import numpy as np
import pytest

from experiments.claims.gradients import merging_claim
from experiments.claims.ood import _theorem3
from experiments.theory import theorem3

AX = np.round(np.arange(-2.0, 3.001, 0.5), 2)
GAMMA = [0.6, 0.8]  # Σγ² = 1: both conditions are the half-planes Σλγ ≥ 1 + c, Σλγ² ≥ 1 + c


def _ood(hinge_maps, t1_line=None, c=0.2):
    """Planted ``ood`` results: per-seed T' hinge maps (seed, λ1, λ2); T1's held-out line."""
    line = np.zeros_like(AX) if t1_line is None else t1_line
    return {
        "label": "p",
        "config": {"experiment": {"theorem3_c": c}},
        "gamma": GAMMA,
        "lambda1": AX.tolist(),
        "lambda2": AX.tolist(),
        "per_seed_hinge": np.asarray(hinge_maps).tolist(),
        "calibration": {"T1_line_mean": line.tolist()},
        "region": {"shape": {"iou": 0.5}},
    }


def _maps(success, seeds=3):
    return np.repeat(np.where(success, 0.0, 0.4)[None], seeds, 0)


def test_theorem3_agrees_when_its_region_succeeds_and_ignores_success_outside():
    inside = theorem3.literal_region(AX, AX, GAMMA, 0.2, 0.0)
    assert inside.any() and not inside.all()
    everywhere = _theorem3(_ood(_maps(np.ones_like(inside))), 0.05)
    exact = _theorem3(_ood(_maps(inside)), 0.05)
    assert everywhere["verdict"] == exact["verdict"] == "agrees"  # recall is not judged
    assert "recall 1.00" in exact["measured"] and "recall" in everywhere["measured"]


def test_theorem3_disagrees_when_part_of_its_region_fails():
    inside = theorem3.literal_region(AX, AX, GAMMA, 0.2, 0.0)
    half = inside.copy()
    half[np.argwhere(inside)[: inside.sum() // 2].T.tolist()] = False
    assert _theorem3(_ood(_maps(half)), 0.05)["verdict"] == "disagrees"


def test_theorem3_box_comes_from_the_held_out_beta():
    """T1 at ε + 0.1|λ2| on the held-out seeds: β̂ = 0.1, box c/β̂ = 2, which cuts λ = 2.5, 3."""
    inside = theorem3.literal_region(AX, AX, GAMMA, 0.2, 0.1)
    fail_far = _maps(
        np.broadcast_to(np.abs(AX)[:, None] <= 2.0, (AX.size, AX.size))
    )  # |λ1| > 2 fails
    row = _theorem3(_ood(fail_far, t1_line=0.05 + 0.1 * np.abs(AX)), 0.05)
    assert "box 2.00" in row["measured"] and row["verdict"] == "agrees"
    no_box = _theorem3(_ood(fail_far), 0.05)  # β̂ = 0: the region reaches the grid's edge
    assert "box ∞" in no_box["measured"] and no_box["verdict"] == "disagrees"
    assert inside.sum() < theorem3.literal_region(AX, AX, GAMMA, 0.2, 0.0).sum()


def test_theorem3_c_is_the_smallest_feasible_one_when_not_declared():
    """c = null: the smallest c ∈ (0, 1) whose region holds a grid point, from β̂ alone."""
    beta = 0.1
    c = theorem3.smallest_feasible_c(AX, AX, GAMMA, beta)
    assert c is not None and theorem3.literal_region(AX, AX, GAMMA, c, beta).any()
    assert not theorem3.literal_region(AX, AX, GAMMA, round(c - 0.01, 2), beta).any()
    row = _theorem3(
        _ood(_maps(np.ones((AX.size, AX.size), bool)), t1_line=0.05 + beta * np.abs(AX), c=None),
        0.05,
    )
    assert f"c = {c:g}" in row["measured"] and "the smallest c" in row["criterion"]
    far = [0.1, 0.1]  # Σλγ² ≤ 0.02 · 3 on this grid: no c reaches 1 + c
    assert theorem3.smallest_feasible_c(AX, AX, far, beta) is None


def test_theorem3_is_untested_when_its_region_misses_the_grid():
    row = _theorem3(_ood(_maps(np.ones((AX.size, AX.size), bool)), c=0.99), 0.05)
    big = _theorem3(_ood(_maps(np.ones((AX.size, AX.size), bool)), t1_line=5.0 + AX * 0), 0.05)
    assert big["verdict"] == "untested" and "holds no grid point" in big["measured"]
    assert row["verdict"] == "agrees"


def _merging(one_acc, conv_acc, one_hinge=0.5, std=0.01):
    def entry(acc, h):
        return {
            "normalised_accuracy": {"mean": acc, "std": std, "n": 3},
            "hinge": {"T1": {"mean": h}},
        }

    return {
        "merging": {
            "2 tasks / one_epoch": entry(one_acc, one_hinge),
            "2 tasks / converged": entry(conv_acc, 0.0),
        }
    }


def test_merging_rule_flips_and_is_inconclusive_when_accuracy_saturates():
    assert merging_claim(_merging(0.93, 0.95, std=0.001))["verdict"] == "agrees"
    assert merging_claim(_merging(0.80, 0.95))["verdict"] == "disagrees"
    assert merging_claim(_merging(0.90, 0.95, std=0.05))["verdict"] == "inconclusive"
    saturated = merging_claim(_merging(1.0, 1.0, one_hinge=0.9))
    assert saturated["verdict"] == "inconclusive" and "saturates" in saturated["measured"]


# ---- coloured digits, Table 1 analogue --------------------------------------------------------------
LAMS = np.array([-1.0, 0.0, 1.0])


def _cpair(t1, t2, alpha, multi=1.0, unlearn=-1.0):
    """Per-seed accuracies (seeds × λ) of T1 and T2; Table 1's λ given."""
    return {
        "per_seed_acc": {"T1": np.asarray(t1).tolist(), "T2": np.asarray(t2).tolist()},
        "alpha_hat_per_seed": {"batch": alpha},
        "alpha_hat": {"batch": {"mean": float(np.mean(alpha))}},
        "table1": {
            "multi_task": {"lambda": multi, "T1_acc": 0.9, "T2_acc": 0.9},
            "unlearning": {"lambda": unlearn, "T1_acc": 0.95},
        },
        "finetuned_T1_acc": 1.0,
    }


def test_cdigits_irrelevant_pair_rule_flips_and_goes_inconclusive():
    from experiments.claims.cdigits import irrelevant_claim

    ok = _cpair([[0.95, 1.0, 0.9]] * 3, [[0.5, 0.5, 0.9]] * 3, [0.0] * 3)
    assert irrelevant_claim("irrelevant", ok, LAMS, 0.95)["verdict"] == "agrees"
    kept = _cpair([[0.95, 1.0, 0.9]] * 3, [[0.7, 0.5, 0.9]] * 3, [0.0] * 3)
    assert irrelevant_claim("irrelevant", kept, LAMS, 0.95)["verdict"] == "disagrees"
    noisy = _cpair(
        [[0.95, 1.0, 0.9]] * 3, [[0.3, 0.5, 0.9], [0.5, 0.5, 0.9], [0.8, 0.5, 0.9]], [0.0] * 3
    )
    assert irrelevant_claim("irrelevant", noisy, LAMS, 0.95)["verdict"] == "inconclusive"


@pytest.mark.parametrize(
    ("name", "alphas", "expected"),
    [
        ("irrelevant", [0.1, 0.0, -0.1], "agrees"),
        ("irrelevant", [0.6, 0.7, 0.65], "disagrees"),
        ("irrelevant", [0.1, 0.3, 0.5], "inconclusive"),
        ("aligned", [0.9, 0.95, 0.92], "agrees"),
        ("contradictory", [-0.4, -0.9, -0.5], "inconclusive"),
        ("contradictory", [-0.8, -0.85, -0.9], "agrees"),
    ],
)
def test_cdigits_alpha_rule_uses_the_seed_interval(name, alphas, expected):
    from experiments.claims.cdigits import alpha_claim

    p = _cpair([[1.0] * 3] * 3, [[1.0] * 3] * 3, alphas)
    assert alpha_claim(name, p, "batch")["verdict"] == expected
