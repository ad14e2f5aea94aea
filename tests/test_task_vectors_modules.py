"""TaskVector over any torch module or state dict (properties; torch.nn.Linear, BatchNorm, a
transformers GPT-2 with tied weights), and low rank with clipping or in half precision."""

import copy

import pytest
import torch

from models.task_vectors import TaskVector, apply, parameters
from models.transforms import low_rank

# The float64 tests: one subtraction and one addition per entry, so rebuilt weights agree with the
# fine-tuned ones to a few ulps of |w| <= ~1 (atol 1e-12 leaves three orders of margin).
ATOL = 1e-12


def _linear(seed: int) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(5, 3).double()


class WithBuffers(torch.nn.Module):
    """A layer with a float buffer and two integer buffers (a counter and position ids)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.lin = torch.nn.Linear(4, 4).double()
        self.register_buffer("scale", torch.rand(4, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(7 + seed))
        self.register_buffer("position_ids", torch.arange(4))


@pytest.mark.parametrize("lam", [1.0, 0.5, -1.0, 2.0])
def test_linear_psi0_plus_lambda_tau_is_the_weighted_sum(lam):
    pre, ft = _linear(0), _linear(1)
    tv = TaskVector.from_models(pre, ft)
    assert set(tv) == {"weight", "bias"}
    before = {k: v.clone() for k, v in pre.state_dict().items()}
    out = tv.apply_to(pre, lam)
    assert isinstance(out, torch.nn.Linear) and out is not pre
    for k, v in pre.state_dict().items():  # Ψ0 untouched
        assert torch.equal(v, before[k])
    for k in tv:
        expected = before[k] + lam * (ft.state_dict()[k] - before[k])
        assert torch.allclose(out.state_dict()[k], expected, rtol=0, atol=ATOL)
    if lam == 1.0:
        x = torch.randn(6, 5, dtype=torch.float64)
        assert torch.allclose(out(x), ft(x), rtol=0, atol=ATOL)


def test_linear_from_state_dicts_equals_from_modules_and_applies_to_a_state_dict():
    pre, ft = _linear(0), _linear(1)
    tv = TaskVector.from_models(pre, ft)
    tv_sd = TaskVector.from_models(pre.state_dict(), ft.state_dict())
    assert tv.allclose(tv_sd, rtol=0, atol=0)
    merged = apply(pre.state_dict(), [(1.0, tv), (-0.5, tv)])
    for k, v in pre.state_dict().items():
        assert torch.equal(merged[k], v + 1.0 * tv[k] + (-0.5) * tv[k])


def test_integer_buffers_are_never_part_of_a_vector_nor_cast():
    pre, ft = WithBuffers(0), WithBuffers(1)
    tv = TaskVector.from_models(pre, ft)
    tv_sd = TaskVector.from_models(pre.state_dict(), ft.state_dict())
    assert set(tv) == set(tv_sd) == {"lin.weight", "lin.bias", "scale"}  # floating entries only
    for vec in (tv, tv_sd):
        out = apply(pre, [(0.7, vec)])
        for name in ("count", "position_ids"):
            assert out.get_buffer(name).dtype == torch.int64
            assert torch.equal(out.get_buffer(name), pre.get_buffer(name))
        sd = vec.apply_to(pre.state_dict(), 0.7)
        assert sd["count"].dtype == torch.int64 and torch.equal(sd["count"], pre.count)
        assert torch.equal(sd["position_ids"], pre.position_ids)
    shifted = apply(pre, [(1.0, tv_sd)])
    assert torch.allclose(shifted.scale, ft.scale, rtol=0, atol=ATOL)
    assert torch.equal(pre.count, torch.tensor(7))


def test_an_integer_or_unknown_entry_is_refused():
    pre = WithBuffers(0)
    with pytest.raises(TypeError, match="count"):
        apply(pre, [(1.0, {"count": torch.ones(())})])
    with pytest.raises(ValueError, match="nope"):
        apply(pre, [(1.0, {"nope": torch.ones(4)})])
    with pytest.raises(TypeError):
        parameters(42)


def test_parameters_of_a_module_are_its_floating_point_state():
    m = WithBuffers(0)
    assert list(parameters(m)) == ["scale", "lin.weight", "lin.bias"]  # state_dict order


def test_low_rank_with_clip_keeps_small_matrices_and_truncates_the_others():
    g = torch.Generator().manual_seed(0)
    tv = {
        "big": torch.randn(12, 8, generator=g, dtype=torch.float64),
        "small": torch.randn(3, 8, generator=g, dtype=torch.float64),
        "bias": torch.randn(8, generator=g, dtype=torch.float64),
    }
    out = low_rank(tv, 4, clip=True)
    assert torch.equal(out["small"], tv["small"]) and torch.equal(out["bias"], tv["bias"])
    assert torch.linalg.matrix_rank(out["big"]) == 4
    assert torch.equal(out["big"], low_rank({"big": tv["big"]}, 4)["big"])  # the same code path


def test_vit_body_is_a_task_vector_and_apply_keeps_the_head():
    from models.vit import ViT, init_body, init_head
    from models.vit_config import ViTConfig

    cfg = ViTConfig(image_size=8, patch=2, dim=16, depth=1, heads=2)
    pre = ViT(cfg, init_body(cfg, 0), init_head(cfg, 2, 1))
    ft = ViT(cfg, init_body(cfg, 5), pre.head)
    tv = TaskVector.from_models(pre, ft)
    assert set(tv) == set(pre.body)
    out = tv.apply_to(pre, -0.5)
    assert isinstance(out, ViT) and out.head is pre.head
    for k, v in pre.body.items():  # the same single float32 operations as written out here
        assert torch.equal(out.body[k], v + (-0.5) * (ft.body[k] - v))


# ----------------------------------------------------------------------------- float32 modules
def _scaled(model: torch.nn.Module) -> torch.nn.Module:
    """A stand-in for a fine-tuned copy: every float entry of the state times 3/2. Ψ0 and Ψ* are then
    within a factor 2 of each other, so τ = Ψ* − Ψ0 is exact (Sterbenz) and so are Ψ0 + τ = Ψ* and
    Ψ* − τ = Ψ0: a round trip can be checked bit for bit."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for v in parameters(out).values():
            v.mul_(1.5)
    return out


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return list(a) == list(b) and all(torch.equal(v, b[k]) for k, v in a.items())


