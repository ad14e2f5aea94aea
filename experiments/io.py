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


def save_figure(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically; returns their paths."""
    return [
        atomic_write(
            Path(out_dir) / f"{stem}.{ext}",
            lambda fh, ext=ext: fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight"),
        )
        for ext in ("png", "pdf")
    ]
