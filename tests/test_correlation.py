import pytest
import torch

from models import OneLayerTransformer, TaskVector, exact_alpha, output_alpha, task_vector_cosine
from synthetic import ConfigError, pair_geometry


def test_exact_alpha():
    g = pair_geometry(16, -0.35, rotate=True, seed=2)
    assert exact_alpha(g.mu("T1"), g.mu("T2")) == pytest.approx(-0.35, abs=1e-6)


def test_output_alpha_of_a_model_with_itself_is_one(finetuned, pair_tasks):
    m = finetuned["T1"].model
    X = pair_tasks["T1"].sample_seeded(512, 0).X
    assert output_alpha(m, m, X) == pytest.approx(1.0, abs=1e-9)
    assert output_alpha(m, m, X, output="hidden") == pytest.approx(1.0, abs=1e-9)


def test_output_alpha_tells_irrelevant_from_same_task(psi0, finetuned, pair_tasks):
    """α = 0 pair: the batch estimator is near 0 (T2's model is at chance on T1 and vice versa)."""
    X = torch.cat([pair_tasks[n].sample_seeded(1024, 1).X for n in ("T1", "T2")])
    a_hat = output_alpha(finetuned["T1"].model, finetuned["T2"].model, X, batch_size=256)
    assert abs(a_hat) < 0.3


def test_output_alpha_of_the_sign_flipped_model_is_minus_one(finetuned, pair_tasks):
    """A model whose readout is negated outputs exactly −f: α̂ = −1 with the batch estimator."""
    m = finetuned["T1"].model
    flipped = OneLayerTransformer(m.cfg, m.params, -m.readout)
    X = pair_tasks["T1"].sample_seeded(512, 2).X
    assert output_alpha(m, flipped, X) == pytest.approx(-1.0, abs=1e-9)


def test_task_vector_cosine(psi0, finetuned):
    t1 = TaskVector.from_models(psi0, finetuned["T1"].model)
    assert task_vector_cosine(t1, t1) == pytest.approx(1.0)
    assert task_vector_cosine(t1, -t1) == pytest.approx(-1.0)


def test_estimator_arguments_are_checked(finetuned, pair_tasks):
    m = finetuned["T1"].model
    X = pair_tasks["T1"].sample_seeded(8, 0).X
    with pytest.raises(ConfigError, match=r"estimator\.output='logits'"):
        output_alpha(m, m, X, output="logits")
    with pytest.raises(ValueError, match="needs at least"):
        output_alpha(m, m, X, batch_size=256)
