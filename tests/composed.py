"""The composed config of a command line's overrides, as the entry point sees it (test helper)."""

from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra


def composed(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))
