"""Moved to ``experiments.config`` (kept so that existing imports resolve)."""

from experiments.config import (  # noqa: F401
    CSetup,
    build_csetup,
    pair_tasks,
    rates,
    validate_cdigits_compress,
    validate_cdigits_ood,
    validate_cdigits_pair,
)
