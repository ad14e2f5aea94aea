"""Task vectors as gradients: exactness, the second-order error, power iteration, the predictions of
``experiments.theory.gradients``, the claims rules and the experiment."""

import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.claims.gradients import gradients_claims
from experiments.io import load_metrics
from experiments.one_layer.gradients import one_epoch_gd
from experiments.run import run_experiment
from experiments.theory.gradients import (
    first_epoch_dominates,
    loglog_slope,
    mean_task_step,
    merge_coefficient,
    one_epoch_task_vector,
    second_order_error,
    smoothness_bound,
    update_norm_shares,
)
from models import ModelConfig, TaskVector, finetune, pretrained_model
from models.gradients import (
    gd_trajectory,
    gradient,
    hessian_operator,
    hvp,
    norm,
    power_iteration,
)
from synthetic import TokenConfig, make_task, orthonormal_geometry
from synthetic.runtime import derive_seed, generator
from tests.composed import headline_numbers

TOK = TokenConfig(n_tokens=4, delta_star=0.5, delta_conf=0.25)


@pytest.fixture(scope="module")
def tiny():
    geo = orthonormal_geometry(8, 2, dtype="float64")
    tasks = [make_task(geo, f"T{i}", TOK) for i in (1, 2)]
    psi0 = pretrained_model(ModelConfig(d=8, n_tokens=4, width=6), dtype="float64")
    return psi0, tasks


def test_one_epoch_of_full_batch_gd_is_the_scaled_negative_gradient(tiny):
    psi0, tasks = tiny
    n, lr = 64, 0.7
    taus, grads = [], []
    for t in tasks:
        cfg = one_epoch_gd(n, lr, "logistic", seed=4)
        tau = TaskVector.from_models(psi0, finetune(psi0, t, cfg).model)
        data = t.sample(n, generator(derive_seed("train", cfg.seed), t.mu.device))
        g = gradient(psi0.params, psi0.readout, data.X, data.y, "logistic")
        pred = {k: one_epoch_task_vector(g[k], lr) for k in g}
        assert norm({k: tau[k] - pred[k] for k in g}) <= 1e-12 * norm(pred)
        taus.append(tau)
        grads.append(g)
    mean_tau = 0.5 * (taus[0] + taus[1])
    step = {k: mean_task_step([grads[0][k], grads[1][k]], lr) for k in grads[0]}
    assert norm({k: mean_tau[k] - step[k] for k in step}) <= 1e-12 * norm(step)


def test_a_second_step_is_not_the_first_gradient_again(tiny):
    """The identity is specific to one epoch: two epochs differ from −2η∇L(θ0) (the test can fail)."""
    psi0, tasks = tiny
    data = tasks[0].sample_seeded(64, 1)
    th = {k: v.detach() for k, v in psi0.params.items()}
    traj = gd_trajectory(th, psi0.readout, data.X, data.y, 0.5, 2)
    g0 = gradient(th, psi0.readout, data.X, data.y)
    assert norm({k: traj[2][k] - th[k] + 2 * 0.5 * g0[k] for k in th}) > 1e-8


@pytest.mark.parametrize("k", [2, 3, 5])
def test_second_order_prediction_matches_for_small_steps(tiny, k):
    psi0, tasks = tiny
    data = tasks[0].sample_seeded(64, 2)
    th = {n: v.detach() for n, v in psi0.params.items()}
    ro, X, y = psi0.readout, data.X, data.y
    lr = 1e-5
    g0 = gradient(th, ro, X, y)
    traj = gd_trajectory(th, ro, X, y, lr, k)
    err = norm({n: traj[k][n] - th[n] + k * lr * g0[n] for n in th})
    predicted = second_order_error(lr, k, norm(hvp(th, g0, ro, X, y)))
    assert err == pytest.approx(predicted, rel=0.10)


