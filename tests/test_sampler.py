import pytest
import torch

from synthetic import (
    CONFUSION,
    IRRELEVANT,
    RELEVANT,
    ConfigError,
    TokenConfig,
    make_task,
    pair_geometry,
    sample_task,
)
from synthetic.runtime import generator

GEO = pair_geometry(32, 0.3, dtype="float64")


def _task(**kw):
    return make_task(GEO, "T2", TokenConfig(**kw))


def test_fixed_counts_are_exact_in_every_sample():
    b = _task(n_tokens=16, delta_star=0.25, delta_conf=0.125).sample_seeded(512, 0)
    assert b.X.shape == (512, 16, 32) and b.y.shape == (512,) and b.kind.shape == (512, 16)
    assert ((b.kind == RELEVANT).sum(1) == 4).all()
    assert ((b.kind == CONFUSION).sum(1) == 2).all()
    assert ((b.kind == IRRELEVANT).sum(1) == 10).all()


def test_tokens_are_the_patterns_and_unit_norm():
    b = _task().sample_seeded(256, 1)
    mu = GEO.mu("T2")
    assert torch.allclose(b.X.norm(dim=-1), torch.ones(256, 16, dtype=torch.float64))
    proj = b.X @ mu  # +-1 on discriminative tokens, 0 on irrelevant ones
    ys = b.y.unsqueeze(1).expand_as(proj)
    assert torch.allclose(proj[b.kind == RELEVANT], ys[b.kind == RELEVANT])
    assert torch.allclose(proj[b.kind == CONFUSION], -ys[b.kind == CONFUSION])
    assert proj[b.kind == IRRELEVANT].abs().max() < 1e-12
    # every irrelevant token is exactly one of the v_j
    irr = b.X[b.kind == IRRELEVANT] @ GEO.irrelevant.T
    assert torch.allclose(irr.max(dim=1).values, torch.ones(irr.shape[0], dtype=torch.float64))
    assert torch.allclose(irr.abs().sum(1), torch.ones(irr.shape[0], dtype=torch.float64))


def test_labels_are_balanced_and_shuffled():
    b = _task().sample_seeded(1000, 2)
    assert (b.y == 1).sum().item() == 500
    assert set(b.y.unique().tolist()) == {-1.0, 1.0}
    assert not torch.equal(b.y[:500], torch.ones(500, dtype=torch.float64))


def test_positions_are_shuffled():
    b = _task().sample_seeded(2000, 3)
    # each position is label-relevant about δ* of the time, not always the first ones
    per_pos = (b.kind == RELEVANT).double().mean(0)
    assert per_pos.min() > 0.15 and per_pos.max() < 0.35


def test_irrelevant_patterns_are_used_uniformly():
    b = _task().sample_seeded(4000, 4)
    irr = (b.X[b.kind == IRRELEVANT] @ GEO.irrelevant.T).argmax(1)
    counts = torch.bincount(irr, minlength=GEO.n_irrelevant).double()
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()


def test_random_counts_keep_the_majority_rule_and_the_fractions():
    t = _task(counts="random", delta_star=0.3, delta_conf=0.2)
    b = t.sample_seeded(4000, 5)
    n_rel = (b.kind == RELEVANT).sum(1)
    n_conf = (b.kind == CONFUSION).sum(1)
    assert (n_rel > n_conf).all()
    assert n_rel.unique().numel() > 3  # counts really vary
    f = b.fractions()
    # rejection of the minority-violating draws moves the means a little: relevant up, confusion down
    assert 0.3 <= f["relevant"] < 0.4 and 0.12 < f["confusion"] <= 0.2


def test_same_seed_same_data_different_seed_different_data():
    t = _task(counts="random", noise_std=0.1)
    a, b, c = t.sample_seeded(64, 9), t.sample_seeded(64, 9), t.sample_seeded(64, 10)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.kind, b.kind)
    assert not torch.equal(a.X, c.X)


def test_noise_is_off_by_default_and_renormalised_when_on():
    b = _task(noise_std=0.2).sample_seeded(64, 11)
    assert torch.allclose(b.X.norm(dim=-1), torch.ones(64, 16, dtype=torch.float64))
    proj = (b.X @ GEO.mu("T2"))[b.kind == RELEVANT]
    assert proj.abs().min() < 0.999  # noisy


def test_odd_sample_count():
    b = _task().sample_seeded(7, 0)
    assert b.y.shape == (7,) and abs((b.y == 1).sum().item() - 3.5) == 0.5


def test_generated_on_the_generator_device():
    g = generator(0, "cpu")
    b = sample_task(GEO.mu("T1"), GEO.irrelevant, 5, TokenConfig(), g)
    assert b.X.device.type == "cpu" and b.X.dtype == torch.float64


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"delta_star": 0.7, "delta_conf": 0.4}, r"δ\* \+ δ# must be <= 1"),
        (
            {"delta_star": 0.2, "delta_conf": 0.2},
            r"data\.delta_conf=0\.2 is invalid: must be < data\.delta_star",
        ),
        ({"delta_star": 0.1, "delta_conf": 0.3}, r"must be < data\.delta_star"),
        (
            {"n_tokens": 16, "delta_star": 0.2, "delta_conf": 0.17},
            r"rounded counts 3 relevant vs 3 confusion",
        ),
        ({"n_tokens": 0}, r"data\.n_tokens=0 is invalid: must be >= 1"),
        ({"n_tokens": -4}, r"data\.n_tokens=-4"),
        ({"delta_star": 0.0}, r"data\.delta_star=0\.0 is invalid: must be in \(0, 1\]"),
        ({"delta_star": 1.2}, r"data\.delta_star=1\.2"),
        ({"counts": "poisson"}, r"data\.counts='poisson' is invalid: must be one of"),
        ({"noise_std": -0.1}, r"data\.noise_std=-0\.1"),
    ],
)
def test_bad_token_config_is_refused_in_one_line(kw, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        TokenConfig(**kw)
    assert "\n" not in str(err.value)


def test_non_positive_sample_count_is_refused():
    with pytest.raises(ConfigError, match="n_samples=0"):
        _task().sample_seeded(0, 0)
