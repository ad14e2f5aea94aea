"""Moved to ``experiments.config`` (kept so that existing imports resolve)."""

from experiments.config import LSetup, build_lsetup, validate_lm_unlearning  # noqa: F401
from synthetic.books import read_corpus  # noqa: F401
