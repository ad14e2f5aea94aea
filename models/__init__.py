"""The one-layer Transformer, its fine-tuning and the task-vector algebra."""

from models.cache import ModelCache
from models.correlation import exact_alpha, output_alpha, task_vector_cosine
from models.grid import evaluate_grid, evaluate_grid_naive, grid_1d, grid_2d
from models.task_vectors import (
    TaskVector,
    apply,
    load_model,
    low_rank,
    low_rank_residual,
    prune_magnitude,
    prune_rows,
    save_model,
)
from models.training import FinetuneResult, History, TrainConfig, evaluate, finetune, finetune_many
from models.transformer import ModelConfig, OneLayerTransformer, forward, pretrained_model

__all__ = [
    "FinetuneResult",
    "History",
    "ModelCache",
    "ModelConfig",
    "OneLayerTransformer",
    "TaskVector",
    "TrainConfig",
    "apply",
    "evaluate",
    "evaluate_grid",
    "evaluate_grid_naive",
    "exact_alpha",
    "finetune",
    "finetune_many",
    "forward",
    "grid_1d",
    "grid_2d",
    "load_model",
    "low_rank",
    "low_rank_residual",
    "output_alpha",
    "pretrained_model",
    "prune_magnitude",
    "prune_rows",
    "save_model",
    "task_vector_cosine",
]
