"""The mechanism audit (``models.mechanism``) on planted models, and the regime search's choice rule."""

import pytest
import torch
from tolerance import tol

from experiments.config.regimes import KNOBS, combinations
from experiments.one_layer.regime_search import choose, regime_yaml
from models.mechanism import attention_by_query, mechanism, uniform_attention


def test_uniform_attention_gives_each_query_the_token_fractions(psi0, pair_tasks):
    """W0 = 0: every query spreads 1/16 on each of 16 tokens, 6 of them ±μ (fixed counts)."""
    att = attention_by_query(psi0, pair_tasks["T1"].sample_seeded(256, 3))
    for kind in ("mu", "relevant", "confusion", "irrelevant"):
        assert att[kind] == pytest.approx(6 / 16, abs=tol(torch.float32, 16, 1.0))


def test_uniform_attention_zeroes_the_logits_and_keeps_the_values(finetuned):
    model = finetuned["T1"].model
    flat = uniform_attention(model)
    assert torch.equal(flat.params["W"], torch.zeros_like(model.params["W"]))
    assert torch.equal(flat.params["V"], model.params["V"])
    assert model.params["W"].abs().max() > 0  # the original is untouched


def test_planted_rank_one_update_along_mu_mu(psi0, pair_tasks):
    """ΔW = 3 μμᵀ and ΔV = u μᵀ: cosine 1 and rank-1 residuals 0 (float64 SVD of a float32 matrix)."""
    task = pair_tasks["T1"]
    mu = task.mu.to(torch.float32)
    u = torch.linspace(-1.0, 1.0, psi0.params["V"].shape[0])
    params = {
        "W": psi0.params["W"] + 3.0 * torch.outer(mu, mu),
        "V": psi0.params["V"] + torch.outer(u, mu),
    }
    m = mechanism(psi0, psi0.with_params(params), task.mu, task.sample_seeded(512, 4))
    assert m["cos_dW_mumu"] == pytest.approx(1.0, abs=tol(torch.float32, 64, 1.0))
    assert m["rank1_residual_dW"] <= tol(torch.float32, 64, 1.0) ** 0.5
    assert m["rank1_residual_dV"] <= tol(torch.float32, 64, 1.0) ** 0.5
    assert m["attention_mu_queries"] > m["attention_irrelevant_queries"]


def test_finetuned_model_audit_is_consistent(psi0, pair_tasks, finetuned):
    task = pair_tasks["T1"]
    m = mechanism(psi0, finetuned["T1"].model, task.mu, task.sample_seeded(1024, 5))
    assert m["own_hinge"] <= 0.05 and m["own_accuracy"] == 1.0
    assert m["min_margin"] > 0  # every sample classified correctly
    assert 6 / 16 < m["attention_mu_queries"] <= 1.0
    assert 0.0 <= m["rank1_residual_dV"] <= 1.0


def _row(cost, in_scope, attention=0.9, failures=()):
    knobs = {k: 0 for k in KNOBS}
    return {
        "knobs": {**knobs, "lr": cost},
        "in_scope": in_scope,
        "failures": list(failures),
        "attention_mu_queries": attention,
        "cost": cost,
    }


def test_choose_takes_the_cheapest_in_scope_else_the_closest():
    rows = [_row(3.0, True), _row(1.0, False, failures=["a"]), _row(2.0, True)]
    assert choose(rows)["cost"] == 2.0
    none = [
        _row(1.0, False, 0.5, ["a", "b"]),
        _row(2.0, False, 0.7, ["a"]),
        _row(3, False, 0.8, ["a"]),
    ]
    assert choose(none)["cost"] == 3  # fewest failures, then most attention


def test_regime_file_holds_only_the_knobs_that_change():
    base = {"data": {"counts": "fixed", "noise_std": 0.0}, "model": {"v0_std": 0.01, "width": 64}}
    base["train"] = {"lr": 5.0, "batch_size": 64}
    best = {"knobs": {"counts": "random", "noise_std": 0.0, "v0_std": 0.01, "lr": 5.0, "width": 64}}
    best["knobs"]["batch_size"] = 64
    text = regime_yaml(best, [100, 104], base)
    assert text.endswith("regime: proof\ndata:\n  counts: random\n")
    assert "seeds 100-104" in text


def test_combinations_span_the_grid():
    exp = {k: [1] for k in KNOBS} | {"counts": ["fixed", "random"], "v0_std": [0.01, 0.1, 1.0]}
    combos = combinations(exp)
    assert len(combos) == 6 and len({tuple(c.values()) for c in combos}) == 6