def test_power_iteration_finds_the_top_eigenvalue():
    q, _ = torch.linalg.qr(
        torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    )
    A = q @ torch.diag(torch.tensor([3.0, -5.0, 1.0, 0.5, -0.2, 2.0], dtype=torch.float64)) @ q.T
    assert power_iteration(lambda v: A @ v, 6, iters=500) == pytest.approx(5.0, rel=1e-6)


def test_hvp_is_symmetric(tiny):
    psi0, tasks = tiny
    data = tasks[1].sample_seeded(32, 3)
    th = {n: v.detach() for n, v in psi0.params.items()}
    gen = torch.Generator().manual_seed(1)
    u = {n: torch.randn(v.shape, generator=gen, dtype=v.dtype) for n, v in th.items()}
    w = {n: torch.randn(v.shape, generator=gen, dtype=v.dtype) for n, v in th.items()}
    hu, hw = hvp(th, u, psi0.readout, data.X, data.y), hvp(th, w, psi0.readout, data.X, data.y)
    a = sum((hu[n] * w[n]).sum() for n in th)
    b = sum((hw[n] * u[n]).sum() for n in th)
    assert float(a) == pytest.approx(float(b), rel=1e-9)


def test_hessian_operator_reuses_one_graph_and_gives_each_product_exactly(tiny):
    """Power iteration applies one operator many times: each product must equal a fresh ``hvp``
    bit for bit (the same operations on the same graph), in any order."""
    psi0, tasks = tiny
    data = tasks[1].sample_seeded(32, 3)
    th = {n: v.detach() for n, v in psi0.params.items()}
    gen = torch.Generator().manual_seed(2)
    vs = [{n: torch.randn(v.shape, generator=gen, dtype=v.dtype) for n, v in th.items()}
          for _ in range(3)]  # fmt: skip
    op = hessian_operator(th, psi0.readout, data.X, data.y)
    for v in [*vs, vs[0]]:
        fresh = hvp(th, v, psi0.readout, data.X, data.y)
        assert all(torch.equal(op(v)[n], fresh[n]) for n in th)


def test_theory_mean_of_one_epoch_vectors_is_one_step_on_the_mean_gradient():
    """Corollary §3.3 in the theory module: float64, three terms, so agreement to a few ulps."""
    grads = [np.random.default_rng(i).normal(size=5) for i in range(3)]
    mean = mean_task_step(grads, 0.3)
    assert np.allclose(mean, one_epoch_task_vector(sum(grads) / 3, 0.3), rtol=1e-14, atol=0)
    assert merge_coefficient("mean", 4) == 0.25 and merge_coefficient("sum", 4) == 1.0
    with pytest.raises(ValueError, match="aggregation='max' is invalid"):
        merge_coefficient("max", 2)


def test_theory_second_order_term_and_bound():
    """0 at k = 1, ∝ η² k(k−1)/2, and the bound dominates the prediction when βG ≥ ‖Hg‖."""
    assert second_order_error(0.1, 1, 3.0) == 0.0 == smoothness_bound(0.1, 1, 2.0, 5.0)
    assert second_order_error(0.2, 4, 1.0) == pytest.approx(0.04 * 6, rel=1e-15)
    assert smoothness_bound(0.2, 4, 2.0, 5.0) == pytest.approx(0.04 * 2 * 5 * 6, rel=1e-15)
    assert smoothness_bound(0.2, 4, 2.0, 5.0) >= second_order_error(0.2, 4, 2.0 * 5.0)
    lrs = [1e-4, 1e-3, 1e-2]
    slope = loglog_slope(lrs, [second_order_error(lr, 5, 0.7) for lr in lrs])
    assert slope == pytest.approx(2.0, abs=1e-9)  # a float64 least-squares fit of exact η² data
    assert math.isnan(loglog_slope([1e-3], [1.0]))


def test_theory_update_norm_shares():
    shares = update_norm_shares([4.0, 2.0, 2.0])
    assert shares.tolist() == [0.5, 0.25, 0.25] and first_epoch_dominates(shares)
    assert not first_epoch_dominates(update_norm_shares([1.0, 3.0]))


