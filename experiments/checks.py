"""Moved to ``experiments.config`` (kept so that existing imports resolve)."""

from experiments.config import (  # noqa: F401
    VALIDATORS,
    alphas_of,
    check_keys,
    lambda_axis,
    target_of,
    validate_cdigits_compress,
    validate_cdigits_ood,
    validate_cdigits_pair,
    validate_foundation,
    validate_gradients,
    validate_lm_unlearning,
    validate_low_rank,
    validate_ood,
    validate_phase_diagram,
    validate_pruning,
    validate_task_pair,
)
from synthetic.checks import ConfigError  # noqa: F401
