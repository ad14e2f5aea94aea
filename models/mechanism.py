"""What a fine-tuned one-layer model learned, measured against the mechanism the proofs rely on.

The proofs of Theorems 1–3 (theory.md §5.8) go through intermediate conclusions about each fine-tuned
model Ψ*_T: queries attend to the ±μ_T tokens, ΔW grows along μ_T μ_Tᵀ, ΔV is close to rank 1, and
the own-task loss is ≤ ε. ``mechanism`` measures each of them on a test batch, together with the
hinge the model would have with uniform attention (W's logits set to 0): when that is already ≤ ε
the task is solved without attention, and attention never had to learn.

Attention is split by the kind of the *query* token: ±μ_T queries (label-relevant and confusion
tokens) are the ones the proof's attention argument is about; an irrelevant token's query has no
reason to move off uniform when ΔW ∝ μμᵀ, so averaging over all queries mixes the two.
"""

from __future__ import annotations

import torch

from models.training import evaluate
from models.transformer import OneLayerTransformer, effective_wv
from synthetic.sampler import CONFUSION, IRRELEVANT, RELEVANT, TaskBatch


@torch.no_grad()
def attention_by_query(model: OneLayerTransformer, batch: TaskBatch) -> dict[str, float]:
    """Softmax mass on ±μ_T tokens, averaged over the queries of each kind (and of ±μ_T together)."""
    X = batch.X.to(device=model.device, dtype=model.dtype)
    kind = batch.kind.to(model.device)
    attn = model.attention(X)  # (n, P, P): query l's weights on key s
    mass = (attn * (kind != IRRELEVANT).unsqueeze(1).to(attn.dtype)).sum(-1)  # (n, P) per query
    out = {}
    for name, sel in (
        ("mu", kind != IRRELEVANT),
        ("relevant", kind == RELEVANT),
        ("confusion", kind == CONFUSION),
        ("irrelevant", kind == IRRELEVANT),
    ):
        out[name] = float(mass[sel].mean()) if bool(sel.any()) else float("nan")
    return out


def uniform_attention(model: OneLayerTransformer) -> OneLayerTransformer:
    """The same model with every attention logit 0 (W = 0, or W_Q = 0), so every query is uniform."""
    params = {k: v.detach().clone() for k, v in model.params.items()}
    params["W" if "W" in params else "W_Q"].zero_()
    return model.with_params(params)


def _rank1_residual(M: torch.Tensor) -> float:
    """‖M − M_rank1‖_F / ‖M‖_F (0 for a zero matrix)."""
    s = torch.linalg.svdvals(M.double())
    total = float(s.norm())
    return float(s[1:].norm()) / total if total > 0 else 0.0


@torch.no_grad()
def mechanism(
    psi0: OneLayerTransformer, model: OneLayerTransformer, mu: torch.Tensor, batch: TaskBatch
) -> dict[str, float]:
    """The proof's intermediate quantities for Ψ*_T = ``model`` fine-tuned from ``psi0`` on the task of
    pattern ``mu``, measured on ``batch`` (the task's test set):

    ``own_hinge``, ``own_accuracy``, ``min_margin`` (smallest y·f), ``attention_mu_queries`` /
    ``attention_relevant_queries`` / ``attention_confusion_queries`` / ``attention_irrelevant_queries``
    (mass on ±μ_T tokens per query kind), ``cos_dW_mumu`` (cosine of the effective ΔW with μμᵀ),
    ``rank1_residual_dV`` / ``rank1_residual_dW`` and ``uniform_attention_hinge``.
    """
    own = evaluate(model, batch)
    X, y = batch.X.to(device=model.device, dtype=model.dtype), batch.y.to(model.device)
    margin = y.to(model.dtype) * model(X)
    (W1, V1), (W0, V0) = effective_wv(model.params), effective_wv(psi0.params)
    dW, dV = (W1 - W0).double(), (V1 - V0).double()
    mu = mu.to(device=dW.device, dtype=dW.dtype)
    mumu = torch.outer(mu, mu)
    cos = float((dW * mumu).sum() / (dW.norm() * mumu.norm()).clamp_min(1e-300))
    att = attention_by_query(model, batch)
    return {
        "own_hinge": own["hinge"],
        "own_accuracy": own["accuracy"],
        "min_margin": float(margin.min()),
        **{f"attention_{k}_queries": v for k, v in att.items()},
        "cos_dW_mumu": cos,
        "rank1_residual_dV": _rank1_residual(dV),
        "rank1_residual_dW": _rank1_residual(dW),
        "uniform_attention_hinge": evaluate(uniform_attention(model), batch)["hinge"],
    }
