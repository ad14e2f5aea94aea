"""The gradient paper on the ViT (``gradients_vit``): the exact identities on a tiny float64 ViT, the
side-by-side trainer, the protocol's rules (convergence, task sets, tasks), the config checks and a
tiny end-to-end run. The claims rules on planted inputs: ``test_gradients_vit_claims.py``."""

import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.cdigits.gradients_vit_dominance import converged_epoch
from experiments.cdigits.gradients_vit_exact import multi_epoch, one_step
from experiments.cdigits.gradients_vit_merge import kinds_of, task_sets
from experiments.claims.gradients_vit import claims as vit_claims
from experiments.io import load_metrics
from experiments.run import run_experiment
from models.vit import init_body, init_head
from models.vit_config import ViTConfig
from models.vit_multi import flatten, stack_heads, train_tasks, unflatten
from synthetic import ConfigError
from synthetic.digit_tasks import TASKS, task_data
from tests.composed import headline_numbers

CFG = ViTConfig(dim=8, depth=1, heads=2, mlp_ratio=2)


def _tiny(n=24, tasks=("parity", "red", "prime"), dtype=torch.float64):
    images = np.random.default_rng(0).random((n, 8, 8)).astype(np.float32)
    digits = np.arange(n) % 10
    x, Y = task_data(images, digits, [TASKS[t] for t in tasks], "train", 0)
    body = {k: v.to(dtype) for k, v in init_body(CFG, 0).items()}
    heads = [
        {k: v.to(dtype) for k, v in init_head(CFG, 2, 10 + i).items()} for i in range(len(tasks))
    ]
    return body, heads, torch.from_numpy(x).to(dtype), torch.from_numpy(Y)


# ----------------------------------------------------------------------------- exactness, float64
def test_one_full_batch_epoch_is_minus_eta_gradient_and_the_mean_is_one_multitask_step():
    body, heads, x, Y = _tiny()
    errs = one_step(CFG, body, heads, x, Y, lr=0.5)
    assert errs["one_task_rel_error"] < 1e-12
    assert errs["mean_of_tasks_rel_error"] < 1e-12


def test_the_identity_check_can_fail():
    """A vector that is not one plain GD step (two steps, through the same trainer) is caught."""
    from experiments.cdigits import gradients_vit_exact as ge
    from models.vit_config import ViTTrainConfig

    body, heads, x, Y = _tiny()
    real = ViTTrainConfig

    def two_epochs(**kw):
        return real(**{**kw, "epochs": 2})

    ge.ViTTrainConfig = two_epochs
    try:
        errs = one_step(CFG, body, heads, x, Y, lr=0.5)
    finally:
        ge.ViTTrainConfig = real
    assert errs["one_task_rel_error"] > 1e-6


def test_second_order_error_matches_at_small_eta_and_scales_as_eta_squared():
    """A randomly initialised ViT is very curved (‖H∇L‖ ~ 1e4 here), so the η are tiny."""
    body, heads, x, Y = _tiny()
    res = multi_epoch(CFG, body, heads[0], x, Y[0], [1e-6, 1e-5], [1, 2, 5])
    rows = {(r["lr"], r["k"]): r for r in res["rows"]}
    assert rows[(1e-6, 1)]["error"] < 1e-14  # exact at k = 1
    for k in (2, 5):
        assert rows[(1e-6, k)]["ratio"] == pytest.approx(1.0, abs=0.01)
        assert rows[(1e-6, k)]["residual"] < 0.01  # the vector η² k(k−1)/2 H g0, not only its norm
        assert rows[(1e-5, k)]["residual"] > rows[(1e-6, k)]["residual"]  # third order grows with η
        slope = math.log(rows[(1e-5, k)]["error"] / rows[(1e-6, k)]["error"]) / math.log(10)
        assert slope == pytest.approx(2.0, abs=0.05)


