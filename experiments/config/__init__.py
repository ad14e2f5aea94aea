"""The config: its schema (Hydra structured configs in the ConfigStore, registered on import) and
the value checks, before any work and without torch. ``VALIDATORS[name](cfg)`` returns the setup
that the experiment's ``compute`` receives."""

from experiments.config import schema
from experiments.config.checks import (
    alphas_of,
    lambda_axis,
    target_of,
    validate_foundation,
    validate_gradients,
    validate_low_rank,
    validate_ood,
    validate_phase_diagram,
    validate_pruning,
    validate_task_pair,
)
from experiments.config.setup import (
    Setup,
    build,
    build_setup,
    check_eval,
    check_keys,
    lambda_grid,
    seeds_of,
    to_container,
)
from experiments.config.testbeds import (
    CSetup,
    LSetup,
    build_csetup,
    build_lsetup,
    pair_tasks,
    rates,
    validate_cdigits_compress,
    validate_cdigits_ood,
    validate_cdigits_pair,
    validate_lm_unlearning,
)

VALIDATORS = {
    name: globals()[f"validate_{name}"] for name in schema.SCHEMAS
}  # validate_<experiment name>, as in experiments/registry.py

__all__ = [
    "VALIDATORS",
    "CSetup",
    "LSetup",
    "Setup",
    "alphas_of",
    "build",
    "build_csetup",
    "build_lsetup",
    "build_setup",
    "check_eval",
    "check_keys",
    "lambda_axis",
    "lambda_grid",
    "pair_tasks",
    "rates",
    "seeds_of",
    "target_of",
    "to_container",
    "validate_cdigits_compress",
    "validate_cdigits_ood",
    "validate_cdigits_pair",
    "validate_foundation",
    "validate_gradients",
    "validate_lm_unlearning",
    "validate_low_rank",
    "validate_ood",
    "validate_phase_diagram",
    "validate_pruning",
    "validate_task_pair",
]
