import pytest
import torch
from tolerance import reductions, tol

from models import (
    ModelConfig,
    OneLayerTransformer,
    TrainConfig,
    evaluate,
    finetune,
    pretrained_model,
)
from models.mechanism import attention_by_query
from synthetic import ConfigError, TokenConfig, make_task, pair_geometry


def test_default_finetuning_reaches_the_quality_bar(psi0, pair_tasks, finetuned):
    """Default configuration: test hinge <= 0.05 and accuracy >= 99% on the model's own task."""
    for i, name in enumerate(("T1", "T2")):
        test = pair_tasks[name].sample_seeded(4096, 1000 + i)
        ev = evaluate(finetuned[name].model, test)
        assert ev["hinge"] <= 0.05, ev
        assert ev["accuracy"] >= 0.99, ev
        # Ψ0 itself is at chance on the task
        assert evaluate(psi0, test)["accuracy"] < 0.7


def test_finetuning_concentrates_attention(psi0, pair_tasks, finetuned):
    test = pair_tasks["T1"].sample_seeded(1024, 5)
    before = evaluate(psi0, test)["attention_on_discriminative"]
    after = evaluate(finetuned["T1"].model, test)["attention_on_discriminative"]
    # uniform attention at W0 = 0: 6 of 16 tokens at weight 1/16, exact up to one float32 rounding
    assert before == pytest.approx(6 / 16, rel=0, abs=tol(torch.float32, 1, 6 / 16))
    assert after > before + 0.05
    # ΔW grows along μμᵀ: ±μ queries concentrate, irrelevant queries (x ⊥ μ) stay close to uniform
    att = attention_by_query(finetuned["T1"].model, test)
    assert att["mu"] >= 0.6 and abs(att["irrelevant"] - 6 / 16) <= 0.05


def test_history_is_recorded(finetuned):
    h = finetuned["T1"].history
    assert h.step[0] == 0 and h.step[-1] == h.steps_run
    assert (
        len(h.step) == len(h.val_hinge) == len(h.val_accuracy) == len(h.attention_on_discriminative)
    )
    assert h.val_hinge[0] > 0.9 and h.val_hinge[-1] <= 0.02
    assert len(h.step_loss) == h.steps_run
    assert h.stopped_early


def test_psi0_is_not_modified(pair_tasks):
    psi0 = pretrained_model(ModelConfig())
    before = {k: v.clone() for k, v in psi0.state_dict().items()}
    finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=20, eps=0.0))
    for k, v in psi0.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_readout_stays_fixed(psi0, finetuned):
    assert torch.equal(finetuned["T1"].model.readout, psi0.readout)


def test_same_seed_same_model_different_seed_different_model(psi0, pair_tasks):
    cfg = TrainConfig(n_steps=15, eps=0.0, seed=3)
    a = finetune(psi0, pair_tasks["T1"], cfg).model
    b = finetune(psi0, pair_tasks["T1"], cfg).model
    c = finetune(psi0, pair_tasks["T1"], TrainConfig(n_steps=15, eps=0.0, seed=4)).model
    assert torch.equal(a.V, b.V) and torch.equal(a.W, b.W)
    assert not torch.equal(a.V, c.V)


def test_one_step_is_plain_sgd(psi0, pair_tasks):
    """After one step: Ψ1 = Ψ0 − η ∇L(batch) exactly (no momentum, no weight decay)."""
    from models.streams import stream, train_generator
    from models.training import hinge

    cfg = TrainConfig(n_steps=1, eps=0.0, lr=3.0, seed=7)
    # in float64: the trainer and this reference may sum the batch gradient in another order
    psi0 = OneLayerTransformer(psi0.cfg, psi0.params, psi0.readout, dtype="float64")
    model = finetune(psi0, pair_tasks["T1"], cfg).model
    batch = next(stream(pair_tasks["T1"], cfg, train_generator(pair_tasks["T1"], cfg)))
    ref = psi0.clone()
    loss = hinge(batch.y.double() * ref(batch.X.double())).mean()
    gW, gV = torch.autograd.grad(loss, [ref.W, ref.V])
    # the gradient passes back through the forward's reductions, then a mean over the B samples
    n = cfg.batch_size * reductions(32, 16, 64)
    for p, p0, g in ((model.W, psi0.W, gW), (model.V, psi0.V, gV)):
        scale = p0.abs().max() + 3.0 * g.abs().max()
        assert torch.allclose(p, p0 - 3.0 * g, rtol=0, atol=tol(torch.float64, n, scale))


def test_epochs_mode_and_logistic_loss(psi0, pair_tasks):
    cfg = TrainConfig(
        mode="epochs", n_train=256, batch_size=64, n_epochs=3, loss="logistic", eps=0.0
    )
    res = finetune(psi0, pair_tasks["T2"], cfg)
    assert res.history.steps_run == 12
    assert evaluate(res.model, pair_tasks["T2"].sample_seeded(512, 1))["accuracy"] > 0.95


def test_full_parametrization_also_learns(pair_tasks):
    psi0 = pretrained_model(ModelConfig(parametrization="qkvo"))
    res = finetune(psi0, pair_tasks["T1"], TrainConfig(lr=2.0))
    ev = evaluate(res.model, pair_tasks["T1"].sample_seeded(2048, 3))
    assert ev["hinge"] <= 0.05 and ev["accuracy"] >= 0.99


def test_float64_training(pair_tasks):
    geo = pair_geometry(32, 0.0, dtype="float64")
    task = make_task(geo, "T1", TokenConfig())
    psi0 = pretrained_model(ModelConfig(), dtype="float64")
    res = finetune(psi0, task, TrainConfig())
    assert res.model.V.dtype == torch.float64
    assert evaluate(res.model, task.sample_seeded(1024, 1))["accuracy"] >= 0.99


def test_non_finite_loss_names_step_and_lr(pair_tasks):
    psi0 = pretrained_model(ModelConfig(parametrization="qkvo", qk0_std=0.3, vo0_std=0.1))
    with pytest.raises(
        FloatingPointError,
        match=r"non-finite training loss .* at step \d+ with train\.lr=1000000\.0",
    ):
        finetune(psi0, pair_tasks["T1"], TrainConfig(lr=1e6, eps=0.0, n_steps=200))


def test_mismatched_task_and_model_are_refused(pair_tasks):
    with pytest.raises(ValueError, match=r"model\.d=16"):
        finetune(pretrained_model(ModelConfig(d=16)), pair_tasks["T1"], TrainConfig())


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"lr": 0.0}, r"train\.lr=0\.0 is invalid: must be in \(0, inf\)"),
        ({"lr": -1.0}, r"train\.lr=-1\.0"),
        ({"batch_size": 0}, r"train\.batch_size=0"),
        ({"n_steps": 0}, r"train\.n_steps=0"),
        ({"loss": "mse"}, r"train\.loss='mse'"),
        ({"eps": -0.1}, r"train\.eps=-0\.1"),
        ({"mode": "offline"}, r"train\.mode='offline'"),
        ({"n_train": -5}, r"train\.n_train=-5"),
        ({"batch_size": 2.5}, r"train\.batch_size=2\.5 is invalid: must be an integer"),
    ],
)
def test_bad_train_config_is_refused(kw, pattern):
    with pytest.raises(ConfigError, match=pattern):
        TrainConfig(**kw)
