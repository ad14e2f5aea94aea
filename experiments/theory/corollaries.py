"""What Corollaries 1–2 expect of compressed task vectors (pure Python/numpy, no torch).

Corollary 1 (theory.md §5.6): rank-1 ΔW and ΔV keep the guarantees of Theorems 1–3. Corollary 2
(§5.7): the rows u_i of ΔV fall into a constant fraction with ‖u_i‖ ≥ Ω(m^{-1/2}) and the rest with
‖u_i‖ ≤ O(m^{-1/2} √(log B / B)); zeroing the small rows keeps Theorems 1–3.

"Keeps the guarantees" is read on the edits below (run by ``experiments.one_layer.edits``), each
with a ``success`` flag, coefficients chosen again for the compressed vectors: every edit that
succeeds with the full task vectors still succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# The guarantees of Theorems 1–3 that the corollaries keep: one edit each (theory.md §5.6–5.7).
EDITS = ("add_irrelevant", "add_aligned", "negate_irrelevant", "negate_contradictory", "ood")
EDIT_LABELS = {
    "add_irrelevant": "addition, irrelevant",
    "add_aligned": "addition, aligned",
    "negate_irrelevant": "negation, irrelevant",
    "negate_contradictory": "negation, contradictory",
    "ood": "out-of-domain T'",
}


RANK1_RESIDUAL_MAX = 0.1
"""A task vector is "close to rank 1" (Corollary 1, read with a declared constant) when its relative
rank-1 residual ‖Δ − Δ_1‖_F / ‖Δ‖_F is at most this; one constant for every experiment."""
LARGE_ROW = 0.3
"""Corollary 2's Ω(m^{-1/2}) group, read with a declared constant: rows with ‖u_i‖ ≥ 0.3 × the largest."""
MIN_LARGE_FRACTION = 0.1
"""|L| = Θ(m), read with a declared constant: at least this fraction of the rows is large."""


def row_split(row_norms, batch: int) -> dict[str, float]:
    """Corollary 2's two groups among ΔV's row norms of one run, relative to its largest row: large
    (≥ ``LARGE_ROW``, and not small), small (≤ √(log B / B)), and the rows in neither (the gap)."""
    top = max(row_norms)
    n = len(row_norms)
    cut = row_norm_ratio(batch) * top
    small = sum(r <= cut for r in row_norms) / n
    large = sum(r >= LARGE_ROW * top and r > cut for r in row_norms) / n
    return {"large": large, "small": small, "gap": 1.0 - large - small}


def row_norm_ratio(batch: int) -> float:
    """Corollary 2's ratio of small to large row norms of ΔV: √(log B / B) for batch size B."""
    return math.sqrt(math.log(batch) / batch)


def kept_guarantees(
    full: Mapping[str, dict], edited: Mapping[str, dict], edits: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Edits that succeed with the full vectors, and those of them that still succeed after the edit."""
    ok_full = [e for e in edits if full[e]["success"]]
    return ok_full, [e for e in ok_full if edited[e]["success"]]


def keeps_all(full: Mapping[str, dict], edited: Mapping[str, dict], edits: Sequence[str]) -> bool:
    """Whether every guarantee of the full vectors is kept (the corollaries' prediction)."""
    ok_full, kept = kept_guarantees(full, edited, edits)
    return kept == ok_full


def smallest_keeping_all(
    full: Mapping[str, dict],
    by_level: Mapping[str, Mapping[str, dict]],
    levels: Sequence[float],
    edits: Sequence[str],
):
    """The smallest level (rank, kept fraction) whose edits ``by_level[str(level)]`` keep every
    guarantee; ``None`` if none does."""
    good = [x for x in levels if keeps_all(full, by_level[str(x)], edits)]
    return min(good) if good else None
