import math

import pytest
import torch
from tolerance import forward_scale, reductions, tol

from models import ModelConfig, OneLayerTransformer, pretrained_model
from models.transformer import attention, effective_wv, forward
from synthetic import ConfigError, TokenConfig, make_task, pair_geometry

F64 = torch.float64


def _X(n=6, P=16, d=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, P, d, generator=g, dtype=torch.float64)
    return X / X.norm(dim=-1, keepdim=True)


def _reference_f(W, V, a, X):
    """f(X) written as the theory's double sum, with explicit loops (slow, obvious)."""
    n, P, _ = X.shape
    out = torch.zeros(n, dtype=X.dtype)
    for k in range(n):
        total = 0.0
        for q in range(P):  # query position l of the theory
            scores = torch.stack([X[k, s] @ W @ X[k, q] for s in range(P)])
            w = torch.softmax(scores, 0)
            h = sum(V @ X[k, s] * w[s] for s in range(P))
            total = total + a[q] @ torch.relu(h)
        out[k] = total / P
    return out


def _random_model(cfg, seed=1):
    g = torch.Generator().manual_seed(seed)
    params = {
        k: 0.5 * torch.randn(s, generator=g, dtype=torch.float64) for k, s in cfg.shapes.items()
    }
    return OneLayerTransformer(cfg, params, pretrained_model(cfg).readout, dtype="float64")


@pytest.mark.parametrize("readout", ["shared", "per_position"])
def test_forward_matches_the_written_formula(readout):
    cfg = ModelConfig(d=8, n_tokens=5, width=6, readout=readout)
    model = _random_model(cfg)
    X = _X(3, 5, 8)
    ref = _reference_f(model.W, model.V, model.readout, X)
    # two summation orders of the same float64 sums: rounding bound of the forward's reductions
    assert torch.allclose(
        model(X), ref, rtol=0, atol=tol(F64, reductions(8, 5, 6), forward_scale(model, X))
    )


def test_output_shape_and_dtype():
    model = pretrained_model(ModelConfig())
    out = model(_X().float())
    assert out.shape == (6,) and out.dtype == torch.float32


def test_readout_entries_are_plus_minus_inv_sqrt_m_half_positive():
    cfg = ModelConfig(width=64, readout="per_position")
    a = pretrained_model(cfg, dtype="float64").readout
    assert a.shape == (16, 64)
    assert torch.allclose(
        a.abs(), torch.full_like(a, 1 / math.sqrt(64)), rtol=0, atol=tol(F64, 1, 1 / 8)
    )
    assert ((a > 0).sum(1) == 32).all()
    assert not torch.equal(a[0], a[1])  # per position: different rows
    shared = pretrained_model(ModelConfig(readout="shared")).readout
    assert (shared == shared[0]).all()


def test_invariant_to_token_permutation_with_shared_readout():
    model = _random_model(ModelConfig(readout="shared"))
    X = _X()
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(3))
    # permuting tokens permutes the terms of every sum: float64 rounding of the forward's reductions
    bound = tol(F64, reductions(32, 16, 64), forward_scale(model, X))
    assert torch.allclose(model(X), model(X[:, perm]), rtol=0, atol=bound)


def test_not_invariant_with_per_position_readout():
    """The invariance above is a property of the shared readout, not of the test."""
    model = _random_model(ModelConfig(readout="per_position"))
    X = _X()
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(3))
    assert not torch.allclose(model(X), model(X[:, perm]), atol=1e-6)


def test_attention_rows_sum_to_one_and_w0_is_uniform():
    model = pretrained_model(ModelConfig(), dtype="float64")
    A = model.attention(_X())
    assert torch.allclose(
        A.sum(-1), torch.ones(6, 16, dtype=torch.float64), rtol=0, atol=tol(F64, 16, 1)
    )
    assert torch.allclose(
        A, torch.full_like(A, 1 / 16), rtol=0, atol=tol(F64, 16, 1 / 16)
    )  # W0 = 0


def test_default_psi0_is_documented_and_seeded():
    cfg = ModelConfig()
    a, b = pretrained_model(cfg), pretrained_model(cfg)
    c = pretrained_model(ModelConfig(seed=1))
    assert torch.equal(a.V, b.V) and torch.equal(a.readout, b.readout)
    assert not torch.equal(a.V, c.V)
    assert (a.W == 0).all()
    assert 0.008 < a.V.std().item() < 0.012


def test_qkvo_equals_wv_with_the_effective_matrices():
    cfg4 = ModelConfig(d=8, n_tokens=5, width=6, parametrization="qkvo", m_a=4, m_b=3)
    m4 = _random_model(cfg4)
    W, V = effective_wv(m4.params)
    X = _X(4, 5, 8)
    # float64, other association of the same products: the forward's reductions plus m_a, m_b, d in
    # W = W_Kᵀ W_Q and V = W_O W_V; attention weights (≤ 1) move by at most the logits' rounding
    n = reductions(8, 5, 6) + 4 + 3 + 8
    assert torch.allclose(
        m4(X),
        forward({"W": W, "V": V}, m4.readout, X),
        rtol=0,
        atol=tol(F64, n, forward_scale(m4, X)),
    )
    logits = X.abs() @ W.abs().T @ X.abs().mT  # Σ|terms| of each logit
    assert torch.allclose(
        m4.attention(X), attention({"W": W, "V": V}, X), rtol=0, atol=tol(F64, 2 * n, logits.max())
    )
    assert set(m4.params) == {"W_Q", "W_K", "W_V", "W_O"}
    assert m4.W_O.shape == (6, 4) and m4.W_Q.shape == (3, 8)


def test_float64_and_device_auto():
    m = pretrained_model(ModelConfig(), device="auto", dtype="float64")
    assert m.dtype == torch.float64
    assert m.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_model_matches_task_dimensions():
    task = make_task(pair_geometry(32, 0.0), "T1", TokenConfig())
    b = task.sample_seeded(4, 0)
    assert pretrained_model(ModelConfig())(b.X).shape == (4,)


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"d": 0}, r"model\.d=0"),
        ({"width": 0}, r"model\.width=0"),
        ({"width": -3}, r"model\.width=-3"),
        ({"parametrization": "qk"}, r"model\.parametrization='qk'"),
        ({"readout": "mean"}, r"model\.readout='mean'"),
        ({"v0_std": -0.01}, r"model\.v0_std=-0\.01"),
        ({"m_a": 0}, r"model\.m_a=0"),
        ({"seed": -1}, r"model\.seed=-1"),
    ],
)
def test_bad_model_config_is_refused(kw, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ModelConfig(**kw)


def test_bad_device_and_dtype():
    with pytest.raises(ConfigError, match=r"dtype='float16'"):
        pretrained_model(ModelConfig(), dtype="float16")
    with pytest.raises(ConfigError, match=r"device='tpu'"):
        pretrained_model(ModelConfig(), device="tpu")