# ----------------------------------------------------------------------------- side-by-side trainer
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_side_by_side_training_equals_training_each_task_alone(optimizer):
    """In float64 (Adam divides by |g|: float32 rounding of near-zero gradients would be amplified)."""
    body, heads, x, Y = _tiny(n=40)
    kw = dict(optimizer=optimizer, lr=0.01, batch_size=16, epochs=2, seed=3)
    both = train_tasks(CFG, body, stack_heads(heads), (x, Y), (x, Y), **kw)
    for g in range(len(heads)):
        alone = train_tasks(
            CFG, body, stack_heads([heads[g]]), (x, Y[g : g + 1]), (x, Y[g : g + 1]), **kw
        )
        assert torch.allclose(both.flat[:, g], alone.flat[:, 0], atol=1e-12, rtol=1e-10)
        assert torch.allclose(both.grad_norm[:, g], alone.grad_norm[:, 0], rtol=1e-10)
    assert torch.equal(both.flat[0, 0], flatten({k: v[None] for k, v in body.items()})[0])
    assert both.flat.shape[:2] == (3, len(heads)) and both.steps_per_epoch == 3
    if optimizer == "sgd":  # plain SGD: Δ_e = −η ĝ_e exactly, and the first step is −η∇
        assert torch.allclose(both.flat[1] - both.flat[0], -0.01 * both.grad_sum[0], atol=1e-14)
        assert torch.allclose(
            both.first_step_cos, torch.ones(len(heads), dtype=torch.float64), atol=1e-12
        )
    back = unflatten(both.flat[0, 0], body)
    assert all(torch.equal(back[k], body[k]) for k in body)


# ----------------------------------------------------------------------------- protocol rules
def test_convergence_rule_takes_the_first_epoch_within_tol_of_the_best():
    assert converged_epoch(np.array([0.5, 0.80, 0.95, 0.955, 0.96, 0.94]), 0.01) == 2
    assert converged_epoch(np.array([0.5, 0.80, 0.95, 0.955, 0.96, 0.94]), 0.0) == 4
    assert converged_epoch(np.array([0.9, 0.5, 0.6]), 0.01) == 2  # Ψ0 (epoch 0) is never chosen


def test_task_sets_and_checkpoint_kinds():
    sets = task_sets(6, [2, 4], 5, seed=0)
    assert len(sets) == 11 and sets[-1] == tuple(range(6))
    assert len(set(sets)) == 11 and all(len(s) in (2, 4, 6) for s in sets)
    assert task_sets(6, [2, 4], 5, seed=0) == sets != task_sets(6, [2, 4], 5, seed=1)
    assert len(task_sets(3, [2], 5, seed=0)) == 4  # fewer than 5 pairs: all of them
    k = kinds_of(10, [3, 7], [0.1, 0.5, 1.0])
    assert k["1_epoch"] == [1, 1] and k["10_epochs"] == [10, 10] and k["converged"] == [3, 7]
    assert k["10%"] == [1, 1] and k["50%"] == [5, 5] and k["100%"] == [10, 10]
    assert "10_epochs" not in kinds_of(4, [1, 2], [])


def test_digit_tasks_label_the_shared_images():
    images = np.ones((40, 8, 8), np.float32)
    tasks = [TASKS["parity"], TASKS["red"], TASKS["parity_xor_red"]]
    x, Y = task_data(images, np.arange(40) % 10, tasks, "train", 0)
    red = x[:, 0].sum((1, 2)) > 0
    assert (red ^ (x[:, 1].sum((1, 2)) > 0)).all() and not x[:, 2].any()  # red or green, never both
    assert Y[0].tolist() == [-1, 1] * 20 and (Y[1] == np.where(red, 1, -1)).all()
    assert (Y[2] == -Y[0] * Y[1]).all()  # odd XOR red, in ±1
    again, _ = task_data(images, np.arange(40) % 10, tasks[:1], "train", 0)
    assert np.array_equal(again, x)  # the colours do not depend on the tasks


