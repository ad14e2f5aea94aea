import pickle

import pytest
import torch
from tolerance import forward_scale, reductions, tol

from models import (
    ModelConfig,
    OneLayerTransformer,
    TaskVector,
    apply,
    load_model,
    low_rank,
    low_rank_residual,
    pretrained_model,
    prune_magnitude,
    prune_rows,
    save_model,
)
from synthetic import ConfigError

F32, F64 = torch.float32, torch.float64


def _tv(seed=0, shapes=(("W", (8, 8)), ("V", (12, 8))), dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return TaskVector({k: torch.randn(s, generator=g, dtype=dtype) for k, s in shapes})


def test_psi0_plus_task_vector_reproduces_the_finetuned_model(psi0, finetuned):
    ft = finetuned["T1"].model
    tv = TaskVector.from_models(psi0, ft)
    rebuilt = tv.apply_to(psi0, 1.0)
    for k in ("W", "V"):  # two float32 roundings: Ψ* − Ψ0, then Ψ0 + τ
        scale = torch.maximum(getattr(ft, k).abs(), getattr(psi0, k).abs()).max()
        assert torch.allclose(getattr(rebuilt, k), getattr(ft, k), rtol=0, atol=tol(F32, 2, scale))
    assert torch.equal(rebuilt.readout, psi0.readout)
    x = torch.randn(5, 16, 32)
    # parameters two roundings apart, carried through each reduction of the same float32 forward
    bound = tol(F32, 2 * reductions(32, 16, 64), forward_scale(ft, x))
    assert torch.allclose(rebuilt(x), ft(x), rtol=0, atol=bound)


def test_applying_never_mutates_psi0_or_the_vectors(psi0, finetuned):
    before = {k: v.clone() for k, v in psi0.state_dict().items()}
    t1 = TaskVector.from_models(psi0, finetuned["T1"].model)
    t2 = TaskVector.from_models(psi0, finetuned["T2"].model)
    t1_copy = {k: v.clone() for k, v in t1.items()}
    merged = apply(psi0, [(1.0, t1), (-0.7, t2)])
    with torch.no_grad():
        merged.V.add_(100.0)  # editing the result must not reach Ψ0 either
    for k, v in psi0.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(torch.equal(t1[k], t1_copy[k]) for k in t1)


def test_combination_is_the_weighted_sum(psi0, finetuned):
    t1 = TaskVector.from_models(psi0, finetuned["T1"].model)
    t2 = TaskVector.from_models(psi0, finetuned["T2"].model)
    merged = apply(psi0, [(0.5, t1), (-1.5, t2)])
    expected = psi0.V + 0.5 * t1["V"] - 1.5 * t2["V"]
    scale = (psi0.V.abs() + 0.5 * t1["V"].abs() + 1.5 * t2["V"].abs()).max()
    assert torch.allclose(
        merged.V, expected, rtol=0, atol=tol(F32, 4, scale)
    )  # 4 float32 roundings


def test_identities():
    a, b, c = _tv(0), _tv(1), _tv(2)
    n = sum(v.numel() for v in a.values())  # terms of a dot product
    big = max(max(v.abs().max().item() for v in t.values()) for t in (a, b))
    assert ((a + b) - b).allclose(a, rtol=0, atol=tol(F64, 2, 2 * big))  # two float64 roundings
    # scaling by 0.5, 2 or -1 and adding in the same order are exact in IEEE arithmetic
    assert (0.5 * a).allclose(a * 0.5, rtol=0, atol=0)
    assert (a * 0.5).allclose(a / 2.0, rtol=0, atol=0)
    assert (-a).allclose(a * -1, rtol=0, atol=0)
    assert sum([a, b, c]).allclose(a + b + c, rtol=0, atol=0)
    assert (a - a).norm() == 0.0
    # float64 reductions over n terms (relative to Σ|terms|, here ≤ ‖a‖‖b‖ and ‖a‖²)
    rel = tol(F64, 2 * n, 1)
    assert a.dot(b) == pytest.approx(b.dot(a), rel=0, abs=tol(F64, n, a.norm() * b.norm()))
    assert a.norm() == pytest.approx(a.dot(a) ** 0.5, rel=rel)
    assert a.cosine(a) == pytest.approx(1.0, rel=rel)
    assert a.cosine(-a) == pytest.approx(-1.0, rel=rel)
    assert (2.0 * a).cosine(a) == pytest.approx(1.0, rel=rel)
    assert abs(a.cosine(b)) < 1.0


def test_operations_return_new_tensors():
    a = _tv(0)
    orig = a["V"].clone()
    _ = a * 3.0 + a
    assert torch.equal(a["V"], orig)
    with pytest.raises(TypeError):
        a["V"] = orig  # immutable mapping


def test_key_mismatch_raises_naming_the_key():
    a = _tv(0)
    b = TaskVector({"W": a["W"], "U": a["V"]})
    with pytest.raises(
        ValueError, match=r"only in left task vector: \['V'\].*only in right task vector: \['U'\]"
    ):
        _ = a + b
    with pytest.raises(TypeError):
        _ = a * a
    psi0 = pretrained_model(ModelConfig(d=8, n_tokens=4, width=12))
    with pytest.raises(ValueError, match="only in task vector"):
        apply(psi0, [(1.0, b)])


@pytest.mark.parametrize("rank", [1, 2, 5])
def test_low_rank_has_the_requested_rank_and_eckart_young_residual(rank):
    tv = _tv(3)
    lr = low_rank(tv, rank)
    res = low_rank_residual(tv, rank)
    for k in ("W", "V"):
        assert torch.linalg.matrix_rank(lr[k]).item() == rank
        s = torch.linalg.svdvals(tv[k])
        # float64 SVDs of a 12×8 matrix: errors of a few reductions over its 96 entries times ‖τ‖
        bound = tol(F64, tv[k].numel(), tv[k].norm())
        assert (tv[k] - lr[k]).norm().item() == pytest.approx(
            s[rank:].pow(2).sum().sqrt().item(), rel=0, abs=bound
        )
        assert res[k] == pytest.approx((tv[k] - lr[k]).norm().item(), rel=0, abs=bound)


def test_full_rank_is_exact():
    tv = _tv(4)
    # U S Vᵀ of a float64 SVD (8×8, 12×8): a rank-8 sum of products, relative to ‖τ‖₂ ≤ ‖τ‖_F
    bound = tol(F64, 8 * 12, max(v.norm() for v in tv.values()))
    assert low_rank(tv, 8).allclose(tv, rtol=0, atol=bound)
    assert tv.low_rank(8).allclose(tv, rtol=0, atol=bound)


@pytest.mark.parametrize("rank", [0, 9, -1, 2.0])
def test_rank_out_of_range(rank):
    with pytest.raises(ConfigError, match=rf"rank={rank!r} is invalid"):
        low_rank(_tv(0), rank)


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 1.0])
def test_row_pruning_keeps_exactly_the_requested_rows(keep):
    tv = _tv(5)
    pr = prune_rows(tv, keep)
    kept_rows = (pr["V"].abs().sum(1) > 0).sum().item()
    assert kept_rows == round(keep * 12)
    # the kept rows are the largest-norm rows, unchanged; W is untouched
    norms = tv["V"].norm(dim=1)
    top = set(torch.topk(norms, kept_rows).indices.tolist())
    assert {i for i in range(12) if pr["V"][i].abs().sum() > 0} == top
    for i in top:
        assert torch.equal(pr["V"][i], tv["V"][i])
    assert torch.equal(pr["W"], tv["W"])


