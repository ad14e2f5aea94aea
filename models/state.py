"""A network's floating-point state as a {name: tensor}, and Ψ0 + Σ λ_i τ_i written back into it.

``parameters(model)`` is what a task vector runs over: a ``params`` mapping (the one-layer model, the
ViT body), or the floating-point entries of a torch module's ``state_dict()`` or of a state dict,
each storage once (tied weights count once). ``apply(psi0, terms)`` returns a new model (or state
dict) and never modifies Ψ0. ``TaskVector`` (``models.task_vectors``) builds on both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import torch


def _names(keys: list[str], shown: int = 5) -> str:
    """At most ``shown`` names, then how many more: an error message stays one short line."""
    more = f" … {len(keys) - shown} more" if len(keys) > shown else ""
    return f"{keys[:shown]}{more}"


def check_same(a: Mapping, b: Mapping, what_a: str, what_b: str, *, subset: bool = False) -> None:
    """The names of ``b`` are those of ``a`` (or among them, with ``subset``), with the same shapes."""
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_b or (only_a and not subset):
        raise ValueError(
            f"parameter names differ: only in {what_a}: {_names(only_a)}; "
            f"only in {what_b}: {_names(only_b)}"
        )
    for k, v in b.items():
        if a[k].shape != v.shape:
            raise ValueError(
                f"shape of {k!r} differs: {tuple(a[k].shape)} in {what_a}, "
                f"{tuple(v.shape)} in {what_b}"
            )


def _storage(t: torch.Tensor) -> tuple | None:
    """What makes two tensors one (tied weights share it); None for an empty or meta tensor."""
    if t.numel() == 0 or t.device.type == "meta":
        return None
    return (t.device, t.untyped_storage().data_ptr(), t.storage_offset(), t.shape, t.stride())


def _float_entries(state: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The floating-point tensors of a state dict, detached, each storage once (first name kept)."""
    out, seen = {}, set()
    for k, v in state.items():
        if not (isinstance(v, torch.Tensor) and torch.is_floating_point(v)):
            continue
        key = _storage(v)
        if key is None or key not in seen:
            out[k] = v.detach()
            seen.add(key)
    return out


def parameters(model: object) -> dict[str, torch.Tensor]:
    """The {name: tensor} a task vector of ``model`` runs over (detached, never copied).

    A model with a ``params`` mapping (the one-layer model, the ViT): that mapping; a torch module:
    the floating-point entries of its ``state_dict()`` (parameters and float buffers such as
    BatchNorm's running statistics; integer buffers and non-persistent buffers are left out); a
    mapping (a state dict): its floating-point entries. A storage shared by several names (tied
    weights: GPT-2's ``lm_head.weight`` is ``transformer.wte.weight``) counts once, under its first
    name, as in ``named_parameters()``.
    """
    params = getattr(model, "params", None)
    if isinstance(params, Mapping):
        return {k: v.detach() for k, v in params.items()}
    if isinstance(model, torch.nn.Module):
        return _float_entries(model.state_dict())
    if isinstance(model, Mapping):
        return _float_entries(model)
    raise TypeError(f"no parameters to take a task vector of in a {type(model).__name__}")


def apply(pretrained, terms: Iterable[tuple[float, Mapping[str, torch.Tensor]]]):
    """Ψ0 + Σ λ_i τ_i as a new model; Ψ0 and the τ_i are left untouched.

    Ψ0 may be a model with ``params``/``with_params`` (the one-layer model, the ViT: every vector
    must cover exactly its parameters), any torch module (a deep copy into which the shifted
    floating-point entries named in the vectors are loaded with ``load_state_dict``; every other
    entry, integer buffers among them, is kept bit for bit; a tied weight is shifted once), or a
    state dict (a new dict, likewise).
    """
    if hasattr(pretrained, "with_params"):
        base = parameters(pretrained)
        return pretrained.with_params(_merge(base, terms, whole=True))
    if isinstance(pretrained, torch.nn.Module):
        model = copy.deepcopy(pretrained)
        state = model.state_dict()
        merged = _merge(state, terms)
        _check_tied(state, merged)
        model.load_state_dict(merged, strict=False)
        return model
    if isinstance(pretrained, Mapping):
        merged = _merge(pretrained, terms)
        _check_tied(pretrained, merged)
        return _with_merged(pretrained, merged)
    raise TypeError(f"cannot apply a task vector to a {type(pretrained).__name__}")


def _merge(base: Mapping[str, torch.Tensor], terms, *, whole: bool = False) -> dict:
    """{k: base[k] + Σ λ τ[k]} as new tensors, term by term, for every k of a term (of ``base`` with
    ``whole``, where every term must name exactly the entries of ``base``)."""
    merged = {}
    for lam, tv in terms:
        check_same(base, tv, "model", "task vector", subset=not whole)
        for k, v in tv.items():
            if not torch.is_floating_point(base[k]):
                raise TypeError(f"{k!r} is a {base[k].dtype} tensor: not part of a task vector")
            cur = merged.get(k, base[k].detach())
            merged[k] = cur + float(lam) * v.to(cur)
    if whole:
        return {k: merged[k] if k in merged else v.detach().clone() for k, v in base.items()}
    return merged


def _check_tied(state: Mapping[str, torch.Tensor], merged: Mapping[str, torch.Tensor]) -> None:
    """Names of one storage (tied weights) in ``merged`` must carry one value: it is loaded once."""
    first: dict[tuple, str] = {}
    for k, v in merged.items():
        key = _storage(state[k])
        if key is not None and key in first and not torch.equal(merged[first[key]], v):
            raise ValueError(
                f"{k!r} is tied to {first[key]!r} but the task vectors shift them apart"
            )
        first.setdefault(key, k)


def _with_merged(state: Mapping[str, object], merged: dict[str, torch.Tensor]) -> dict:
    """A new state dict: ``merged`` over copies of ``state``; a name tied to a merged entry (the same
    storage in ``state``) gets that entry's tensor, so loading it does not undo the edit."""
    owner = {_storage(state[k]): k for k in merged}
    owner.pop(None, None)
    out = {}
    for k, v in state.items():
        if k in merged:
            out[k] = merged[k]
        elif isinstance(v, torch.Tensor):
            src = owner.get(_storage(v))
            out[k] = merged[src] if src is not None else v.detach().clone()
        else:
            out[k] = copy.deepcopy(v)
    return out
