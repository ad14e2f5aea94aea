"""The paper's synthetic data model: pattern geometry, token sampler, tasks.

Names are imported on first use (PEP 562), so importing one torch-free submodule, such as the
config checks, does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CONFUSION": "synthetic.sampler",
    "ConfigError": "synthetic.checks",
    "Geometry": "synthetic.patterns",
    "IRRELEVANT": "synthetic.sampler",
    "RELEVANT": "synthetic.sampler",
    "Task": "synthetic.tasks",
    "TaskBatch": "synthetic.sampler",
    "TokenConfig": "synthetic.tokens",
    "make_task": "synthetic.tasks",
    "make_tasks": "synthetic.tasks",
    "ood_geometry": "synthetic.patterns",
    "orthonormal_geometry": "synthetic.patterns",
    "pair_geometry": "synthetic.patterns",
    "sample_task": "synthetic.sampler",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