def test_linear_round_trip_negation_and_untouched_input():
    torch.manual_seed(0)
    pre = torch.nn.Linear(5, 3)
    ft = _scaled(pre)
    before = _state(pre)
    tv = TaskVector.from_models(pre, ft)
    assert list(tv) == ["weight", "bias"]
    assert _equal(_state(tv.apply_to(pre, 1.0)), _state(ft))  # λ = 1: the fine-tuned model
    assert _equal(_state(tv.apply_to(pre, 0.0)), before)  # λ = 0: Ψ0
    assert _equal(_state(tv.apply_to(ft, -1.0)), before)  # negation undoes the task
    assert _equal(_state((-tv).apply_to(ft, 1.0)), before)
    out = tv.apply_to(pre, 0.5)
    assert isinstance(out, torch.nn.Linear) and out is not pre and out.weight is not pre.weight
    assert torch.equal(out.weight, pre.weight + 0.5 * tv["weight"])
    assert _equal(_state(pre), before)  # the input is never modified


def test_mismatched_names_or_shapes_raise_one_line_value_errors():
    with pytest.raises(ValueError, match=r"^shape of 'weight' differs: \(3, 5\) in pretrained"):
        TaskVector.from_models(torch.nn.Linear(5, 3), torch.nn.Linear(5, 4))
    with pytest.raises(ValueError, match=r"only in pretrained model: \['bias'\]; only in fine"):
        TaskVector.from_models(torch.nn.Linear(5, 3), torch.nn.Linear(5, 3, bias=False))
    tv = TaskVector.from_models(torch.nn.Linear(5, 3), torch.nn.Linear(5, 3))
    with pytest.raises(ValueError, match=r"^shape of 'weight' differs: \(4, 5\) in model"):
        tv.apply_to(torch.nn.Linear(5, 4))
    with pytest.raises(ValueError, match=r"^shape of 'weight' differs"):
        _ = tv + {"weight": torch.zeros(1, 5), "bias": torch.zeros(3)}  # no broadcasting
    many = {f"w{i}": torch.zeros(1) for i in range(9)}
    with pytest.raises(ValueError, match=r"\['w0', 'w1', 'w2', 'w3', 'w4'\] … 4 more") as err:
        TaskVector.from_models(many, {})
    assert "\n" not in str(err.value)


class BNNet(torch.nn.Sequential):
    def __init__(self) -> None:
        super().__init__(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 2))


def test_batchnorm_counter_is_left_out_and_kept_running_statistics_are_shifted():
    torch.manual_seed(0)
    pre = BNNet()
    pre(torch.randn(8, 4))  # one training batch: running statistics away from 0 and 1, counter 1
    ft = _scaled(pre)
    ft[1].num_batches_tracked.fill_(3)  # what further training does to the counter
    tv = TaskVector.from_models(pre, ft)
    assert "1.num_batches_tracked" not in tv and {"1.running_mean", "1.running_var"} <= set(tv)
    assert set(tv) == set(TaskVector.from_models(pre.state_dict(), ft.state_dict()))
    with pytest.raises(TypeError, match=r"'1\.num_batches_tracked' is torch\.int64"):
        TaskVector(pre.state_dict())  # an integer buffer is never cast to float
    for lam in (1.0, 0.5, -1.0):
        counter = tv.apply_to(pre, lam)[1].num_batches_tracked
        assert counter.dtype == torch.int64 and counter.item() == 1  # Ψ0's, as it was
    out = tv.apply_to(pre, 1.0)
    floats = {k: v for k, v in _state(out).items() if k != "1.num_batches_tracked"}
    assert _equal(floats, {k: v for k, v in _state(ft).items() if k in floats})
    x = torch.randn(7, 4)
    assert torch.equal(out.eval()(x), ft.eval()(x))  # the same state: the same eval forward


