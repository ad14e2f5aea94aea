import pytest
import torch
from tolerance import forward_scale, reductions, tol

from models import (
    ModelConfig,
    OneLayerTransformer,
    TaskVector,
    TrainConfig,
    apply,
    finetune,
    pretrained_model,
)
from models.grid import evaluate_grid, evaluate_grid_naive, grid_1d, grid_2d, grid_flops
from synthetic import ConfigError, TokenConfig, make_tasks, pair_geometry


@pytest.fixture(scope="module")
def setups():
    """Ψ0 and two task vectors for each parametrization, plus small test sets."""
    out = {}
    tasks = make_tasks(pair_geometry(32, 0.3), TokenConfig())
    data = {n: t.sample_seeded(300, 50 + i) for i, (n, t) in enumerate(tasks.items())}
    for param, lr in (("wv", 5.0), ("qkvo", 2.0)):
        psi0 = pretrained_model(ModelConfig(parametrization=param))
        tvs = [
            TaskVector.from_models(psi0, finetune(psi0, t, TrainConfig(lr=lr, seed=i)).model)
            for i, t in enumerate(tasks.values())
        ]
        out[param] = (psi0, tvs, data)
    return out


def _f64(psi0, vectors):
    """Ψ0 and the vectors in float64 (exact copies of the float32 values): the comparisons below
    check the algebra of the fast paths, so they run where rounding is far below any margin."""
    psi0 = OneLayerTransformer(psi0.cfg, psi0.params, psi0.readout, dtype="float64")
    return psi0, [TaskVector({k: v.double() for k, v in tv.items()}) for tv in vectors]


def _assert_same(fast, naive, coef, d=32, P=16, m=64):
    """Fast and naive paths sum the same terms in another order (the affine path also through the
    per-vector logits S_k, weighted by |λ|): float64 rounding of the forward's reductions (plus the
    d-term merges of K vectors) times the margins' size and 1 + Σ|λ|."""
    n = reductions(d, P, m) + coef.shape[1] * d
    for name in naive.margins:
        a, b = fast.margins[name], naive.margins[name]
        bound = tol(torch.float64, n, b.abs().max() * (1 + coef.abs().sum(1).max()))
        assert (a - b).abs().max().item() <= bound, (name, (a - b).abs().max().item(), bound)
        # hinge is 1-Lipschitz in the margin; its mean sums n_samples terms ≤ 1 + max|margin|
        h_bound = bound + tol(torch.float64, b.shape[1], 1 + b.abs().max())
        assert torch.allclose(fast.hinge[name], naive.hinge[name], rtol=0, atol=h_bound)
        # a sign may differ only for a margin within the bound of 0 (none expected in float64)
        ambiguous = (b.abs() <= bound).sum(1).double() / b.shape[1]
        assert ((fast.accuracy[name] - naive.accuracy[name]).abs() <= ambiguous).all()


@pytest.mark.parametrize(
    ("param", "method"), [("wv", "affine"), ("wv", "direct"), ("qkvo", "direct")]
)
def test_2d_grid_equals_the_naive_loop(setups, param, method):
    psi0, tvs = _f64(*setups[param][:2])
    data = setups[param][2]
    coef = grid_2d(torch.linspace(-2, 3, 6), torch.linspace(-2, 3, 5))
    fast = evaluate_grid(psi0, tvs, coef, data, method=method, margins=True)
    naive = evaluate_grid_naive(psi0, tvs, coef, data, margins=True)
    _assert_same(fast, naive, coef)
    assert fast.reshaped(6, 5)["T1"]["accuracy"].shape == (6, 5)


@pytest.mark.parametrize("param", ["wv", "qkvo"])
def test_1d_grid_equals_the_naive_loop(setups, param):
    psi0, tvs = _f64(*setups[param][:2])
    data = setups[param][2]
    coef = grid_1d(torch.linspace(-1, 1.6, 14), fixed=[1.0])
    assert coef.shape == (14, 2) and (coef[:, 0] == 1).all()
    _assert_same(
        evaluate_grid(psi0, tvs, coef, data, margins=True),
        evaluate_grid_naive(psi0, tvs, coef, data, margins=True),
        coef,
    )


@pytest.mark.parametrize("param", ["wv", "qkvo"])
def test_low_rank_and_pruned_vectors(setups, param):
    psi0, tvs, data = setups[param]
    vectors = [tvs[0].low_rank(1), tvs[1].prune_rows(0.5), tvs[1].prune_magnitude(0.2), tvs[0]]
    psi0, vectors = _f64(psi0, vectors)
    coef = torch.tensor([[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0], [0.7, -0.3, 0.2, 0.1]])
    _assert_same(
        evaluate_grid(psi0, vectors, coef, data, margins=True),
        evaluate_grid_naive(psi0, vectors, coef, data, margins=True),
        coef,
    )


def test_tiny_memory_budget_gives_many_chunks_and_the_same_numbers(setups):
    psi0, tvs, data = setups["wv"]
    coef = grid_2d(torch.linspace(-1, 2, 4), torch.linspace(-1, 2, 4))
    big = evaluate_grid(psi0, tvs, coef, data, margins=True)
    tiny = evaluate_grid(psi0, tvs, coef, data, memory_mb=0.05, margins=True)
    assert tiny.chunks > 20 * big.chunks
    # Chunking changes the order (and the BLAS blocking) of float32 reductions over d, P and P·m,
    # so the two agree to the rounding bound of those reductions times the size of the readout sum
    # (1 + Σ|λ| for the affine logits), not bit for bit. Accuracy may differ only where a margin
    # lies inside that band around 0.
    n = reductions(32, 16, 64) + 2 * 32
    for name in data:
        a, b = tiny.margins[name], big.margins[name]
        merged = (apply(psi0, list(zip(row, tvs, strict=True))) for row in coef.tolist())
        scale = max(forward_scale(p, data[name].X) for p in merged) * (1 + coef.abs().sum(1).max())
        limit = tol(torch.float32, n, scale)
        assert (a - b).abs().max().item() <= limit
        ambiguous = b.abs() <= limit
        agree = (a > 0) == (b > 0)
        assert (agree | ambiguous).all()
        if not ambiguous.any():
            assert torch.equal(tiny.accuracy[name], big.accuracy[name])


def test_identity_point_reproduces_the_finetuned_model(setups):
    """Row (1, 0) of the grid is Ψ*_T1 itself: near-perfect on T1."""
    psi0, tvs, data = setups["wv"]
    res = evaluate_grid(psi0, tvs, torch.tensor([[1.0, 0.0], [0.0, 0.0]]), data)
    assert res.accuracy["T1"][0] >= 0.99 and res.accuracy["T1"][1] < 0.7


def test_bad_arguments(setups):
    psi0, tvs, data = setups["qkvo"]
    with pytest.raises(ConfigError, match=r"grid\.method='affine'"):
        evaluate_grid(psi0, tvs, [[1.0, 0.0]], data, method="affine")
    with pytest.raises(ConfigError, match=r"grid\.memory_mb=0"):
        evaluate_grid(psi0, tvs, [[1.0, 0.0]], data, memory_mb=0)
    with pytest.raises(ValueError, match=r"shape \(G, 2\)"):
        evaluate_grid(psi0, tvs, [[1.0, 0.0, 2.0]], data)


def test_affine_needs_fewer_flops_than_naive_at_default_sizes():
    f = grid_flops(4096, 16, 32, 64, 2, 676)
    assert f["affine"] < f["naive"]
