"""The paper's synthetic data model: pattern geometry, token sampler, tasks."""

from synthetic.checks import ConfigError
from synthetic.patterns import Geometry, ood_geometry, orthonormal_geometry, pair_geometry
from synthetic.sampler import CONFUSION, IRRELEVANT, RELEVANT, TaskBatch, TokenConfig, sample_task
from synthetic.tasks import Task, make_task, make_tasks

__all__ = [
    "CONFUSION",
    "IRRELEVANT",
    "RELEVANT",
    "ConfigError",
    "Geometry",
    "Task",
    "TaskBatch",
    "TokenConfig",
    "make_task",
    "make_tasks",
    "ood_geometry",
    "orthonormal_geometry",
    "pair_geometry",
    "sample_task",
]
