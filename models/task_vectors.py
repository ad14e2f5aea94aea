"""Task vectors ΔΨ_T = Ψ*_T − Ψ0 and their algebra (theory.md §2).

A ``TaskVector`` is an immutable mapping from parameter name to floating-point tensor, over any
network: built by ``TaskVector.from_models(pre, ft)`` from two models with a ``params`` mapping (the
one-layer model, the ViT body), two torch modules (a ``torch.nn.Linear``, a transformers GPT, a merged
LoRA model: ``lora_task_vector``) or two state dicts: the floating-point entries of the state dict,
each storage once (a tied copy such as GPT-2's ``lm_head.weight`` is left out). Integer and bool
buffers (counters, position ids) are never part of a vector and never cast to float. It supports
``+``, ``-``, unary ``-``, scalar ``*`` on both sides, ``/`` by a scalar, ``sum([...])`` (``0 + tv``),
``dot``, ``norm`` and ``cosine``. Every operation returns new tensors; nothing is modified in place.

``apply(psi0, [(λ_1, τ_1), ...])`` and ``tv.apply_to(psi0, λ)`` build Ψ0 + Σ λ_i τ_i as a **new**
model (or state dict) and never touch Ψ0 or the vectors. Coefficients are never normalised:
negative λ is task negation. Names or shapes that do not match raise a one-line ``ValueError``.

The transforms (low rank, pruning) live in ``models.transforms``. Order of operations when
combining: transform each vector first, then scale by its λ, then add: Ψ = Ψ0 + Σ λ_i T(τ_i). The
transforms are applied to the unscaled vector, so λ never changes which rows or entries survive.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterator, Mapping
from numbers import Real

import torch

import models.transforms as transforms
from models.state import apply, check_same, parameters
from models.store import atomic_torch_save
from models.transformer import ModelConfig, OneLayerTransformer

FORMAT_TV = "task-arithmetic-theory/task-vector/1"
FORMAT_MODEL = "task-arithmetic-theory/model/1"


class TaskVector(Mapping[str, torch.Tensor]):
    """An immutable {parameter name: tensor} with vector-space operations."""

    __slots__ = ("_t",)

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self._t = {k: v.detach() for k, v in tensors.items()}
        for k, v in self._t.items():
            if not torch.is_floating_point(v):
                raise TypeError(
                    f"a task vector holds floating-point tensors only: {k!r} is {v.dtype} "
                    "(TaskVector.from_models leaves integer buffers out)"
                )

    # ----- construction
    @classmethod
    def from_models(cls, pretrained: object, finetuned: object) -> TaskVector:
        """ΔΨ = Ψ*_T − Ψ0 over the parameters of two networks (see ``parameters``): the one-layer
        model's trainable weights (its readout is a fixed buffer, not part of it), the ViT body, or
        the floating-point state of a torch module or state dict (integer buffers left out)."""
        pre, ft = parameters(pretrained), parameters(finetuned)
        check_same(pre, ft, "pretrained model", "fine-tuned model")
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
        check_same(self, other, "left task vector", "right task vector")
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
        check_same(self, other, "left task vector", "right task vector")
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
    def apply_to(self, pretrained, coef: float = 1.0):
        """Ψ0 + coef·τ as a new model (or state dict): see ``apply``."""
        return apply(pretrained, [(coef, self)])

    # ----- transforms (methods for chaining; ``models.transforms`` does the work)
    def low_rank(self, rank: int, *, clip: bool = False) -> TaskVector:
        return transforms.low_rank(self, rank, clip=clip)

    def prune_rows(self, keep: float, param: str | None = None) -> TaskVector:
        return transforms.prune_rows(self, keep, param=param)

    def prune_magnitude(self, keep: float, scope: str = "tensor") -> TaskVector:
        return transforms.prune_magnitude(self, keep, scope=scope)

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


def lora_task_vector(peft_model, base_model) -> TaskVector:
    """ΔΨ of a LoRA model (``peft``, any architecture) over its base: the low-rank updates merged
    into a copy (``merge_and_unload``), minus the base weights; every parameter is a key."""
    merged = copy.deepcopy(peft_model).merge_and_unload()
    return TaskVector.from_models(base_model, merged)


# ----------------------------------------------------------------------------- persistence
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
