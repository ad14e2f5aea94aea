"""Hydra-driven experiments: a pure ``run(cfg, out_dir)`` per experiment, a thin CLI in ``run.py``."""
