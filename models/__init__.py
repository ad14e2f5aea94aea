"""The networks (one-layer Transformer, ViT, language model), their training, the task-vector
algebra, the estimators, the grid evaluation and the content-addressed store.

Names are imported on first use (PEP 562), so importing one torch-free submodule, such as the
config checks, does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "FinetuneResult": "models.training",
    "History": "models.training",
    "ModelCache": "models.cache",
    "ModelConfig": "models.config",
    "OneLayerTransformer": "models.transformer",
    "TaskVector": "models.task_vectors",
    "TrainConfig": "models.config",
    "apply": "models.task_vectors",
    "evaluate": "models.training",
    "evaluate_grid": "models.grid",
    "evaluate_grid_naive": "models.grid",
    "exact_alpha": "models.estimators",
    "finetune": "models.training",
    "finetune_many": "models.training",
    "forward": "models.transformer",
    "grid_1d": "models.grid",
    "grid_2d": "models.grid",
    "load_model": "models.task_vectors",
    "lora_task_vector": "models.task_vectors",
    "low_rank": "models.transforms",
    "low_rank_residual": "models.transforms",
    "output_alpha": "models.estimators",
    "parameters": "models.task_vectors",
    "pretrained_model": "models.transformer",
    "prune_magnitude": "models.transforms",
    "prune_rows": "models.transforms",
    "save_model": "models.task_vectors",
    "task_vector_cosine": "models.estimators",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
