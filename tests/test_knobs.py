"""The mechanism knobs (issue 15): ±-paired irrelevant tokens, separate step sizes for W and V, a
training margin above 1, and the regime search's multi-key knobs; defaults leave every number as it was."""

import pytest
import torch
from composed import composed

from experiments.config.regimes import variant
from experiments.run import run_experiment
from models import TrainConfig, finetune
from models.training import loss_fn
from synthetic import ConfigError, TokenConfig, make_task, pair_geometry
from synthetic.sampler import IRRELEVANT


def _batches(signs):
    geo = pair_geometry(32, 0.0)
    task = make_task(geo, "T1", TokenConfig(irrelevant_signs=signs))
    return geo, task.sample_seeded(512, 7)


def test_paired_irrelevant_tokens_are_the_same_draw_with_fair_signs():
    _, pos = _batches("positive")
    _, pair = _batches("paired")
    assert torch.equal(pos.kind, pair.kind) and torch.equal(pos.y, pair.y)
    irr = pos.kind == IRRELEVANT
    assert torch.equal(pos.X[~irr], pair.X[~irr])  # ±μ tokens untouched
    same, flipped = (pair.X[irr] == pos.X[irr]).all(-1), (pair.X[irr] == -pos.X[irr]).all(-1)
    assert bool((same | flipped).all())  # each irrelevant token is ±v_j, exactly
    share = float(flipped.double().mean())  # a fair sign: ~ N(0.5, 0.5/√n) over n ≈ 5,000 tokens
    assert abs(share - 0.5) <= 5 * 0.5 / irr.sum().item() ** 0.5
    mean_pos = pos.X[irr].mean(0).norm()
    assert pair.X[irr].mean(0).norm() < mean_pos / 4  # the mean irrelevant token vanishes


def test_margin_target_and_step_multipliers(psi0, pair_tasks):
    m = torch.tensor([0.5, 1.5, 2.5])
    assert loss_fn("hinge", 2.0)(m).tolist() == [1.5, 0.5, 0.0]
    assert loss_fn("hinge")(m).tolist() == [0.5, 0.0, 0.0]
    frozen_w = finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=20, eps=0, lr_w_scale=1e-12))
    dW = (frozen_w.model.params["W"] - psi0.params["W"]).abs().max()
    dV = (frozen_w.model.params["V"] - psi0.params["V"]).abs().max()
    assert float(dW.detach()) < 1e-9 < float(dV.detach())  # W's step is 1e-12 of η: it barely moves
    wider = finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=200, eps=0, margin=2.0))
    plain = finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=200, eps=0))
    grow = {
        k: (r.model.params["V"] - psi0.params["V"]).norm().item()
        for k, r in (("2", wider), ("1", plain))
    }
    assert grow["2"] > 1.5 * grow["1"]  # a margin target of 2 keeps pushing where margin 1 stopped


def test_default_knobs_reproduce_the_plain_run_exactly(psi0, pair_tasks):
    a = finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=20, eps=0))
    b = finetune(
        psi0,
        pair_tasks["T1"],
        TrainConfig(n_steps=20, eps=0, lr_w_scale=1.0, lr_v_scale=1.0, margin=1.0),
    )
    for n in a.model.params:
        assert torch.equal(a.model.params[n], b.model.params[n])


def test_a_dimension_knob_sets_data_and_model_together():
    c = {"data": {"d": 32, "n_tokens": 16}, "model": {"d": 32, "n_tokens": 16}, "train": {}}
    v = variant(c, {"d": 64, "n_tokens": 8})
    assert v["data"]["d"] == v["model"]["d"] == 64 and v["model"]["n_tokens"] == 8
    assert c["data"]["d"] == 32  # the base is not modified


def test_the_gradient_experiment_refuses_knobs_its_trainers_ignore(tmp_path):
    cfg = composed(["experiment=gradients", "train.margin=2"])
    with pytest.raises(ConfigError, match=r"^train\.margin=2 is invalid: must be 1: the gradient"):
        run_experiment(cfg, tmp_path / "out")
