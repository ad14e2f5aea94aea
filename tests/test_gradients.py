"""Task vectors as gradients: exactness, the second-order error, power iteration, the experiment."""

import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.io import load_metrics
from models import ModelConfig, TaskVector, TrainConfig, finetune, pretrained_model
from models.gradients import gd_trajectory, gradient, hvp, norm, power_iteration
from synthetic import TokenConfig, make_task, orthonormal_geometry
from synthetic.runtime import derive_seed, generator

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
        cfg = TrainConfig(
            mode="epochs",
            n_train=n,
            batch_size=n,
            n_epochs=1,
            eps=0.0,
            lr=lr,
            loss="logistic",
            seed=4,
        )
        tau = TaskVector.from_models(psi0, finetune(psi0, t, cfg).model)
        data = t.sample(n, generator(derive_seed("train", cfg.seed), t.mu.device))
        g = gradient(psi0.params, psi0.readout, data.X, data.y, "logistic")
        assert norm({k: tau[k] + lr * g[k] for k in g}) <= 1e-12 * norm({k: lr * g[k] for k in g})
        taus.append(tau)
        grads.append(g)
    mean_tau = 0.5 * (taus[0] + taus[1])
    step = {k: -lr * 0.5 * (grads[0][k] + grads[1][k]) for k in grads[0]}
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
    predicted = lr**2 * k * (k - 1) / 2 * norm(hvp(th, g0, ro, X, y))
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


@pytest.mark.slow
def test_gradients_experiment_tiny_run(tmp_path):
    from experiments import gradients

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
    m = gradients.run(cfg, tmp_path)
    disk = load_metrics(tmp_path / "metrics.json")
    assert disk["claims"][0]["verdict"] == "agrees"  # exactness holds at every size
    assert len(disk["multi_epoch"]) == 4 and (tmp_path / "gradients.png").exists()
    assert set(m["dominance"]) == {"sgd/hinge", "adam/hinge", "sgd/logistic", "adam/logistic"}
