import math

import pytest
import torch

from synthetic import ConfigError, ood_geometry, orthonormal_geometry, pair_geometry


def _gram(rows: torch.Tensor) -> torch.Tensor:
    return rows.double() @ rows.double().T


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize("alpha", [-1.0, -0.8, -0.5, 0.0, 0.3, 0.8, 1.0])
def test_pair_has_exact_alpha_and_orthogonal_irrelevant(alpha, rotate):
    g = pair_geometry(32, alpha, rotate=rotate, seed=3, dtype="float64")
    mu1, mu2 = g.mu("T1"), g.mu("T2")
    assert mu1.norm().item() == pytest.approx(1.0, abs=1e-12)
    assert mu2.norm().item() == pytest.approx(1.0, abs=1e-12)
    assert (mu1 @ mu2).item() == pytest.approx(alpha, abs=1e-12)
    assert g.n_irrelevant == 30
    assert torch.allclose(_gram(g.irrelevant), torch.eye(30, dtype=torch.float64), atol=1e-12)
    assert (g.irrelevant.double() @ mu1).abs().max() < 1e-12
    assert (g.irrelevant.double() @ mu2).abs().max() < 1e-12


def test_irrelevant_patterns_do_not_depend_on_alpha():
    a, b = pair_geometry(16, 0.0), pair_geometry(16, -0.7)
    assert torch.equal(a.irrelevant, b.irrelevant)
    assert torch.equal(a.mu("T1"), b.mu("T1"))


def test_rotation_is_seeded_and_moves_the_axes():
    a = pair_geometry(16, 0.5, rotate=True, seed=1)
    b = pair_geometry(16, 0.5, rotate=True, seed=1)
    c = pair_geometry(16, 0.5, rotate=True, seed=2)
    assert torch.equal(a.mu("T2"), b.mu("T2"))
    assert not torch.allclose(a.mu("T2"), c.mu("T2"))
    assert not torch.allclose(a.mu("T1"), torch.eye(16)[0])
    q = a.basis.double()
    assert torch.allclose(q.T @ q, torch.eye(16, dtype=torch.float64), atol=1e-6)


def test_orthonormal_tasks():
    g = orthonormal_geometry(20, 4, rotate=True, seed=5, dtype="float64")
    mus = torch.stack([g.mu(f"T{i}") for i in range(1, 5)])
    assert torch.allclose(_gram(mus), torch.eye(4, dtype=torch.float64), atol=1e-12)
    assert (g.irrelevant.double() @ mus.T).abs().max() < 1e-12
    assert g.n_irrelevant == 16


@pytest.mark.parametrize("rotate", [False, True])
def test_ood_target_has_exact_gamma_and_kappa(rotate):
    gamma = (0.6, -0.48)
    kappa = math.sqrt(1 - 0.6**2 - 0.48**2)
    g = ood_geometry(32, gamma, kappa, rotate=rotate, seed=7, dtype="float64")
    target = g.mu("T'")
    assert target.norm().item() == pytest.approx(1.0, abs=1e-12)
    for i, gi in enumerate(gamma, start=1):
        assert (target @ g.mu(f"T{i}")).item() == pytest.approx(gi, abs=1e-12)
    residual = target - sum(gi * g.mu(f"T{i}") for i, gi in enumerate(gamma, start=1))
    assert residual.norm().item() == pytest.approx(kappa, abs=1e-12)
    # μ⊥ and every known pattern are orthogonal to the irrelevant patterns
    assert (g.irrelevant.double() @ target).abs().max() < 1e-12
    assert g.n_irrelevant == 32 - 3


def test_patterns_are_made_on_the_requested_dtype():
    g = pair_geometry(8, 0.2, dtype="float32")
    assert g.mu("T1").dtype == torch.float32 and g.irrelevant.dtype == torch.float32


@pytest.mark.parametrize("alpha", [1.5, -1.01, float("nan")])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ConfigError, match=r"data\.alpha=.*\[-1, 1\]"):
        pair_geometry(16, alpha)


def test_ood_norm_must_be_one():
    with pytest.raises(ConfigError, match=r"Σγ²\+κ² = .* must equal 1"):
        ood_geometry(16, (0.792, -0.637), 0.2)


def test_ood_needs_gamma():
    with pytest.raises(ConfigError, match=r"data\.gamma"):
        ood_geometry(16, (), 1.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: pair_geometry(2, 0.0),  # no room for an irrelevant pattern
        lambda: pair_geometry(8, 0.0, n_irrelevant=7),
        lambda: orthonormal_geometry(4, 4),
        lambda: ood_geometry(3, (1.0, 0.0), 0.0),
    ],
)
def test_d_too_small_is_refused(build):
    with pytest.raises(ConfigError, match=r"data\.d=\d+ is invalid: must be >= \d+"):
        build()


def test_errors_are_one_line():
    with pytest.raises(ConfigError) as err:
        pair_geometry(8, 0.0, n_irrelevant=7)
    assert "\n" not in str(err.value)
