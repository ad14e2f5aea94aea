"""Claims rules of ``cdigits_ood`` on planted inputs where each must flip its verdict: the wedge's
precision on the reported seeds, the best point against single vectors, γ̂'s signs."""

import numpy as np

from experiments.claims.cdigits_ood import best_claim, gamma_claim, ood_claims, wedge_claim
from experiments.theory import theorem3

# ---- cdigits_ood --------------------------------------------------------------------------------
LAM = [-1.0, 0.0, 1.0, 2.0]
GAMMA = [0.8, -0.6]
SHAPE = {"threshold": 0.5, "box": 2.0, "iou": 0.8}
HALF = {"value_only": {"threshold": 0.5}, "attention_only": {"threshold": 0.5}}


def _ood(acc, psi1=(0.8, 0.8, 0.8), psi2=(0.3, 0.3, 0.3), best=(0.9, 0.9, 0.9), gh=None):
    acc = np.asarray(acc, float)
    t2 = {
        k: {"acc": {"mean": float(np.mean(v))}, "acc_per_seed": list(v)}
        for k, v in (("psi_T1", psi1), ("psi_T2", psi2), ("best", best), ("finetuned", [1.0] * 3))
    }
    return {
        "config": {"experiment": {"high_accuracy": 0.95, "estimator_output": "batch"}},
        "lambda1": LAM,
        "lambda2": LAM,
        "per_seed_acc": acc.tolist(),
        "measured_region": (acc.mean(0) >= 0.95).tolist(),
        "best": {"lambda1": 1.0, "lambda2": -1.0},
        "table2": t2,
        "gamma_hat_per_seed": gh or [[0.7, 0.8, 0.75], [-0.5, -0.6, -0.55]],
        "gamma_hat_by_output": {"features": [{"mean": 0.5}, {"mean": -0.5}]},
        "calibration": {"seeds": [100, 101, 102]},
        "region": {"gamma_hat": GAMMA, "shape": dict(SHAPE), "half_planes": HALF},
    }


def _inside():
    return theorem3.region(
        np.asarray(LAM), np.asarray(LAM), GAMMA, SHAPE["threshold"], SHAPE["box"]
    )


def test_wedge_rule_judges_precision_on_the_reported_seeds():
    inside = _inside()
    assert inside.any() and not inside.all()
    good = np.where(
        inside, 0.99, 0.99
    )  # success outside the wedge is allowed (sufficient condition)
    assert wedge_claim(_ood([good] * 3))["verdict"] == "agrees"
    bad = np.where(inside, 0.5, 0.99)
    row = wedge_claim(_ood([bad] * 3))
    assert row["verdict"] == "disagrees" and "recall" in row["measured"]
    half = inside & (np.cumsum(inside.ravel()).reshape(inside.shape) % 2 == 0)
    mixed = [np.where(inside, 0.99, 0.0), np.where(half, 0.99, 0.5), np.where(inside, 0.99, 0.0)]
    assert wedge_claim(_ood(mixed))["verdict"] == "inconclusive"
    empty = _ood([good] * 3)
    empty["region"]["shape"]["threshold"] = 99.0
    assert wedge_claim(empty)["verdict"] == "untested"


def test_best_point_and_gamma_rules_use_the_seed_interval():
    acc = [np.full((4, 4), 0.99)] * 3
    assert best_claim(_ood(acc))["verdict"] == "agrees"
    assert best_claim(_ood(acc, best=(0.7, 0.75, 0.72)))["verdict"] == "disagrees"
    assert best_claim(_ood(acc, best=(0.95, 0.6, 0.9)))["verdict"] == "inconclusive"
    assert (
        best_claim(_ood(acc, best=(0.8, 0.8, 0.8)))["verdict"] == "disagrees"
    )  # a tie does not beat
    assert gamma_claim(_ood(acc))["verdict"] == "agrees"
    assert gamma_claim(_ood(acc, gh=[[0.7, 0.8, 0.75], [0.5, 0.6, 0.55]]))["verdict"] == "disagrees"
    assert (
        gamma_claim(_ood(acc, gh=[[0.7, -0.8, 0.75], [-0.5, -0.6, -0.55]]))["verdict"]
        == "inconclusive"
    )
    assert [r["verdict"] for r in ood_claims(_ood(acc))] == ["agrees"] * 3
