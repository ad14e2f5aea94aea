"""Each experiment's headline numbers as flat ``{stable key: float}`` dicts (wandb summaries, README).

The keys never contain a preset's label, so the runs of a sweep (say over ``data.alpha``) share them
and a dashboard can plot one against the config. A missing value is NaN (the key stays). One
function per experiment, named in ``experiments.registry`` (``Spec.summary``); ``claims_summary``
adds the verdict counts of any job's claims.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

VERDICT_KEYS = ("agrees", "disagrees", "inconclusive", "untested")


def num(value: Any) -> float:
    """A JSON number as float; None, NaN, strings and containers as NaN."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return math.nan


def dig(tree: Any, *path: str | int) -> Any:
    """``tree[p0][p1]...``, or None when any step is missing."""
    for p in path:
        try:
            tree = tree[p]
        except (KeyError, IndexError, TypeError):
            return None
    return tree


def stat(prefix: str, summary: Any) -> dict[str, float]:
    """``{prefix/mean, prefix/std}`` of a ``{"mean", "std", "n"}`` summary (NaN when absent)."""
    return {f"{prefix}/mean": num(dig(summary, "mean")), f"{prefix}/std": num(dig(summary, "std"))}


def flat(prefix: str, values: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, float]:
    """``{prefix/k: values[k]}`` for each k of ``keys`` (NaN when absent)."""
    return {f"{prefix}/{k}": num(dig(values, k)) for k in keys}


def claims_summary(claims: list[dict]) -> dict[str, Any]:
    """Verdict counts (all rows and in-scope rows), then per row its verdict and 0/1 flags.

    Rows are keyed by their position, which is the same for every run of one experiment.
    """
    out: dict[str, Any] = {"claims/total": float(len(claims))}
    inside = [c for c in claims if c.get("scope", "unaudited") == "in"]
    for v in VERDICT_KEYS:
        out[f"claims/{v}"] = float(sum(c["verdict"] == v for c in claims))
        out[f"claims/in_scope/{v}"] = float(sum(c["verdict"] == v for c in inside))
    out["claims/in_scope/total"] = float(len(inside))
    for i, c in enumerate(claims):
        out[f"claim/{i}/verdict"] = c["verdict"]
        out[f"claim/{i}/agrees"] = float(c["verdict"] == "agrees")
        out[f"claim/{i}/in_scope"] = float(c.get("scope", "unaudited") == "in")
    return out


def run_summary(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Bookkeeping: wall time and models trained, where the experiment records them."""
    out = {}
    for key in ("wall_seconds", "models_trained"):
        value = metrics.get(key, dig(metrics, "summary", key))
        if value is not None:
            out[f"run/{key}"] = num(value)
    return out


def summarize(metrics: Mapping[str, Any], ref: str | None) -> dict[str, Any]:
    """A job's whole summary: bookkeeping, its experiment's headline numbers (``ref``, a
    "module:function" of this package), then its claims."""
    from experiments.registry import resolve

    out: dict[str, Any] = run_summary(metrics)
    if ref is not None:
        out |= resolve(ref)(metrics)
    return out | claims_summary(metrics.get("claims", []))
