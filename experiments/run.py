"""The one entry point: ``python -m experiments.run experiment=<name> [key=value ...]``.

Hydra composes the config; this wrapper validates it (one-line ``ConfigError`` before any work),
picks the output directory (``hydra.run.dir``) and calls the experiment's pure ``run(cfg, out_dir)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments import foundation
from experiments.io import atomic_write_text
from synthetic.checks import ConfigError
from synthetic.runtime import tune_cpu_allocator

EXPERIMENTS = {"foundation": foundation}  # name -> module with validate(cfg) and run(cfg, out_dir)


def run_experiment(cfg: DictConfig, out_dir: Path) -> dict:
    """Validate everything, then write the resolved config and run. Nothing is written for a bad config."""
    name = cfg.experiment.name
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"experiment.name={name!r} is invalid: must be one of {sorted(EXPERIMENTS)}"
        )
    module = EXPERIMENTS[name]
    module.validate(cfg)
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return module.run(cfg, out_dir, progress=bool(cfg.get("progress", False)))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    tune_cpu_allocator()
    try:
        metrics = run_experiment(cfg, out_dir)
    except ConfigError as err:
        print(f"ConfigError: {err}", file=sys.stderr)
        sys.exit(2)
    s = metrics["summary"]
    print(
        f"[{cfg.experiment.name}] {s['models_trained']} models in {s['wall_seconds']:.1f}s -> {out_dir}/metrics.json"
    )


if __name__ == "__main__":
    main()
