"""Three estimators of the correlation between two tasks (theory.md §6.1 and §8.1).

* ``exact_alpha``: α = μ_T1·μ_T2 from the patterns (the ground truth of the synthetic setting).
* ``task_vector_cosine``: cos(ΔΨ_T1, ΔΨ_T2) of the flattened task vectors.
* ``output_alpha``: the paper's α̂ = E_X cos(f(X; Ψ*_T1), f(X; Ψ*_T2)). f is a scalar in this model,
  so the "output vector" must be chosen:

  - ``output="batch"`` (default): the vector of the n outputs (f(X_1), ..., f(X_n)) over a batch of
    ``batch_size`` inputs; α̂ is the mean over batches of the cosine of the two models' vectors.
  - ``output="hidden"``: per input, the hidden ReLU activations of every query position, flattened
    (P·m values, the vector the fixed readout multiplies); α̂ is the mean over inputs of the cosine.

  The inputs X are the samples passed in; by default use the union of both tasks' test sets.
"""

from __future__ import annotations

import torch

from models.task_vectors import TaskVector
from models.transformer import OneLayerTransformer
from synthetic.checks import check_choice, check_positive_int


def exact_alpha(mu1: torch.Tensor, mu2: torch.Tensor) -> float:
    return float(mu1.double() @ mu2.double())


def task_vector_cosine(tv1: TaskVector, tv2: TaskVector) -> float:
    return tv1.cosine(tv2)


@torch.no_grad()
def output_alpha(
    model1: OneLayerTransformer,
    model2: OneLayerTransformer,
    X: torch.Tensor,
    *,
    output: str = "batch",
    batch_size: int = 256,
) -> float:
    """α̂ = E_X cos(out(X; Ψ1), out(X; Ψ2)) with the output vector chosen by ``output`` (see module doc)."""
    check_choice("estimator.output", output, ["batch", "hidden"])
    check_positive_int("estimator.batch_size", batch_size)
    if output == "hidden":
        h1 = model1.hidden(X).flatten(1).double()
        h2 = model2.hidden(X).flatten(1).double()
        return float(torch.nn.functional.cosine_similarity(h1, h2, dim=1, eps=1e-30).mean())
    f1, f2 = model1(X).double(), model2(X).double()
    n = (f1.shape[0] // batch_size) * batch_size
    if n == 0:
        raise ValueError(
            f"output_alpha needs at least estimator.batch_size={batch_size} inputs, got {f1.shape[0]}"
        )
    f1, f2 = f1[:n].view(-1, batch_size), f2[:n].view(-1, batch_size)
    return float(torch.nn.functional.cosine_similarity(f1, f2, dim=1, eps=1e-30).mean())
