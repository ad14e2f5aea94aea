"""The config: its schema (Hydra structured configs in the ConfigStore, registered on import), the
value checks, before any work and without torch, and the runtime setups built from a valid config.
``VALIDATORS[name](cfg)`` returns the setup that the experiment's ``compute`` receives."""

from experiments.config import checks, regimes, schema, testbeds
from experiments.config.checks import *  # noqa: F403  (validate_*, build_setup, seeds_of, ...)
from experiments.config.regimes import validate_regime_search, validate_scaling  # noqa: F401
from experiments.config.setups import *  # noqa: F403  (Setup, CSetup, LSetup, to_container, ...)
from experiments.config.testbeds import *  # noqa: F403  (pair_tasks, rates, validate_cdigits_*, ...)

VALIDATORS = {
    name: next(
        getattr(m, f"validate_{name}")
        for m in (checks, testbeds, regimes)
        if hasattr(m, f"validate_{name}")
    )
    for name in schema.SCHEMAS
}
