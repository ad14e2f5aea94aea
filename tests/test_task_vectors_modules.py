"""TaskVector over any torch module or state dict (properties), and low rank with clipping."""

import pytest
import torch

from models.task_vectors import TaskVector, apply, parameters
from models.transforms import low_rank

# float64 throughout: one subtraction and one addition per entry, so rebuilt weights agree with the
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