# ----------------------------------------------------------------------------- config checks
def _compose(overrides):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose(
            "config",
            overrides=["experiment=gradients_vit", "logging.wandb.mode=disabled", *overrides],
        )


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        (
            "experiment.tasks=[parity,colour]",
            r"^experiment\.tasks\[1\]='colour' is invalid: must be one of",
        ),
        (
            "experiment.tasks=[parity,parity]",
            r"^experiment\.tasks=\['parity', 'parity'\] is invalid: must not repeat",
        ),
        (
            "experiment.tasks=[parity]",
            r"^experiment\.tasks=\['parity'\] is invalid: must name at least 2",
        ),
        (
            "experiment.set_sizes=[2,6]",
            r"^experiment\.set_sizes\[1\]=6 is invalid: must be < the number of tasks 6",
        ),
        (
            "experiment.n_train=2000",
            r"^experiment\.n_train=2000 is invalid: must be <= the train split's 1078",
        ),
        (
            "experiment.n_eval=400",
            r"^experiment\.n_eval=400 is invalid: must be <= the val split's 270",
        ),
        ("experiment.ks=[1]", r"^experiment\.ks=\[1\] is invalid: needs some k >= 2"),
        (
            "experiment.merge_optimizers=[lbfgs]",
            r"^experiment\.merge_optimizers\[0\]='lbfgs' is invalid",
        ),
        ("experiment.fractions=[0.0,1.0]", r"^experiment\.fractions\[0\]=0\.0 is invalid"),
        ("experiment.adam_lr=0", r"^experiment\.adam_lr=0 is invalid"),
    ],
)
def test_bad_gradients_vit_overrides_fail_in_one_line_before_any_work(override, pattern, tmp_path):
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(_compose([override]), tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- tiny end-to-end run
@pytest.mark.slow
def test_gradients_vit_tiny_run(tmp_path):
    tiny = [
        "data.max_images=300",
        "model.dim=16",
        "model.depth=1",
        "model.heads=2",
        "train.pretrain.epochs=2",
        "experiment.n_seeds=2",
        "experiment.tasks=[parity,red,prime]",
        "experiment.set_sizes=[2]",
        "experiment.n_train=64",
        "experiment.n_eval=40",
        "experiment.epochs=3",
        "experiment.exact_n=32",
        "experiment.lrs=[1e-4,1e-3]",
        "experiment.ks=[2,3]",
        "experiment.fractions=[0.5,1.0]",
        f"cache_dir={tmp_path / 'c'}",
    ]
    m = run_experiment(_compose(tiny), tmp_path / "a")
    disk = load_metrics(tmp_path / "a" / "metrics.json")
    assert set(disk["epoch_shares"]["sgd"]) == {"parity", "red", "prime"}
    assert (
        len(disk["epoch_shares"]["adam"]["red"])
        == len(disk["normalized_grad_norm"]["sgd"]["red"])
        == 3
    )
    assert set(disk["merge"]) == {
        "1_epoch",
        "converged",
    }  # a 3-epoch budget has no 10-epoch vectors
    assert {"acc_mean", "normalized_acc_mean", "loss_mean"} <= set(disk["merge"]["converged"])
    assert disk["exactness_rel_err"] < 1e-10
    assert disk["claims"][0]["verdict"] == disk["claims"][1]["verdict"] == "agrees"
    assert [c["verdict"] for c in vit_claims(disk)] == [c["verdict"] for c in disk["claims"]]
    for stem in ("dominance", "cosines", "merging", "exactness"):
        assert (tmp_path / "a" / f"gradients_vit_{stem}.png").stat().st_size > 1000
    headline_numbers(
        disk,
        allow_nan={"merge/10_epochs/acc", "merge/10_epochs/normalized_acc", "merge/10_epochs/loss"},
    )
    again = run_experiment(_compose([*tiny, "recompute=true"]), tmp_path / "b")
    assert again["merge"] == m["merge"] and again["epoch_shares"] == m["epoch_shares"]
