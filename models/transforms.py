"""Pure transforms of task vectors: low rank and pruning, in one place (theory.md §2, Corollary 2).

* ``low_rank(tv, r)``: per-matrix truncated SVD (rank-r best approximation, Eckart–Young); with
  ``clip=True`` a matrix of at most r rows or columns is kept as it is (the ViT's body, whose
  matrices differ in size), otherwise r is checked against every matrix;
* ``prune_rows(tv, keep)``: keep the ``keep`` fraction of rows of the hidden-neuron matrix (ΔV, or
  ΔW_O in the "qkvo" form; on another network the matrix named by ``param=``) with the largest
  norms, zero the rest (Corollary 2); other matrices kept;
* ``prune_magnitude(tv, keep)``: keep the ``keep`` fraction of entries of largest magnitude, per
  tensor (or over the whole vector with ``scope="global"``), zero the rest.

Each takes any {name: tensor} and returns new tensors of the same kind of mapping (a ``TaskVector``
for a ``TaskVector``, a dict for a dict); the input is never modified. Nothing here depends on the
algebra, so ``TaskVector``'s chaining methods call these functions directly.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from models.transformer import HIDDEN_ROWS
from synthetic.checks import check_choice, check_float, check_int


def _like(tv: Mapping[str, torch.Tensor], out: dict[str, torch.Tensor]):
    """``out`` as the same kind of mapping as ``tv`` (a plain dict stays a dict)."""
    return out if isinstance(tv, dict) else type(tv)(out)


def low_rank(
    tv: Mapping[str, torch.Tensor], rank: int, *, clip: bool = False
) -> Mapping[str, torch.Tensor]:
    """Best rank-r approximation of every matrix (truncated SVD); 1-D tensors are kept as they are.

    Valid ranks: 1 <= r <= min over matrices of min(rows, cols) (that value reproduces the input);
    ``clip=True`` accepts any r and truncates only the matrices with more than r rows and columns.
    """
    if not clip:
        mats = [v for v in tv.values() if v.ndim == 2]
        max_rank = min(min(v.shape) for v in mats) if mats else 1
        check_int("rank", rank, minimum=1, maximum=max_rank)
    out = {}
    for k, v in tv.items():
        if v.ndim != 2 or (clip and rank >= min(v.shape)):
            out[k] = v.clone()
            continue
        u, s, vh = torch.linalg.svd(_svd_ready(v), full_matrices=False)
        out[k] = ((u[:, :rank] * s[:rank]) @ vh[:rank]).to(v.dtype)
    return _like(tv, out)


def _svd_ready(v: torch.Tensor) -> torch.Tensor:
    """``v`` itself in float32/float64; a half-precision matrix (float16, bfloat16: no SVD kernel on
    every device) in float32, the result is rounded back to its dtype."""
    return v if v.dtype in (torch.float32, torch.float64) else v.float()


def low_rank_residual(tv: Mapping[str, torch.Tensor], rank: int) -> dict[str, float]:
    """‖τ − τ_r‖_F per matrix, computed from the dropped singular values (Eckart–Young)."""
    return {
        k: float(torch.linalg.svdvals(_svd_ready(v))[rank:].double().pow(2).sum().sqrt())
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
        f"no hidden-neuron matrix ({sorted(HIDDEN_ROWS.values())}) in the task vector: "
        f"name the matrix whose rows to prune with param= (keys: {sorted(tv)})"
    )


def prune_rows(
    tv: Mapping[str, torch.Tensor],
    keep: float,
    *,
    param: str | None = None,
    groups: torch.Tensor | None = None,
) -> Mapping[str, torch.Tensor]:
    """Keep the round(keep·m) rows of ΔV (hidden neurons) with the largest ℓ2 norms; zero the others.

    ``keep`` ∈ (0, 1]. With ``groups`` (one label per row, e.g. the sign of each neuron's readout)
    the rows are kept per group: round(keep·n_g) of the n_g rows of each group (at least 1), so the
    kept neurons keep the groups' proportions. Ties are broken by ``torch.topk`` so exactly that many
    rows survive. Other parameters are kept unchanged (Corollary 2 prunes neurons of the value/MLP
    matrix only).
    """
    param = param or hidden_rows_param(tv)
    if param not in tv:
        raise KeyError(f"prune_rows: parameter {param!r} is not in the task vector ({sorted(tv)})")
    rows = tv[param]
    norms = rows.norm(dim=1)
    mask = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
    if groups is None:
        mask[torch.topk(norms, _keep_count(keep, rows.shape[0], "prune.keep")).indices] = True
    else:
        groups = groups.to(rows.device).reshape(-1)
        if groups.numel() != rows.shape[0]:
            raise ValueError(
                f"prune_rows: groups has {groups.numel()} labels for {rows.shape[0]} rows of {param!r}"
            )
        for g in torch.unique(groups):
            idx = torch.nonzero(groups == g).reshape(-1)
            top = torch.topk(norms[idx], _keep_count(keep, idx.numel(), "prune.keep")).indices
            mask[idx[top]] = True
    out = {name: v.clone() for name, v in tv.items()}
    out[param] = rows * mask.unsqueeze(1).to(rows.dtype)
    return _like(tv, out)


def _keep_largest(flat: torch.Tensor, keep: float) -> torch.Tensor:
    """``flat`` with all but its round(keep·n) entries of largest |value| set to zero."""
    k = _keep_count(keep, flat.numel(), "prune.keep")
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[torch.topk(flat.abs(), k).indices] = True
    return flat * mask.to(flat.dtype)


def prune_magnitude(
    tv: Mapping[str, torch.Tensor], keep: float, *, scope: str = "tensor"
) -> Mapping[str, torch.Tensor]:
    """Keep the round(keep·n) entries of largest |value| (n per tensor, or over all with scope='global')."""
    check_choice("prune.scope", scope, ["tensor", "global"])
    if scope == "tensor":
        return _like(
            tv,
            {name: _keep_largest(v.reshape(-1), keep).reshape(v.shape) for name, v in tv.items()},
        )
    names = list(tv)
    kept = _keep_largest(torch.cat([tv[n].reshape(-1) for n in names]), keep)
    out, start = {}, 0
    for n in names:
        size = tv[n].numel()
        out[n] = kept[start : start + size].reshape(tv[n].shape)
        start += size
    return _like(tv, out)