def _seeds(mean: float) -> dict:
    """A seed summary (``experiments.analysis.mean_std``) with a small spread over 3 seeds."""
    return {"mean": mean, "std": 0.01, "n": 3}


def _results(ex1=1e-15, exm=1e-15, ratio=1.0, slope=2.0, over_bound=False, share0=0.5, **more):
    cos, adam, gap = more.get("cos", 0.95), more.get("adam", 0.5), more.get("gap", 0.0)
    row = {"lr": 1e-6, "k": 2, "error": ratio * 1e-12, "predicted": 1e-12, "flipped_units": 0.0}
    row["bound"] = row["error"] * (0.5 if over_bound else 2.0)
    dom = {"norm_share": [share0, 1 - share0], "cos_first_with_final": _seeds(cos)}
    merge = {"normalised_accuracy": _seeds(0.9), "hinge": {"T1": {"mean": 0.1}}}
    merged = {"normalised_accuracy": _seeds(0.9 - gap), "hinge": {"T1": {"mean": 0.1}}}
    exp = {"merge_tasks": 3, "epochs": [2]}
    return {
        "config": {"experiment": {**exp, "lrs": [1e-6], "dominance_losses": ["hinge"]}},
        "exactness": [{"one_task_rel_error": ex1, "mean_of_tasks_rel_error": exm}],
        "multi_epoch": [row],
        "multi_epoch_loglog_slope": slope,
        "multi_epoch_loglog_slope_all": slope,
        "dominance": {
            "sgd/hinge": {**dom, "first_step_cosine": _seeds(1.0)},
            "adam/hinge": {**dom, "first_step_cosine": _seeds(adam)},
        },
        "merging": {"pair / sum / one_epoch": merged, "pair / sum / converged": merge},
    }


@pytest.mark.parametrize(
    ("change", "row", "expected"),
    [
        ({}, None, ["agrees"] * 7),
        ({"ex1": 1e-9}, 0, "disagrees"),
        ({"exm": 1e-9}, 1, "disagrees"),
        ({"slope": 1.0}, 2, "disagrees"),
        ({"slope": 1.0, "ratio": 1.5}, 2, "disagrees"),
        ({"over_bound": True}, 3, "disagrees"),
        ({"share0": 0.4}, 4, "disagrees"),
        ({"cos": 0.5}, 4, "disagrees"),
        ({"adam": 0.95}, 5, "disagrees"),
        ({"gap": 0.1}, 6, "disagrees"),
    ],
)
def test_claims_rules_on_hand_made_results(change, row, expected):
    """Every claims row can fail: one measurement off its criterion flips that row's verdict."""
    verdicts = [c["verdict"] for c in gradients_claims(_results(**change))]
    assert verdicts == expected if row is None else verdicts[row] == expected


@pytest.mark.slow
def test_gradients_experiment_tiny_run(tmp_path):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "config",
            overrides=[
                "experiment=gradients",
                "experiment.n_seeds=1",
                "experiment.n_train=64",
                "experiment.lrs=[1e-6,1e-3]",
                "experiment.epochs=[2,3]",
                "experiment.power_iters=5",
                "experiment.sgd_epochs=2",
                "experiment.merge_epochs=3",
                "data.n_test=64",
                "logging.wandb.mode=disabled",
            ],
        )
    m = run_experiment(cfg, tmp_path)
    disk = load_metrics(tmp_path / "metrics.json")
    assert disk["claims"][0]["verdict"] == "agrees"  # exactness holds at every size
    headline_numbers(disk, allow_nan={"multi_epoch/loglog_slope"})  # two η: no fit below the kinks
    assert len(disk["multi_epoch"]) == 4 and (tmp_path / "gradients.png").exists()
    assert set(m["dominance"]) == {"sgd/hinge", "adam/hinge", "sgd/logistic", "adam/logistic"}
    # The verdicts follow from metrics.json alone (its keys are sorted, so the order of the settings
    # inside a "measured" string may differ from the run's).
    again = gradients_claims(disk)
    assert [c["verdict"] for c in again] == [c["verdict"] for c in disk["claims"]]
