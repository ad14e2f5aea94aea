"""The one entry point: ``python -m experiments.run experiment=<name> [key=value ...]`` (``-m`` sweeps).

Hydra composes the config; this wrapper validates it (one-line ``ConfigError`` before any work),
reuses a finished job whose ``metrics.json`` was made from the same resolved config and code (unless
``recompute=true``), otherwise writes the resolved config, calls the experiment's pure
``compute(cfg, setup)`` (``experiments.registry``), publishes its results (claims, figures,
``metrics.json`` last: ``experiments.publish``), then hands them to wandb (one run per job, always
finished).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments import extras
from experiments.config import to_container
from experiments.io import atomic_write_text, load_metrics
from experiments.registry import EXPERIMENTS, Spec, resolve
from experiments.tracking import RunIdentity, Tracker
from synthetic.checks import ConfigError, check_writable_dir
from synthetic.files import code_hash as hash_files
from synthetic.files import locked

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_JOB_KEY = ("progress", "logging", "recompute", "hydra", "cache_dir", "batched")
log = logging.getLogger("experiments.run")


def code_hash() -> str:
    folders = ("synthetic", "models", "experiments", "plots")
    return hash_files(
        p.relative_to(ROOT) for f in folders for p in sorted((ROOT / f).rglob("*.py"))
    )


def job_key(cfg: DictConfig) -> str:
    """Hash of the resolved config (without keys that cannot change the numbers) and of the code."""
    c = {k: v for k, v in to_container(cfg).items() if k not in NOT_IN_JOB_KEY}
    return hashlib.sha256((json.dumps(c, sort_keys=True) + code_hash()).encode()).hexdigest()[:20]


def finished_job(out_dir: Path, key: str) -> dict | None:
    """The job's results if ``out_dir`` holds a complete ``metrics.json`` of the same config and code.

    ``metrics.json`` is always written atomically and last, so an interrupted job has none (or the
    previous one, whose key differs if anything changed); unreadable JSON counts as unfinished.
    """
    path = out_dir / "metrics.json"
    try:
        metrics = load_metrics(path)
    except (OSError, ValueError):
        return None
    if metrics.get("job_key") != key:
        return None
    if not all((out_dir / f).exists() for f in metrics.get("figures", [])):
        return None
    return metrics


def prepare_output_dir(out_dir: Path) -> None:
    """Fail with one line if ``out_dir`` cannot be written; create it."""
    check_writable_dir("hydra.run.dir", str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)


def run_experiment(cfg: DictConfig, out_dir: Path) -> dict:
    """Validate everything, then reuse or run. Nothing is written for a bad config."""
    name = cfg.experiment.name
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"experiment.name={name!r} is invalid: must be one of {sorted(EXPERIMENTS)}"
        )
    spec = EXPERIMENTS[name]
    missing = extras.experiment_problem(name)
    if missing:
        raise ConfigError(missing)
    setup = resolve(spec.validate)(cfg)  # the top level (check_keys) first, then its own keys
    key = job_key(cfg)
    if not cfg.get("recompute", False):
        done = finished_job(out_dir, key)
        if done is not None:
            done["reused"] = True
            return done
    prepare_output_dir(out_dir)
    with locked(out_dir / ".job.lock", "this job directory"):  # a second identical run waits here
        done = None if cfg.get("recompute", False) else finished_job(out_dir, key)
        if done is not None:  # finished by the run we waited for
            return {**done, "reused": True}
        remove_stale_temps(out_dir)
        return _run_locked(spec, cfg, setup, out_dir, key)


def remove_stale_temps(out_dir: Path) -> None:
    """Remove the temporary files of a killed run (call holding the job's lock: their writer is
    dead, since a live one would hold it)."""
    for stale in out_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _run_locked(spec: Spec, cfg: DictConfig, setup: Any, out_dir: Path, key: str) -> dict:
    """Run the job (its directory locked): compute, publish, log."""
    from synthetic.runtime import tune_cpu_allocator  # the heavy imports (torch) happen from here

    tune_cpu_allocator()
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    resolved = to_container(cfg)
    who = run_identity(cfg, spec)
    log.debug("[%s] started -> %s", who.name, out_dir)
    tracker = Tracker(resolved.get("logging", {}), resolved, out_dir, who)
    try:
        metrics = compute_and_publish(spec, cfg, setup, out_dir, key)
        tracker.log_metrics(metrics, out_dir, spec.summary)
    except BaseException:
        tracker.finish(exit_code=1)
        raise
    tracker.finish(exit_code=0)
    return metrics


def numbered_overrides(overrides: list[str]) -> tuple[str, ...]:
    """The command-line overrides that can change a job's numbers: not the preset choice
    (``experiment=...``, the run's name already says it) nor run-only keys (``NOT_IN_JOB_KEY``)."""
    out = []
    for o in overrides:
        key = o.lstrip("+~").split("=")[0]
        if key != "experiment" and key.split(".")[0].split("/")[0] not in NOT_IN_JOB_KEY:
            out.append(o)
    return tuple(out)


def run_identity(cfg: DictConfig, spec: Spec) -> RunIdentity:
    """The job's preset, regime and the overrides that change its numbers (for the run's name)."""
    preset, regime = cfg.experiment.name, str(cfg.get("regime", "default"))
    overrides: tuple[str, ...] = ()
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        preset = hc.runtime.choices.get("experiment") or preset
        overrides = numbered_overrides(list(hc.overrides.task))
    return RunIdentity(preset, spec.testbed, regime, overrides)


def compute_and_publish(spec: Spec, cfg: DictConfig, setup: Any, out_dir: Path, key: str) -> dict:
    """The experiment computes (the heavy imports happen here); the harness publishes the results."""
    from experiments.provenance import provenance
    from experiments.publish import publish
    from synthetic.runtime import resolve_device

    progress = bool(cfg.get("progress", False)) and sys.stderr.isatty()  # bars only on a terminal
    if not progress:  # nor those of Hugging Face (model shards, downloads)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    results = resolve(spec.compute)(cfg, setup, progress=progress)
    results["provenance"] = provenance(str(resolve_device(cfg.get("device", "auto"))))
    return publish(spec, results, out_dir, key)


class JobFailed(RuntimeError):
    """A job of a multirun failed (its error is already logged): the launcher records it and runs the
    other jobs; the sweep exits 1 at the end."""


def job_failed(code: int, err: Exception) -> None:
    """Exit with ``code`` from a single run; in a multirun raise instead, since an exit would take the
    launcher's worker process (joblib) and every job still queued on it down with it."""
    from hydra.types import RunMode

    if HydraConfig.get().mode == RunMode.MULTIRUN:
        raise JobFailed(f"{type(err).__name__}: {err}") from None
    sys.exit(code)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = run_experiment(cfg, out_dir)
    except ConfigError as err:
        print(f"ConfigError: {err}", file=sys.stderr)
        job_failed(2, err)
    except (OSError, FloatingPointError) as err:  # a full disk (earlier results are intact: every
        log.error("%s: %s", type(err).__name__, err)  # write is atomic), a divergence
        job_failed(1, err)
    log.info(
        "[%s] %s -> %s/metrics.json%s",
        cfg.experiment.name,
        metrics.get("one_line", ""),
        out_dir,
        " (reused: same config and code)" if metrics.get("reused") else "",
    )


def precheck_output_dirs(argv: list[str]) -> str | None:
    """One-line error for a ``hydra.run.dir``/``hydra.sweep.dir`` override that cannot be created.

    Hydra creates the output directory before our code runs, so this is checked on the command line.
    """
    for arg in argv:
        key, sep, value = arg.partition("=")
        tools = [t for t in ("sbatch", "srun") if shutil.which(t) is None]
        if arg.lstrip("+") == "hydra/launcher=slurm" and tools:
            return f"hydra/launcher=slurm is invalid: {tools[0]} is not on PATH (use a SLURM login node)"
        if not sep or key.lstrip("+") not in ("hydra.run.dir", "hydra.sweep.dir"):
            continue
        try:
            check_writable_dir(key.lstrip("+"), value)
        except ConfigError as err:
            return str(err)
    return None


if __name__ == "__main__":
    import warnings

    from experiments.config.compose import composition_problem

    # The joblib launcher's workers restart themselves once their memory has grown by 300 MB since
    # their first job (loky's leak guard; the heap is kept on purpose: synthetic.runtime) and the
    # parent warns each time. A restarted worker is a fresh process: nothing is lost or changed.
    warnings.filterwarnings("ignore", "A worker stopped while some jobs", UserWarning)

    argv = sys.argv[1:]
    problem = (
        extras.launcher_problem(argv) or precheck_output_dirs(argv) or composition_problem(argv)
    )
    if problem:
        print(f"ConfigError: {problem}", file=sys.stderr)
        sys.exit(2)
    main()
