"""Task vectors ΔΨ_T = Ψ*_T − Ψ0 and their algebra (theory.md §2, conventions.md §1).

A ``TaskVector`` is an immutable mapping from parameter name (as in ``named_parameters()``) to
tensor. It supports ``+``, ``-``, unary ``-``, scalar ``*`` on both sides, ``/`` by a scalar,
``sum([...])`` (``0 + tv``), ``dot``, ``norm`` and ``cosine``. Every operation returns new tensors;
nothing is modified in place.

``apply(psi0, [(λ_1, τ_1), ...])`` and ``tv.apply_to(psi0, λ)`` build Ψ0 + Σ λ_i τ_i as a **new** model
and never touch Ψ0 or the vectors. Coefficients are never normalised: negative λ is task negation.

Transforms are pure functions returning new vectors:

* ``low_rank(tv, r)``: per-matrix truncated SVD (rank-r best approximation, Eckart–Young);
* ``prune_rows(tv, keep)``: keep the ``keep`` fraction of rows of the hidden-neuron matrix (ΔV, or
  ΔW_O in the "qkvo" form) with the largest norms, zero the rest (Corollary 2); other matrices kept;
* ``prune_magnitude(tv, keep)``: keep the ``keep`` fraction of entries of largest magnitude, per
  tensor (or over the whole vector with ``scope="global"``), zero the rest.

Order of operations when combining: transform each vector first (low rank / prune), then scale by its
λ, then add: Ψ = Ψ0 + Σ λ_i T(τ_i). The transforms are applied to the unscaled vector, so λ never
changes which rows or entries survive.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from numbers import Real

import torch

from models.transformer import HIDDEN_ROWS, ModelConfig, OneLayerTransformer
from synthetic.checks import check_choice, check_float, check_int
from synthetic.runtime import atomic_write

FORMAT_TV = "task-arithmetic-theory/task-vector/1"
FORMAT_MODEL = "task-arithmetic-theory/model/1"


class TaskVector(Mapping[str, torch.Tensor]):
    """An immutable {parameter name: tensor} with vector-space operations."""

    __slots__ = ("_t",)

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self._t = {k: v.detach() for k, v in tensors.items()}

    # ----- construction
    @classmethod
    def from_models(
        cls, pretrained: OneLayerTransformer, finetuned: OneLayerTransformer
    ) -> TaskVector:
        """ΔΨ = Ψ*_T − Ψ0, over the trainable parameters (the readout is fixed, not part of it)."""
        pre, ft = pretrained.params, finetuned.params
        _check_keys(pre, ft, "pretrained model", "fine-tuned model")
        return cls({k: ft[k].detach() - pre[k].detach() for k in pre})

    # ----- mapping protocol
    def __getitem__(self, key: str) -> torch.Tensor:
        return self._t[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._t)

    def __len__(self) -> int:
        return len(self._t)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._t.items())
        return f"TaskVector({shapes}; norm={self.norm():.4g})"

    # ----- algebra
    def _zip(self, other: Mapping[str, torch.Tensor], op) -> TaskVector:
        _check_keys(self, other, "left task vector", "right task vector")
        return TaskVector({k: op(v, other[k]) for k, v in self._t.items()})

    def __add__(self, other: object) -> TaskVector:
        if isinstance(other, Real) and other == 0:
            return self
        if not isinstance(other, Mapping):
            return NotImplemented
        return self._zip(other, torch.add)

    def __radd__(self, other: object) -> TaskVector:  # sum([...]) starts from 0
        return self.__add__(other)

    def __sub__(self, other: object) -> TaskVector:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self._zip(other, torch.sub)

    def __neg__(self) -> TaskVector:
        return TaskVector({k: -v for k, v in self._t.items()})

    def __mul__(self, scalar: object) -> TaskVector:
        if not isinstance(scalar, Real):
            return NotImplemented
        return TaskVector({k: v * float(scalar) for k, v in self._t.items()})

    __rmul__ = __mul__

    def __truediv__(self, scalar: object) -> TaskVector:
        if not isinstance(scalar, Real):
            return NotImplemented
        return self * (1.0 / float(scalar))

    def dot(self, other: Mapping[str, torch.Tensor]) -> float:
        _check_keys(self, other, "left task vector", "right task vector")
        return float(sum((v.double() * other[k].double()).sum() for k, v in self._t.items()))

    def norm(self) -> float:
        return math.sqrt(max(self.dot(self), 0.0))

    def cosine(self, other: TaskVector) -> float:
        denom = self.norm() * other.norm()
        if denom == 0.0:
            raise ZeroDivisionError("cosine of a zero task vector is undefined")
        return self.dot(other) / denom

    def allclose(self, other: Mapping[str, torch.Tensor], **kw) -> bool:
        return set(self) == set(other) and all(
            torch.allclose(v, other[k], **kw) for k, v in self._t.items()
        )

    # ----- use
    def apply_to(self, pretrained: OneLayerTransformer, coef: float = 1.0) -> OneLayerTransformer:
        """Ψ0 + coef·τ as a new model."""
        return apply(pretrained, [(coef, self)])

    # ----- transforms (methods for chaining; the functions below do the work)
    def low_rank(self, rank: int) -> TaskVector:
        return low_rank(self, rank)

    def prune_rows(self, keep: float, param: str | None = None) -> TaskVector:
        return prune_rows(self, keep, param=param)

    def prune_magnitude(self, keep: float, scope: str = "tensor") -> TaskVector:
        return prune_magnitude(self, keep, scope=scope)

    # ----- persistence
    def save(self, path: str | os.PathLike) -> None:
        atomic_torch_save(
            {"format": FORMAT_TV, "tensors": {k: v.cpu() for k, v in self._t.items()}}, path
        )

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> TaskVector:
        obj = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(obj, dict) or obj.get("format") != FORMAT_TV:
            raise ValueError(f"{path} is not a task-vector file (format {FORMAT_TV})")
        return cls(obj["tensors"])


def _check_keys(a: Mapping, b: Mapping, what_a: str, what_b: str) -> None:
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise KeyError(
            f"parameter names differ: only in {what_a}: {only_a}; only in {what_b}: {only_b}"
        )


def apply(
    pretrained: OneLayerTransformer,
    terms: Iterable[tuple[float, Mapping[str, torch.Tensor]]],
) -> OneLayerTransformer:
    """Ψ0 + Σ λ_i τ_i as a new model; Ψ0 and the τ_i are left untouched."""
    base = pretrained.params
    merged = {k: v.detach().clone() for k, v in base.items()}
    for lam, tv in terms:
        _check_keys(base, tv, "model", "task vector")
        for k in merged:
            merged[k] = merged[k] + float(lam) * tv[k].to(merged[k])
    return pretrained.with_params(merged)


# ----------------------------------------------------------------------------- transforms
def low_rank(tv: Mapping[str, torch.Tensor], rank: int) -> TaskVector:
    """Best rank-r approximation of every matrix (truncated SVD); 1-D tensors are kept as they are.

    Valid ranks: 1 <= r <= min over matrices of min(rows, cols) (that value reproduces the input).
    """
    mats = [v for v in tv.values() if v.ndim == 2]
    max_rank = min(min(v.shape) for v in mats) if mats else 1
    check_int("rank", rank, minimum=1, maximum=max_rank)
    out = {}
    for k, v in tv.items():
        if v.ndim != 2:
            out[k] = v.clone()
            continue
        u, s, vh = torch.linalg.svd(v, full_matrices=False)
        out[k] = (u[:, :rank] * s[:rank]) @ vh[:rank]
    return TaskVector(out)


def low_rank_residual(tv: Mapping[str, torch.Tensor], rank: int) -> dict[str, float]:
    """‖τ − τ_r‖_F per matrix, computed from the dropped singular values (Eckart–Young)."""
    return {
        k: float(torch.linalg.svdvals(v)[rank:].double().pow(2).sum().sqrt())
        for k, v in tv.items()
        if v.ndim == 2
    }


def _keep_count(keep: float, total: int, key: str) -> int:
    check_float(key, keep, low=0.0, high=1.0, low_open=True)
    return max(1, round(keep * total))


def hidden_rows_param(tv: Mapping[str, torch.Tensor]) -> str:
    for name in HIDDEN_ROWS.values():
        if name in tv:
            return name
    raise KeyError(
        f"no hidden-neuron matrix ({sorted(HIDDEN_ROWS.values())}) in task vector keys {sorted(tv)}"
    )


def prune_rows(
    tv: Mapping[str, torch.Tensor], keep: float, *, param: str | None = None
) -> TaskVector:
    """Keep the round(keep·m) rows of ΔV (hidden neurons) with the largest ℓ2 norms; zero the others.

    ``keep`` ∈ (0, 1]. Ties are broken by ``torch.topk`` so exactly that many rows survive. Other
    parameters are kept unchanged (Corollary 2 prunes neurons of the value/MLP matrix only).
    """
    param = param or hidden_rows_param(tv)
    if param not in tv:
        raise KeyError(f"prune_rows: parameter {param!r} is not in the task vector ({sorted(tv)})")
    rows = tv[param]
    k = _keep_count(keep, rows.shape[0], "prune.keep")
    idx = torch.topk(rows.norm(dim=1), k).indices
    mask = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
    mask[idx] = True
    out = {name: v.clone() for name, v in tv.items()}
    out[param] = rows * mask.unsqueeze(1).to(rows.dtype)
    return TaskVector(out)


def prune_magnitude(
    tv: Mapping[str, torch.Tensor], keep: float, *, scope: str = "tensor"
) -> TaskVector:
    """Keep the round(keep·n) entries of largest |value| (n per tensor, or over all with scope='global')."""
    check_choice("prune.scope", scope, ["tensor", "global"])
    if scope == "tensor":
        out = {}
        for name, v in tv.items():
            k = _keep_count(keep, v.numel(), "prune.keep")
            flat = v.reshape(-1)
            mask = torch.zeros_like(flat, dtype=torch.bool)
            mask[torch.topk(flat.abs(), k).indices] = True
            out[name] = (flat * mask.to(flat.dtype)).reshape(v.shape)
        return TaskVector(out)
    names = list(tv)
    flat = torch.cat([tv[n].reshape(-1) for n in names])
    k = _keep_count(keep, flat.numel(), "prune.keep")
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[torch.topk(flat.abs(), k).indices] = True
    kept = flat * mask.to(flat.dtype)
    out, start = {}, 0
    for n in names:
        size = tv[n].numel()
        out[n] = kept[start : start + size].reshape(tv[n].shape)
        start += size
    return TaskVector(out)


# ----------------------------------------------------------------------------- persistence
def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save through ``atomic_write``: no half-written checkpoint is ever left behind."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def save_model(model: OneLayerTransformer, path: str | os.PathLike) -> None:
    """One file: the state dict (weights and readout) plus the model config as JSON."""
    atomic_torch_save(
        {
            "format": FORMAT_MODEL,
            "config": model.cfg.to_json(),
            "dtype": str(model.dtype).removeprefix("torch."),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        },
        path,
    )


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> OneLayerTransformer:
    """Rebuild a model saved by ``save_model``; loads with ``weights_only=True`` (no code runs)."""
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_MODEL:
        raise ValueError(f"{path} is not a model file (format {FORMAT_MODEL})")
    cfg = ModelConfig(**json.loads(obj["config"]))
    state = obj["state_dict"]
    params = {k: state[k] for k in cfg.param_names}
    return OneLayerTransformer(cfg, params, state["readout"], device=device, dtype=obj["dtype"])
