"""The config: its schema (Hydra structured configs in the ConfigStore, registered on import) and
the value checks, before any work and without torch. ``VALIDATORS[name](cfg)`` returns the setup
that the experiment's ``compute`` receives."""

from experiments.config import checks, schema, testbeds
from experiments.config.checks import *  # noqa: F403  (validate_*, lambda_axis, target_of, alphas_of)
from experiments.config.setup import *  # noqa: F403  (Setup, build_setup, seeds_of, to_container, ...)
from experiments.config.testbeds import *  # noqa: F403  (CSetup, LSetup, pair_tasks, rates, ...)

VALIDATORS = {
    name: getattr(checks, f"validate_{name}", None) or getattr(testbeds, f"validate_{name}")
    for name in schema.SCHEMAS
}