def test_row_pruning_with_ties_keeps_exact_count():
    tv = TaskVector({"W": torch.zeros(2, 2), "V": torch.ones(6, 2)})
    assert (prune_rows(tv, 0.5)["V"].abs().sum(1) > 0).sum().item() == 3


def test_row_pruning_hand_example():
    V = torch.tensor([[3.0, 4.0], [0.1, 0.0], [1.0, 1.0]])  # norms 5, 0.1, 1.41
    pr = prune_rows(TaskVector({"W": torch.eye(2), "V": V}), 2 / 3)
    assert torch.equal(pr["V"], torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]]))


@pytest.mark.parametrize("keep", [0.1, 0.3, 1.0])
def test_magnitude_pruning_keeps_exactly_the_requested_entries(keep):
    tv = _tv(6)
    pr = prune_magnitude(tv, keep)
    for k in tv:
        assert (pr[k] != 0).sum().item() == round(keep * tv[k].numel())
    g = prune_magnitude(tv, keep, scope="global")
    assert sum((g[k] != 0).sum().item() for k in g) == round(keep * (64 + 96))


def test_magnitude_pruning_hand_example():
    W = torch.tensor([[1.0, -5.0, 2.0], [0.5, 3.0, -4.0]])
    pr = prune_magnitude(TaskVector({"W": W}), 0.5)
    assert torch.equal(pr["W"], torch.tensor([[0.0, -5.0, 0.0], [0.0, 3.0, -4.0]]))


@pytest.mark.parametrize("keep", [0.0, -0.2, 1.5])
def test_prune_fraction_out_of_range(keep):
    with pytest.raises(ConfigError, match=rf"prune\.keep={keep!r} is invalid: must be in \(0, 1\]"):
        prune_rows(_tv(0), keep)
    with pytest.raises(ConfigError, match=r"prune\.keep"):
        prune_magnitude(_tv(0), keep)


def test_task_vector_save_load_round_trip(tmp_path):
    tv = _tv(7)
    tv.save(tmp_path / "tv.pt")
    back = TaskVector.load(tmp_path / "tv.pt")
    assert set(back) == set(tv) and all(torch.equal(back[k], tv[k]) for k in tv)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("parametrization", ["wv", "qkvo"])
def test_model_save_load_round_trip(tmp_path, finetuned, parametrization):
    model = (
        finetuned["T1"].model
        if parametrization == "wv"
        else pretrained_model(ModelConfig(parametrization="qkvo", readout="per_position", seed=3))
    )
    save_model(model, tmp_path / "m.pt")
    back = load_model(tmp_path / "m.pt")
    assert isinstance(back, OneLayerTransformer) and back.cfg == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(back.state_dict()[k], v)
    x = torch.randn(3, 16, 32)
    assert torch.equal(back(x), model(x))


def test_loading_refuses_pickled_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"format": "x", "obj": Evil()}, fh, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        load_model(path)


def test_loading_refuses_a_foreign_file(tmp_path):
    torch.save({"format": "something-else"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="is not a model file"):
        load_model(tmp_path / "x.pt")
    with pytest.raises(ValueError, match="is not a task-vector file"):
        TaskVector.load(tmp_path / "x.pt")
