import pytest
import torch
from tolerance import reductions, tol

from models import ModelConfig, TrainConfig, finetune, pretrained_model
from models.training import finetune_many
from synthetic import TokenConfig, make_task, pair_geometry

F64 = torch.float64


def _close(a, b, steps, batch_size=64):
    """Batched and single training sum in different orders: in float64, each of the ``steps`` SGD
    steps rounds the gradient's reductions (the forward's, then the batch mean), and the differences
    add up along the trajectory; qkvo's extra products (≤ 2d terms) are counted in too."""
    assert a.dtype == b.dtype == F64
    n = steps * batch_size * (reductions(32, 16, 64) + 2 * 32)
    for name in a.cfg.param_names:
        x, y = getattr(a, name), getattr(b, name)
        assert torch.allclose(x, y, rtol=0, atol=tol(F64, n, y.abs().max())), name


@pytest.mark.parametrize("mode", ["online", "epochs"])
def test_batched_run_equals_single_runs_per_seed(mode):
    """Different seeds, learning rates, Ψ0 seeds and tasks of one shape, trained as one batch."""
    kw = {"mode": mode, "n_train": 512, "n_epochs": 2} if mode == "epochs" else {}
    tasks = [make_task(pair_geometry(32, a), "T2", TokenConfig()) for a in (0.0, 0.5, -0.5, 0.0)]
    psi0s = [pretrained_model(ModelConfig(seed=s), dtype="float64") for s in (0, 0, 1, 2)]
    cfgs = [TrainConfig(seed=s, lr=lr, **kw) for s, lr in ((0, 5.0), (1, 5.0), (2, 3.0), (3, 8.0))]
    batched = finetune_many(psi0s, tasks, cfgs)
    for psi0, task, cfg, b in zip(psi0s, tasks, cfgs, batched, strict=True):
        single = finetune(psi0, task, cfg)
        steps = single.history.steps_run
        _close(b.model, single.model, steps)
        assert b.history.steps_run == steps
        assert b.history.step == single.history.step
        # validation hinge: 1-Lipschitz in the margins, which move by the forward's rounding bound
        bound = tol(F64, steps * 64 * reductions(32, 16, 64), 1)
        assert b.history.val_hinge == pytest.approx(single.history.val_hinge, rel=bound, abs=bound)


def test_models_stop_independently():
    task = make_task(pair_geometry(32, 0.0), "T1", TokenConfig())
    psi0 = pretrained_model(ModelConfig(), dtype="float64")
    cfgs = [TrainConfig(seed=0, lr=10.0), TrainConfig(seed=1, lr=1.0)]
    fast, slow = finetune_many([psi0, psi0], [task, task], cfgs)
    assert fast.history.steps_run < slow.history.steps_run
    # the early-stopped model is frozen at its stopping point
    _close(fast.model, finetune(psi0, task, cfgs[0]).model, fast.history.steps_run)


def test_batched_full_parametrization():
    task = make_task(pair_geometry(32, 0.0), "T1", TokenConfig())
    psi0 = pretrained_model(ModelConfig(parametrization="qkvo"), dtype="float64")
    cfgs = [TrainConfig(seed=s, lr=2.0) for s in range(3)]
    for b, cfg in zip(finetune_many([psi0] * 3, [task] * 3, cfgs), cfgs, strict=True):
        single = finetune(psi0, task, cfg)
        _close(b.model, single.model, single.history.steps_run)


def test_incompatible_runs_are_refused():
    task = make_task(pair_geometry(32, 0.0), "T1", TokenConfig())
    psi0 = pretrained_model(ModelConfig())
    with pytest.raises(ValueError, match="may differ only in seed and lr"):
        finetune_many([psi0, psi0], [task, task], [TrainConfig(), TrainConfig(batch_size=32)])
    with pytest.raises(ValueError, match="share one architecture"):
        finetune_many(
            [psi0, pretrained_model(ModelConfig(width=32))], [task, task], [TrainConfig()] * 2
        )
    with pytest.raises(ValueError, match="as many models"):
        finetune_many([psi0], [task, task], [TrainConfig()])
