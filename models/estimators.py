"""Estimators of the correlation between two tasks (theory.md §6.1 and §8.1), for every network.

* ``exact_alpha``: α = μ_T1·μ_T2 from the patterns (the ground truth of the synthetic setting).
* ``task_vector_cosine``: cos(ΔΨ_T1, ΔΨ_T2) of the flattened task vectors.
* ``output_alpha``: the papers' α̂ = E_X cos(out(X; Ψ*_T1), out(X; Ψ*_T2)), and γ̂ (the same
  estimator between a target task's model and a source task's model). The network supplies its
  output vectors (``network_outputs``); the estimator only reduces them:

  - ``output="batch"`` (one-layer model, ViT): the vector of the n scalar outputs f (f = z_odd −
    z_even on the ViT) over a batch of ``batch_size`` inputs; α̂ is the mean over batches of the
    cosine of the two models' vectors (``batch_cosine``);
  - ``output="hidden"`` (one-layer model): per input, the hidden ReLU activations of every query
    position, flattened (P·m values, the vector the fixed readout multiplies);
  - ``output="features"`` (ViT): per input, the pooled features the head multiplies;
  - ``output="logits"`` (language model): per position, the logit vector; with ``base``, the logit
    *change* relative to ``base``.

  Per input (or position) outputs are reduced by ``mean_cosine``. The inputs X are the samples
  passed in; by default use the union of both tasks' test sets.

Each network keeps its own ε of the cosine and its rule for fewer inputs than one batch (the
one-layer model refuses, the ViT uses them all as one batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from models.task_vectors import TaskVector
from models.transformer import OneLayerTransformer
from models.vit import ViT, features, outputs
from synthetic.checks import check_choice, check_positive_int


def exact_alpha(mu1: torch.Tensor, mu2: torch.Tensor) -> float:
    return float(mu1.double() @ mu2.double())


def task_vector_cosine(tv1: TaskVector, tv2: TaskVector) -> float:
    return tv1.cosine(tv2)


def mean_cosine(a: torch.Tensor, b: torch.Tensor, *, eps: float = 1e-8) -> float:
    """Mean over every leading index of cos(a[..., :], b[..., :]) (cosine over the last axis)."""
    return float(torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=eps).mean())


def batch_cosine(
    f1: torch.Tensor, f2: torch.Tensor, batch: int, *, eps: float = 1e-8, short: str = "raise"
) -> float:
    """Mean over consecutive batches of ``batch`` scalar outputs of the cosine of the two output
    vectors; a remainder shorter than a batch is dropped. Fewer inputs than one batch:
    ``short="raise"`` refuses, ``short="whole"`` takes them all as one batch."""
    n = (f1.shape[0] // batch) * batch
    if n == 0 and short == "raise":
        raise ValueError(
            f"output_alpha needs at least estimator.batch_size={batch} inputs, got {f1.shape[0]}"
        )
    if n == 0:
        n = batch = f1.shape[0]
    return mean_cosine(f1[:n].reshape(-1, batch), f2[:n].reshape(-1, batch), eps=eps)


@dataclass(frozen=True)
class _Network:
    outputs: dict[str, Callable]  # output kind -> (model, X) -> outputs
    eps: float
    short: str


def _vit_features(m: ViT, x: torch.Tensor) -> torch.Tensor:
    return features(m.cfg, {k: v.unsqueeze(0) for k, v in m.body.items()}, x)[0]


def _logits(m, x: torch.Tensor) -> torch.Tensor:
    return m(input_ids=x.to(next(m.parameters()).device)).logits


ONE_LAYER = _Network(
    {"batch": lambda m, X: m(X), "hidden": lambda m, X: m.hidden(X).flatten(1)}, 1e-30, "raise"
)
VIT = _Network({"batch": outputs, "features": _vit_features}, 1e-8, "whole")
LM = _Network({"logits": _logits}, 1e-8, "raise")


def network_of(model) -> _Network:
    if isinstance(model, OneLayerTransformer):
        return ONE_LAYER
    if isinstance(model, ViT):
        return VIT
    return LM  # a transformers causal LM (anything called as model(input_ids=x).logits)


def network_outputs(model, X: torch.Tensor, output: str) -> torch.Tensor:
    """The output vectors of ``model`` on X that α̂ compares, in float64."""
    return network_of(model).outputs[output](model, X).double()


@torch.no_grad()
def output_alpha(
    model1,
    model2,
    X: torch.Tensor,
    *,
    output: str = "batch",
    batch_size: int = 256,
    base=None,
) -> float:
    """α̂ = E_X cos(out(X; Ψ1), out(X; Ψ2)) with the output vector chosen by ``output`` (see module doc)."""
    net = network_of(model1)
    check_choice("estimator.output", output, list(net.outputs))
    check_positive_int("estimator.batch_size", batch_size)
    f1, f2 = network_outputs(model1, X, output), network_outputs(model2, X, output)
    if base is not None:
        f0 = network_outputs(base, X, output)
        f1, f2 = f1 - f0, f2 - f0
    if output == "batch":
        return batch_cosine(f1, f2, batch_size, eps=net.eps, short=net.short)
    return mean_cosine(f1, f2, eps=net.eps)
