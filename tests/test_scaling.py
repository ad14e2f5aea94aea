"""The ``scaling`` experiment: its claims rules on planted sweeps (where each must flip), and a tiny
end-to-end run."""

import numpy as np
import pytest
from composed import composed

from experiments.claims.scaling import claims
from experiments.io import load_metrics
from experiments.run import run_experiment
from experiments.theory.scaling import loglog_slope, per_doubling
from tests.composed import headline_numbers

DIMS, WIDTHS, BATCHES, V0 = [32, 64, 128, 256], [32, 64, 128, 256], [16, 64, 256], [0.01, 1.0]


def _results(res_power=-0.5, paired=0.02, large=lambda m: 1.0, beta=lambda x: 0.15, jitter=0.0):
    """Planted sweeps over 3 seeds: seed j adds (j − 1)·jitter to every value."""
    seeds = [0, 1, 2]

    def per(v):
        return [v + (j - 1) * jitter for j in seeds]

    residual = [
        {
            "knobs": {"d": d, "irrelevant_signs": "positive"},
            "rank1_residual_dV": per(0.5 * ((d - 2) / 30) ** res_power),
        }
        for d in DIMS
    ] + [
        {"knobs": {"d": d, "irrelevant_signs": "paired"}, "rank1_residual_dV": per(paired)}
        for d in DIMS
    ]
    rows = [
        {"knobs": {"v0_std": v, "width": m}, "large_fraction": per(large(m))}
        for v in V0
        for m in WIDTHS
    ]
    betas = [{"knobs": {"width": m}, "beta_hat": per(beta(m))} for m in WIDTHS]
    betas += [{"knobs": {"batch_size": b}, "beta_hat": per(beta(b))} for b in BATCHES]
    return {
        "seeds": seeds,
        "config": {"experiment": {"v0_stds": V0}},
        "sweeps": {"residual": residual, "rows": rows, "beta": betas},
    }


def _verdicts(**kw):
    return [r["verdict"] for r in claims(_results(**kw))]


def test_slopes_are_exact_on_power_laws():
    assert loglog_slope([1, 2, 4], [1, 0.5, 0.25]) == pytest.approx(-1.0, abs=1e-12)
    assert per_doubling([16, 64, 256], [0.1, 0.2, 0.3]) == pytest.approx(0.05, abs=1e-12)


def test_planted_sweeps_agree_and_each_rule_flips():
    assert _verdicts() == ["agrees"] * 4
    assert _verdicts(res_power=-1.0)[0] == "disagrees"  # slope −1 is outside [−0.7, −0.3]
    assert _verdicts(paired=0.2)[1] == "disagrees"
    assert _verdicts(large=lambda m: 0.2 if m < 100 else 0.8)[2] == "disagrees"
    assert _verdicts(beta=lambda x: 0.05 * np.log2(x))[3] == "disagrees"  # +0.05 per doubling


def test_seed_spread_makes_a_rule_inconclusive():
    assert _verdicts(paired=0.09, jitter=0.05)[1] == "inconclusive"


@pytest.mark.slow
def test_scaling_tiny_run(tmp_path):
    cfg = composed(
        [
            "experiment=scaling",
            "experiment.n_seeds=2",
            "experiment.dims=[8,16]",
            "experiment.widths=[8,16]",
            "experiment.batches=[8,16]",
            "experiment.v0_stds=[0.01]",
            "data.n_test=64",
            "train.n_val=64",
            f"cache_dir={tmp_path / 'cache'}",
        ]
    )
    m = run_experiment(cfg, tmp_path / "out")
    disk = load_metrics(tmp_path / "out" / "metrics.json")
    assert [len(disk["sweeps"][k]) for k in ("residual", "rows", "beta")] == [4, 2, 4]
    headline_numbers(disk)
    assert all(len(p["rank1_residual_dV"]) == 2 for p in disk["sweeps"]["residual"])
    assert len(m["claims"]) == 4 and all(r["scope"] == "in" for r in m["claims"])
    for stem in ("scaling_residual", "scaling_rows", "scaling_beta"):
        assert (tmp_path / "out" / f"{stem}.png").stat().st_size > 1000
