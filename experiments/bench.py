"""``make bench``: how fast training and grid evaluation run, against this machine's own matmul rate.

    python -m experiments.bench [--out results/bench.json] [--repeats 3]

(a) a 26×26 (λ1, λ2) grid on 4096 test samples: the naive loop versus ``evaluate_grid``;
(b) 8 seeds: a loop of single runs versus one batched run (default config, and a fixed 200 steps);
(c) achieved FLOP/s of the training step and of grid evaluation as a fraction of ``torch.matmul`` on
    2048×2048 float32 (FLOPs counted analytically: 2 per multiply-add of every matrix product, see
    ``train_step_flops`` and ``models.grid.grid_flops``; softmax and elementwise work not counted);
(d) the time of one fine-tuned model at the default configuration, and how many models each
    ``make reproduce`` experiment trains with and without the cache.

Every timing is the median of ``--repeats`` runs after a warm-up. Profiles of one training step and
one grid chunk list where the time goes. Results go to ``results/bench.json`` (atomically).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from experiments.bench_timing import median_time, profile, sgd_step, timed, train_step_flops
from experiments.io import atomic_write_json
from experiments.run import run_experiment
from models import ModelConfig, TaskVector, TrainConfig, pretrained_model
from models.grid import evaluate_grid, evaluate_grid_naive, grid_2d, grid_flops
from models.training import finetune, finetune_many
from synthetic import TokenConfig, make_tasks, pair_geometry
from synthetic.runtime import tune_cpu_allocator

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def matmul_flops_per_s(repeats: int, device: torch.device = CPU) -> float:
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    t = timed(lambda: a @ b, device, max(repeats, 10), warmup=3)
    return 2 * 2048**3 / t


def bench_training_step(S: int, repeats: int, device: torch.device = CPU) -> dict:
    cfg = ModelConfig()
    P, d, m, B = cfg.n_tokens, cfg.d, cfg.width, TrainConfig().batch_size
    task = make_tasks(pair_geometry(d, 0.0, device=device), TokenConfig())["T1"]
    psi0 = pretrained_model(cfg, device=device)
    params = {
        n: torch.stack([psi0.params[n].detach()] * S).clone().requires_grad_(True)
        for n in ("W", "V")
    }
    readout = torch.stack([psi0.readout] * S)
    batch = task.sample_seeded(S * B, 0)
    X, y = batch.X.view(S, B, P, d), batch.y.view(S, B)

    step = sgd_step(params, readout, X, y)

    t = timed(step, device, repeats * 20, warmup=10)
    flops = train_step_flops(S, B, P, d, m)
    return {
        "S": S,
        "seconds": t,
        "flops": flops,
        "flops_per_s": flops / t,
        "profile": profile(step) if device.type == "cpu" else [],
    }


def bench_grid(repeats: int, device: torch.device = CPU) -> dict:
    tasks = make_tasks(pair_geometry(32, 0.0, device=device), TokenConfig())
    psi0 = pretrained_model(ModelConfig(), device=device)
    tvs = [
        TaskVector.from_models(psi0, finetune(psi0, t, TrainConfig(seed=i)).model)
        for i, t in enumerate(tasks.values())
    ]
    data = {"T1": tasks["T1"].sample_seeded(4096, 7)}
    lam = torch.linspace(-2, 3, 26)
    coef = grid_2d(lam, lam)
    t_naive = timed(lambda: evaluate_grid_naive(psi0, tvs, coef, data), device, repeats)
    t_grid = timed(lambda: evaluate_grid(psi0, tvs, coef, data), device, repeats)
    fl = grid_flops(4096, 16, 32, 64, 2, len(coef))
    chunk = coef[:4]
    return {
        "points": len(coef),
        "samples": 4096,
        "naive_seconds": t_naive,
        "grid_seconds": t_grid,
        "speedup": t_naive / t_grid,
        "naive_flops": fl["naive"],
        "grid_flops": fl["affine"],
        "naive_flops_per_s": fl["naive"] / t_naive,
        "grid_flops_per_s": fl["affine"] / t_grid,
        "profile_grid_chunk": profile(lambda: evaluate_grid(psi0, tvs, chunk, data))
        if device.type == "cpu"
        else [],
    }


def bench_seeds(repeats: int, n_seeds: int = 8, device: torch.device = CPU) -> dict:
    task = make_tasks(pair_geometry(32, 0.0, device=device), TokenConfig())["T1"]
    psi0 = pretrained_model(ModelConfig(), device=device)
    out = {}
    for label, kw in (("default", {}), ("fixed_200_steps", {"eps": 0.0, "n_steps": 200})):
        cfgs = [TrainConfig(seed=s, **kw) for s in range(n_seeds)]
        t_loop = median_time(lambda cfgs=cfgs: [finetune(psi0, task, c) for c in cfgs], repeats)
        t_batch = median_time(
            lambda cfgs=cfgs: finetune_many([psi0] * n_seeds, [task] * n_seeds, cfgs), repeats
        )
        steps = [finetune(psi0, task, c).history.steps_run for c in cfgs]
        out[label] = {
            "loop_seconds": t_loop,
            "batched_seconds": t_batch,
            "speedup": t_loop / t_batch,
            "steps_per_seed": steps,
        }
    one = [TrainConfig(seed=s) for s in range(5)]
    out["one_model_seconds"] = median_time(lambda: finetune(psi0, task, one[0]), repeats * 3)
    return out


def bench_cache() -> dict:
    """Models trained by each make-reproduce experiment on a cold and on a warm cache."""

    out = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")),
    ):
        for name in ("foundation",):
            cfg = compose(
                "config",
                overrides=[
                    f"experiment={name}",
                    f"cache_dir={tmp}/cache",
                    "progress=false",
                    "logging.wandb.enabled=false",
                ],
            )
            cold = run_experiment(cfg, Path(tmp) / f"{name}-1")["summary"]
            warm = run_experiment(cfg, Path(tmp) / f"{name}-2")["summary"]
            out[name] = {
                "requested": cold["models_requested"],
                "trained_cold_cache": cold["models_trained"],
                "trained_warm_cache": warm["models_trained"],
            }
    return out


def measure(repeats: int, device: torch.device = CPU, large: bool = True) -> dict:
    """Every benchmark of this module (and of ``experiments.bench_large`` unless ``large`` is
    False), as written to ``bench.json``."""
    from experiments.bench_large import measure_large
    from experiments.provenance import cpu_model

    tuned = tune_cpu_allocator()
    mm = matmul_flops_per_s(repeats, device)
    steps = {
        f"batched_{S}" if S > 1 else "single": bench_training_step(S, repeats, device)
        for S in (1, 8, 16)
    }
    out = {
        "machine": {
            "cpu": cpu_model(),
            "cores": torch.get_num_threads(),
            "torch": torch.__version__,
            "device": str(device)
            + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
            "allocator_tuned": tuned,
        },
        "matmul_2048_flops_per_s": mm,
        "train_step": steps,
        "grid_26x26_4096": bench_grid(repeats, device),
        "seeds_8": bench_seeds(repeats, device=device),
    }
    if device.type == "cpu":
        out["cache"] = bench_cache()
    if large:
        out |= measure_large(device, repeats, mm)
    return out


def main(argv: list[str] | None = None) -> None:
    from experiments.bench_report import print_large, print_summary
    from synthetic.checks import ConfigError
    from synthetic.runtime import resolve_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/bench.json"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda")
    ap.add_argument("--no-large", action="store_true", help="skip the large shapes and testbeds")
    args = ap.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ConfigError as err:
        print(f"ConfigError: {err}", file=sys.stderr)
        sys.exit(2)
    result = measure(args.repeats, device, large=not args.no_large)
    atomic_write_json(args.out, result)
    print_summary(result)
    if "large" in result:
        print_large(result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