# ----------------------------------------------------------------------------- a transformers GPT-2
def _gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)  # built from its config: nothing is downloaded
    config = GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=50, n_positions=32)
    return GPT2LMHeadModel(config).eval()


HEAD, WTE = "lm_head.weight", "transformer.wte.weight"


def test_gpt2_round_trip_with_tied_weights_shifted_once():
    pre = _gpt2()
    ft = _scaled(pre)
    before = _state(pre)
    tv = TaskVector.from_models(pre, ft)
    assert list(tv) == [k for k, _ in pre.named_parameters()] and HEAD not in tv  # tied: once
    out = tv.apply_to(pre, 1.0)
    assert out.lm_head.weight is out.transformer.wte.weight  # still tied
    assert _equal(_state(out), _state(ft))  # the head moved once (twice would be 2Ψ0, not 1.5Ψ0)
    assert _equal(_state(tv.apply_to(ft, -1.0)), before) and _equal(_state(pre), before)
    # a vector that names both tied entries (from state dicts whose storages are no longer shared)
    both = TaskVector.from_models(_state(pre), _state(ft))
    assert HEAD in both
    assert _equal(_state(both.apply_to(pre, 1.0)), _state(ft))
    edited = both.apply_to(_state(pre), 1.0)  # a state dict: both names carry the update
    assert torch.equal(edited[HEAD], ft.lm_head.weight) and torch.equal(edited[WTE], edited[HEAD])
    shifted = tv.apply_to(pre.state_dict(), 1.0)  # the tied copy follows, loading keeps the edit
    reloaded = copy.deepcopy(pre)
    reloaded.load_state_dict(shifted)
    assert _equal(_state(reloaded), _state(ft))
    ids = torch.randint(0, 50, (2, 8), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out(input_ids=ids).logits, ft(input_ids=ids).logits)


def test_gpt2_tied_entries_shifted_apart_are_refused():
    pre = _gpt2()
    tv = TaskVector.from_models(_state(pre), _state(_scaled(pre)))
    apart = TaskVector({k: torch.zeros_like(v) if k == HEAD else v for k, v in tv.items()})
    with pytest.raises(ValueError, match=rf"'{HEAD}' is tied to '{WTE}'"):
        apart.apply_to(pre, 1.0)


def test_gpt2_transforms_keep_shapes_and_the_edited_model_runs():
    pre = _gpt2()
    tv = TaskVector.from_models(pre, _scaled(pre))
    mlp = "transformer.h.0.mlp.c_fc.weight"
    for out in (tv.low_rank(2), tv.prune_rows(0.5, param=mlp), tv.prune_magnitude(0.2)):
        assert isinstance(out, TaskVector) and list(out) == list(tv)
        assert all(out[k].shape == v.shape and out[k].dtype == v.dtype for k, v in tv.items())
        ids = torch.randint(0, 50, (2, 8), generator=torch.Generator().manual_seed(0))
        logits = out.apply_to(pre, -0.5)(input_ids=ids).logits
        assert logits.shape == (2, 8, 50) and torch.isfinite(logits).all()
    assert all(torch.linalg.matrix_rank(v) <= 2 for v in tv.low_rank(2).values() if v.ndim == 2)
    assert (tv.prune_rows(0.5, param=mlp)[mlp].abs().sum(1) > 0).sum() == tv[mlp].shape[0] // 2
    with pytest.raises(KeyError, match="param="):
        tv.prune_rows(0.5)  # no one-layer hidden-neuron matrix: the caller names one


def test_low_rank_of_a_half_precision_vector_keeps_its_dtype():
    torch.manual_seed(0)
    pre = torch.nn.Linear(8, 6).to(torch.bfloat16)
    tv = TaskVector.from_models(pre, _scaled(pre))
    out = tv.low_rank(2)
    assert out["weight"].dtype == torch.bfloat16 and out["weight"].shape == (6, 8)
    # the float32 truncated SVD, rounded once to bfloat16
    assert torch.equal(out["weight"], low_rank({"w": tv["weight"].float()}, 2)["w"].bfloat16())
