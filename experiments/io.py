"""Atomic writes of job outputs (metrics, text, figures): temporary file, then rename."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from synthetic.files import atomic_write


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (json.dump would otherwise write invalid JSON)."""
    if type(obj).__module__ == "numpy" and hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # numpy scalars (bool_, float64, int64) as Python values
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(
        path, json.dumps(_clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"
    )


# Values that differ between two runs of the same config and seed (timings, cache state, paths of the
# run): ``write_metrics`` keeps them out of ``metrics.json`` (bit-identical across runs on the CPU) and
# writes them to ``run.json``; ``load_metrics`` merges them back.
VOLATILE_KEYS = frozenset(
    {
        "wall_seconds",
        "seconds",
        "seconds_per_trained_model",
        "train_seconds",
        "one_line",
        "models_trained",
        "models_from_cache",
        "models_requested",
        "reused",
        "provenance",  # commit, versions, date, machine (experiments.provenance)
    }
)
RUN_CONFIG_KEYS = ("progress", "logging", "recompute", "hydra", "cache_dir", "batched")


def split_volatile(obj: Any, top: bool = True) -> tuple[Any, Any]:
    """(stable part, volatile part) of a metrics tree; the volatile part keeps the same nesting."""
    if isinstance(obj, dict):
        stable, vol = {}, {}
        for k, v in obj.items():
            if k in VOLATILE_KEYS:
                vol[k] = v
            elif top and k == "config" and isinstance(v, dict):
                stable[k] = {a: b for a, b in v.items() if a not in RUN_CONFIG_KEYS}
                run_part = {a: b for a, b in v.items() if a in RUN_CONFIG_KEYS}
                if run_part:
                    vol[k] = run_part
            else:
                s_, v_ = split_volatile(v, False)
                stable[k] = s_
                if v_ is not None and v_ != {}:
                    vol[k] = v_
        return stable, vol
    if isinstance(obj, list):
        parts = [split_volatile(v, False) for v in obj]
        vols = [p[1] for p in parts]
        none = all(v is None or v == {} for v in vols)  # nested lists of numbers: no volatile part
        return [p[0] for p in parts], None if none else vols
    return obj, None


def merge_volatile(stable: Any, vol: Any) -> Any:
    if isinstance(stable, dict) and isinstance(vol, dict):
        out = dict(stable)
        for k, v in vol.items():
            out[k] = merge_volatile(stable[k], v) if k in stable else v
        return out
    if isinstance(stable, list) and isinstance(vol, list) and len(stable) == len(vol):
        return [merge_volatile(a, b) for a, b in zip(stable, vol, strict=True)]
    return stable if vol is None else vol


def write_metrics(out_dir: str | os.PathLike, metrics: dict) -> Path:
    """``metrics.json`` (deterministic numbers) and ``run.json`` (timings, cache counts, run-only config).

    ``run.json`` is written first: ``metrics.json`` appearing marks the job as finished.
    """
    stable, vol = split_volatile(metrics)
    atomic_write_json(Path(out_dir) / "run.json", vol or {})
    return atomic_write_json(Path(out_dir) / "metrics.json", stable)


def load_metrics(path: str | os.PathLike) -> dict:
    """A job's metrics with its ``run.json`` merged back (when present and readable)."""
    path = Path(path)
    metrics = json.loads(path.read_text())
    try:
        vol = json.loads((path.parent / "run.json").read_text())
    except (OSError, ValueError):
        return metrics
    return merge_volatile(metrics, vol)


def save_figure(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically; returns their paths."""
    return [
        atomic_write(
            Path(out_dir) / f"{stem}.{ext}",
            lambda fh, ext=ext: fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight"),
        )
        for ext in ("png", "pdf")
    ]
